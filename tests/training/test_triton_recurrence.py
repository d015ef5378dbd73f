"""The Triton recurrence (issue 15) checked on CPU through Triton's interpreter.

The kernels are the GPU path of the ensemble engine; their GPU timings are in the benchmark.
Here they must give the torch BPTT's numbers: the last hidden state and every weight gradient
for random weights (an odd batch, so the last program's block is partly outside it; H = 5,
padded to a 16-wide tile), and whole epochs of ``train_ensemble`` on real Salmon windows.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from hydroprobe.config import ConfigError
from hydroprobe.models import ensemble_triton
from hydroprobe.models.ensemble_recurrence import FusedRecurrence
from hydroprobe.training.config import TrainConfig
from hydroprobe.training.device import resolve_recurrence
from hydroprobe.training.ensemble import train_ensemble
from hydroprobe.training.fingerprint import engine_label
from tests.training.test_ensemble_parity import ARCHITECTURE, CPU, SEEDS, assert_same_replicate, tiny_config

pytestmark = pytest.mark.skipif(
    not ensemble_triton.available() or os.environ.get("TRITON_INTERPRET") != "1",
    reason="needs Triton and its CPU interpreter (tests/conftest.py sets it where there is no CUDA)")


def random_problem(replicates=3, batch=37, steps=12, hidden=5, inputs=2):
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(replicates, batch, steps, inputs, generator=generator)
    weights = [(torch.randn(*shape, generator=generator) * 0.5).requires_grad_()
               for shape in ((replicates, 4 * hidden, inputs), (replicates, 4 * hidden, hidden),
                             (replicates, 4 * hidden))]
    projection = torch.randn(replicates, batch, hidden, generator=generator)
    return x, weights, projection


def last_state_and_gradients(recurrence, x, weights, projection, *extra):
    for weight in weights:
        weight.grad = None
    h = recurrence.apply(x, *weights, *extra)
    (h * projection).sum().backward()
    return h.detach(), [weight.grad.clone() for weight in weights]


def test_kernels_give_the_torch_bptt_state_and_gradients():
    x, weights, projection = random_problem()
    kernels = ensemble_triton.TritonRecurrence
    h, gradients = last_state_and_gradients(kernels, x, weights, projection, None, 16)
    h_ref, gradients_ref = last_state_and_gradients(FusedRecurrence, x, weights, projection)
    torch.testing.assert_close(h, h_ref, rtol=1e-5, atol=1e-6)
    for name, got, expected in zip(("w_ih", "w_hh", "bias"), gradients, gradients_ref, strict=True):
        assert expected.abs().max() > 1.0, f"{name}: a vanishing gradient would prove nothing"
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5, msg=name)


def test_train_ensemble_with_the_kernels_matches_the_torch_recurrence(cut):
    series, train_days, validation_days = cut
    runs = {}
    for kernel in ("torch", "triton"):
        config = tiny_config(grad_clip=1.0, recurrence=kernel)
        runs[kernel] = list(train_ensemble(ARCHITECTURE, series, train_days, validation_days, config, SEEDS,
                                           CPU, static_step=True))
    assert [r.seed for r in runs["triton"]] == SEEDS
    for triton_run, torch_run in zip(runs["triton"], runs["torch"], strict=True):
        assert_same_replicate(triton_run, torch_run)
        assert triton_run.train_loss[-1] < triton_run.train_loss[0]  # it trains, not only agrees


def test_recurrence_knob_is_checked_and_keyed_where_it_runs(monkeypatch):
    with pytest.raises(ConfigError, match="train.recurrence"):
        TrainConfig(recurrence="cudnn")
    assert TrainConfig().recurrence == "torch"  # the measured faster one stays the default
    assert resolve_recurrence("triton", CPU) == "triton"  # the interpreter, for these tests
    with pytest.raises(ValueError, match="train.recurrence must be one of"):
        resolve_recurrence("auto", CPU)
    assert engine_label("ensemble", TrainConfig(recurrence="triton"), CPU) == "ensemble+triton"
    assert engine_label("ensemble", TrainConfig(), CPU) == "ensemble"
    assert engine_label("sequential", TrainConfig(recurrence="triton"), CPU) == "sequential"
    monkeypatch.delenv("TRITON_INTERPRET")
    with pytest.raises(RuntimeError, match="train.recurrence is 'triton' but the device is cpu"):
        resolve_recurrence("triton", CPU)


def test_tile_is_a_power_of_two_no_narrower_than_a_dot():
    assert [ensemble_triton.padded(h) for h in (1, 5, 16, 17, 50, 64, 65)] == [16, 16, 16, 32, 64, 64, 128]
    assert np.all(np.diff([ensemble_triton.padded(h) for h in range(1, 200)]) >= 0)
