"""The static-shape step that a CUDA graph captures, run eagerly on CPU against the eager engine.

Real Salmon windows (the ``cut`` fixture: window 30), hidden 4. The padded last batch, the
frozen (finished) replicates and the whole static path through ``train_ensemble`` must give the
eager engine's numbers to float32 rounding; the CPU default must never take the static path.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from hydroprobe.config import ConfigError
from hydroprobe.models.ensemble_lstm import EnsembleLSTM
from hydroprobe.training import ensemble
from hydroprobe.training.config import ModelConfig, TrainConfig, config_hash
from hydroprobe.training.device import resolve_cuda_graph
from hydroprobe.training.ensemble import train_ensemble
from hydroprobe.training.fingerprint import engine_label
from hydroprobe.training.static_step import (
    DeviceWindows,
    Freezer,
    StepBuffers,
    masked_step,
    padded_columns,
    prepare_adam,
)
from hydroprobe.training.trainer import init_model
from tests.training.test_ensemble_parity import (
    ARCHITECTURE,
    ATOL,
    CPU,
    RTOL,
    SEEDS,
    assert_same_replicate,
    tiny_config,
)


def stacked(lr: float = 0.01) -> tuple[EnsembleLSTM, torch.optim.Adam, Freezer]:
    model = EnsembleLSTM.from_models([init_model(ARCHITECTURE, s) for s in SEEDS])
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    prepare_adam(optimizer, capturable=False)
    return model, optimizer, Freezer(model, optimizer)


def buffers_for(days: torch.Tensor, real: int) -> StepBuffers:
    """Buffers holding ``days`` ``(R, B)`` of which the first ``real`` columns are real samples."""
    buffers = StepBuffers.allocate(days.shape[0], days.shape[1], int(days[0, 0]), CPU)
    buffers.days.copy_(days)
    buffers.weight[:, :real] = 1.0 / real
    return buffers


def test_padded_columns_put_real_samples_first_and_repeat_the_last_batch():
    columns, counts = padded_columns(10, 4)
    assert counts == [4, 4, 2]
    assert columns.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 8, 9]


@pytest.mark.parametrize("grad_clip", [0.0, 0.05])
def test_padded_masked_batch_equals_the_unpadded_batch(cut, grad_clip):
    series, train_days, _ = cut
    windows = DeviceWindows(series, CPU)
    days = torch.as_tensor(train_days[:30]).view(3, 10)  # 10 real samples per replicate
    padded = torch.cat([days, days[:, :6]], dim=1)  # padded to 16 with repeats
    short, short_optimizer, short_freezer = stacked()
    full, full_optimizer, full_freezer = stacked()
    x, y = windows.batch(days)
    with torch.no_grad():
        expected = ((short(x) - y) ** 2).mean(dim=1)  # the eager engine's loss of the first step
    for _ in range(2):
        short_loss = masked_step(short, short_optimizer, windows, buffers_for(days, 10), grad_clip,
                                 short_freezer)
        full_loss = masked_step(full, full_optimizer, windows, buffers_for(padded, 10), grad_clip,
                                full_freezer)
        np.testing.assert_allclose(short_loss, expected, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(full_loss, short_loss, rtol=RTOL, atol=ATOL)
        with torch.no_grad():
            expected = ((short(x) - y) ** 2).mean(dim=1)
    for name, parameter in short.named_parameters():
        np.testing.assert_allclose(full.get_parameter(name).detach(), parameter.detach(), rtol=RTOL,
                                   atol=ATOL, err_msg=name)


def test_a_frozen_replicate_keeps_its_weights_and_adam_state(cut):
    series, train_days, _ = cut
    windows = DeviceWindows(series, CPU)
    model, optimizer, freezer = stacked()
    batches = torch.as_tensor(train_days[:144]).view(3, 3, 16)
    masked_step(model, optimizer, windows, buffers_for(batches[0], 16), 0.05, freezer)  # all train
    frozen = {name: p.detach().clone() for name, p in model.named_parameters()}
    moments = {name: {k: optimizer.state[p][k].clone() for k in ("exp_avg", "exp_avg_sq")}
               for name, p in model.named_parameters()}
    for days in batches[1:]:
        buffers = buffers_for(days, 16)
        buffers.active[1] = False
        buffers.weight[1] = 0.0
        masked_step(model, optimizer, windows, buffers, 0.05, freezer)
    for name, parameter in model.named_parameters():
        assert torch.equal(parameter.detach()[1], frozen[name][1]), name
        assert not torch.equal(parameter.detach()[0], frozen[name][0]), name  # the others trained
        for key, before in moments[name].items():
            assert torch.equal(optimizer.state[parameter][key][1], before[1]), (name, key)
            assert not torch.equal(optimizer.state[parameter][key][2], before[2]), (name, key)


@pytest.mark.parametrize("grad_clip", [0.0, 0.05])
def test_static_path_matches_the_eager_engine_with_early_stopping(cut, grad_clip):
    """Patience 1: seeds 0 and 1 stop after epoch 2 (frozen in place), seed 2 trains epoch 3 alone.

    304 training days in batches of 64 (last batch 48: padded) and 151 validation days in
    evaluation batches of 64 (last 23: padded).
    """
    series, train_days, validation_days = cut
    config = tiny_config(max_epochs=3, patience=1, grad_clip=grad_clip, eval_batch_size=64)
    assert len(train_days) % config.batch_size and len(validation_days) % config.eval_batch_size
    eager = list(train_ensemble(ARCHITECTURE, series, train_days, validation_days, config, SEEDS, CPU))
    static = list(train_ensemble(ARCHITECTURE, series, train_days, validation_days, config, SEEDS, CPU,
                                 static_step=True))
    assert [r.epochs_run for r in static] == [2, 2, 3]
    for actual, expected in zip(static, eager, strict=True):
        assert_same_replicate(actual, expected)


def test_the_cpu_default_never_takes_the_static_path(cut, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the static step ran on CPU by default")

    monkeypatch.setattr(ensemble, "StaticTrainer", refuse)
    series, train_days, validation_days = cut
    config = tiny_config(max_epochs=1)
    assert config.cuda_graph == "auto"
    results = list(train_ensemble(ARCHITECTURE, series, train_days, validation_days, config, SEEDS, CPU))
    assert len(results) == len(SEEDS)


def test_cuda_graph_knob_is_checked_and_keyed_only_where_it_can_change_numbers():
    with pytest.raises(ConfigError, match="train.cuda_graph"):
        TrainConfig(cuda_graph="maybe")
    with pytest.raises(RuntimeError, match="train.cuda_graph is 'on' but the device is cpu"):
        resolve_cuda_graph("on", CPU)
    assert not resolve_cuda_graph("auto", CPU)
    assert resolve_cuda_graph("auto", torch.device("cuda"))
    assert not resolve_cuda_graph("off", torch.device("cuda"))
    cuda = torch.device("cuda")
    assert engine_label("ensemble", TrainConfig(cuda_graph="auto"), CPU) == "ensemble"
    assert engine_label("ensemble", TrainConfig(cuda_graph="auto"), cuda) == "ensemble+cuda_graph"
    assert engine_label("sequential", TrainConfig(cuda_graph="on"), cuda) == "sequential"
    train = TrainConfig(window=30, device="cpu")
    model = ModelConfig(hidden_size=4)
    keys = {config_hash(model, dataclasses.replace(train, cuda_graph=m), "data") for m in ("auto", "off")}
    assert len(keys) == 1
    with pytest.raises(RuntimeError, match="train.cuda_graph"):
        config_hash(model, dataclasses.replace(train, cuda_graph="on"), "data")


def test_static_path_checkpoints_only_the_active_replicates_and_resumes(cut, tmp_path):
    """Frozen replicates are left out of the checkpoint; the resumed run gives the uninterrupted numbers."""
    from hydroprobe.training.checkpoint import Checkpoints, seeds_label
    from tests.training.test_checkpoint_resume import CONFIG, Stop, stop_at

    def run(seeds, checkpoints=None, on_epoch=None):
        return {r.seed: r for r in train_ensemble(ARCHITECTURE, *cut, CONFIG, seeds, CPU, on_epoch,
                                                  checkpoints=checkpoints, static_step=True)}

    uninterrupted = run(SEEDS)
    stop = max(r.epochs_run for r in uninterrupted.values())
    assert min(r.epochs_run for r in uninterrupted.values()) < stop, "some replicate must freeze first"
    checkpoints = Checkpoints(tmp_path, CONFIG.checkpoint_minutes)
    finished = {}
    with pytest.raises(Stop):
        for result in train_ensemble(ARCHITECTURE, *cut, CONFIG, SEEDS, CPU, stop_at(stop),
                                     checkpoints=checkpoints, static_step=True):
            finished[result.seed] = result
    saved = torch.load(checkpoints.path(f"ensemble_{seeds_label(SEEDS)}"), weights_only=True)
    active = sorted(set(SEEDS) - set(finished))
    assert [r["seed"] for r in saved["replicates"]] == active
    assert saved["model"]["weight_ih"].shape[0] == len(active)
    resumed = run(active, checkpoints)
    for seed, result in {**finished, **resumed}.items():
        assert_same_replicate(result, uninterrupted[seed])
