"""Stacked LSTM replicates trained sequence-to-sequence reproduce the sequential reference.

Real Salmon River data cut to 1960-12 … 1962-03 (``cut`` in conftest), hidden 4, three seeds. Each
replicate runs torch's own LSTM kernel on its slice of the stacked weights, so its forward is the
single model's to the bit; training agrees with the sequential engine to float rounding (the
losses are summed over replicates before one backward).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from hydroprobe.models.stacked_lstm import StackedLSTM
from hydroprobe.training.config import TrainConfig
from hydroprobe.training.ensemble import shrink, train_ensemble
from hydroprobe.training.sequence import train_sequence_replicate
from hydroprobe.training.trainer import init_model
from tests.training.test_ensemble_parity import assert_same_replicate

CPU = torch.device("cpu")
SEEDS = [0, 1, 2]
ARCHITECTURE = {"type": "lstm", "n_inputs": 2, "hidden_size": 4, "initial_forget_bias": 3.0}
SEQ2SEQ = TrainConfig(window=30, mode="seq2seq", loss_span=10, windows_per_epoch=40, batch_size=16,
                      learning_rate=0.02, max_epochs=2, patience=30)


def test_stacked_forward_is_each_models_forward_to_the_bit(cut) -> None:
    series, train_days, _ = cut
    models = [init_model(ARCHITECTURE, s) for s in SEEDS]
    stacked = StackedLSTM.from_models(models)
    per_replicate = torch.stack([series.windows(train_days[r * 7 : r * 7 + 5]) for r in SEEDS])
    shared = series.windows(train_days[::50])
    with torch.no_grad():
        own, together = stacked.forward_sequence(per_replicate), stacked.forward_sequence(shared)
        for r, model in enumerate(models):
            assert torch.equal(own[r], model.forward_sequence(per_replicate[r]))
            assert torch.equal(together[r], model.forward_sequence(shared))
            assert torch.equal(stacked(per_replicate)[r], model(per_replicate[r]))
    for r, seed in enumerate(SEEDS):  # exported weights are the models' own, in their format
        reference = init_model(ARCHITECTURE, seed).state_dict()
        exported = stacked.replicate_state_dict(r)
        assert exported.keys() == reference.keys()
        for key, value in reference.items():
            assert torch.equal(exported[key], value), key


def test_each_replicate_gets_its_own_gradient_and_shrinking_keeps_the_rest(cut) -> None:
    series, train_days, _ = cut
    models = [init_model(ARCHITECTURE, s) for s in SEEDS]
    stacked = StackedLSTM.from_models(models)
    x = torch.stack([series.windows(train_days[r * 3 : r * 3 + 4]) for r in SEEDS])
    (stacked.forward_sequence(x) * torch.tensor([1.0, 2.0, 3.0])[:, None, None]).sum().backward()
    for r, model in enumerate(models):
        (model.forward_sequence(x[r]) * (r + 1)).sum().backward()
        expected = model.lstm.weight_hh_l0.grad
        np.testing.assert_allclose(stacked.weight_hh.grad[r], expected, rtol=1e-5, atol=1e-6)
    optimizer = torch.optim.Adam(stacked.parameters(), lr=0.01)
    optimizer.step()
    smaller, new_optimizer = shrink(stacked, optimizer, [0, 2], 0.01)
    assert smaller.replicates == 2 and torch.equal(smaller.weight_ih[1], stacked.weight_ih[2])
    moment = new_optimizer.state[smaller.head_bias]["exp_avg_sq"]
    assert torch.equal(moment, optimizer.state[stacked.head_bias]["exp_avg_sq"][[0, 2]])


@pytest.mark.parametrize("grad_clip", [0.0, 0.05])
def test_seq2seq_epochs_match_the_sequential_engine(cut, grad_clip) -> None:
    """Same seeds → the same window draws, losses, best epoch and weights as one replicate at a time."""
    series, train_days, validation_days = cut
    config = dataclasses.replace(SEQ2SEQ, grad_clip=grad_clip)
    stacked = list(train_ensemble(ARCHITECTURE, series, train_days, validation_days, config, SEEDS, CPU))
    assert [r.seed for r in stacked] == SEEDS
    for actual in stacked:
        expected = train_sequence_replicate(ARCHITECTURE, series, train_days, validation_days, config,
                                            actual.seed, CPU)
        initial = init_model(ARCHITECTURE, actual.seed).state_dict()["lstm.weight_hh_l0"]
        assert actual.epochs_run == 2 and not torch.allclose(actual.state_dict["lstm.weight_hh_l0"], initial)
        assert_same_replicate(actual, expected)
