"""The ensemble engine reproduces the sequential reference replicate by replicate.

Real Salmon River data cut to 1960-12 … 1962-03 (train 1961-01 … 1961-10,
validation 1961-11 … 1962-03), window 30, hidden 4, three seeds. The
kernels sum in a different order than ``torch.nn.LSTM``, so agreement is to
float32 rounding: losses and weights within ``rtol=1e-4, atol=1e-6``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from hydroprobe.data.dataset import BasinDataset, normalize, write_prepared
from hydroprobe.models.ensemble_lstm import EnsembleLSTM
from hydroprobe.training import ensemble_seq2one
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.ensemble import shrink, train_ensemble
from hydroprobe.training.replicates import train_replicates
from hydroprobe.training.static_step import clip_grad_norm_per_replicate_
from hydroprobe.training.trainer import init_model, train_replicate
from tests.training.conftest import TRAIN, VALIDATION

RTOL, ATOL = 1e-4, 1e-6
SEEDS = [0, 1, 2]
ARCHITECTURE = {"type": "lstm", "n_inputs": 2, "hidden_size": 4}
CPU = torch.device("cpu")



def tiny_config(**overrides) -> TrainConfig:
    options = dict(window=30, batch_size=64, learning_rate=0.01, max_epochs=2, patience=30, grad_clip=0.0)
    return TrainConfig(**(options | overrides))


def sequential(cut, config):
    series, train_days, validation_days = cut
    return [train_replicate(ARCHITECTURE, series, train_days, validation_days, config, s, CPU) for s in SEEDS]


def assert_same_replicate(actual, expected) -> None:
    assert actual.seed == expected.seed
    assert actual.epochs_run == expected.epochs_run
    assert actual.best_epoch == expected.best_epoch
    np.testing.assert_allclose(actual.train_loss, expected.train_loss, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(actual.validation_loss, expected.validation_loss, rtol=RTOL, atol=ATOL)
    assert actual.state_dict.keys() == expected.state_dict.keys()
    for key, value in expected.state_dict.items():
        assert actual.state_dict[key].shape == value.shape, key
        np.testing.assert_allclose(actual.state_dict[key], value, rtol=RTOL, atol=ATOL, err_msg=key)


def test_from_models_copies_reference_initialisation_exactly():
    ensemble_model = EnsembleLSTM.from_models([init_model(ARCHITECTURE, s) for s in SEEDS])
    for r, seed in enumerate(SEEDS):
        reference = init_model(ARCHITECTURE, seed).state_dict()
        exported = ensemble_model.replicate_state_dict(r)
        assert exported.keys() == reference.keys()
        for key, value in reference.items():
            assert torch.equal(exported[key], value), key


@pytest.mark.parametrize("recurrence", ["torch", "autograd"])
def test_outputs_and_gradients_match_each_replicate(cut, recurrence):
    series, train_days, _ = cut
    models = [init_model(ARCHITECTURE, s) for s in SEEDS]
    ensemble_model = EnsembleLSTM.from_models(models, recurrence)
    days = torch.as_tensor(train_days[:48]).view(3, 16)  # a different batch per replicate
    x, y = series.batch(days.reshape(-1))
    x, y = x.view(3, 16, 30, 2), y.view(3, 16)
    ((ensemble_model(x) - y) ** 2).mean(dim=1).sum().backward()
    for r, model in enumerate(models):
        torch.nn.functional.mse_loss(model(x[r]), y[r]).backward()
    # the reference gradients, stacked by the same weight mapping
    gradients = EnsembleLSTM.from_models([_grads_as_model(m) for m in models])
    for name, parameter in ensemble_model.named_parameters():
        np.testing.assert_allclose(
            parameter.grad, gradients.get_parameter(name).detach(), rtol=RTOL, atol=ATOL, err_msg=name
        )
    with torch.no_grad():  # evaluation path: shared windows, nothing stored
        shared = ensemble_model(x[0])
        for r, model in enumerate(models):
            np.testing.assert_allclose(shared[r], model(x[0]), rtol=RTOL, atol=ATOL)


def test_a_second_forward_before_backward_gets_its_own_buffers(cut):
    """The reused workspace is lent to one graph at a time: interleaved graphs keep correct gradients."""
    series, train_days, _ = cut
    x, y = series.batch(torch.as_tensor(train_days[:96]))
    first, second = x[:48].view(3, 16, 30, 2), x[48:].view(3, 16, 30, 2)
    models = [init_model(ARCHITECTURE, s) for s in SEEDS]
    interleaved, alone = EnsembleLSTM.from_models(models), EnsembleLSTM.from_models(models)
    loss_first, loss_second = interleaved(first).sum(), interleaved(second).square().sum()
    loss_second.backward()
    loss_first.backward()
    alone(first).sum().backward()
    alone(second).square().sum().backward()
    for name, parameter in interleaved.named_parameters():
        np.testing.assert_allclose(
            parameter.grad, alone.get_parameter(name).grad, rtol=RTOL, atol=ATOL, err_msg=name
        )


def test_kinds_stack_only_in_the_modes_they_support(cut):
    series, train_days, validation_days = cut
    with pytest.raises(ValueError, match=r"stacks 'regional_lstm' replicates in train\.mode \('seq2seq',\), "
                                         r"not seq2one"):
        next(train_ensemble({**ARCHITECTURE, "type": "regional_lstm"}, series, train_days, validation_days,
                            tiny_config(), SEEDS, CPU))
    with pytest.raises(ValueError, match=r"stacks 'gr4jcn' replicates in train.mode none"):
        next(train_ensemble({"type": "gr4jcn"}, series, train_days, validation_days, tiny_config(), SEEDS,
                            CPU))


def test_groups_of_replicates_give_the_same_results(cut):
    series, train_days, validation_days = cut
    config = tiny_config(max_epochs=1)
    together = list(train_ensemble(ARCHITECTURE, series, train_days, validation_days, config, SEEDS, CPU))
    grouped = list(
        train_ensemble(ARCHITECTURE, series, train_days, validation_days, config, SEEDS, CPU, max_group=2)
    )
    for actual, expected in zip(grouped, together, strict=True):
        assert_same_replicate(actual, expected)


def _grads_as_model(model):
    """A copy of ``model`` whose weights are its gradients (to reuse the weight mapping)."""
    copy = init_model(ARCHITECTURE, 0)
    with torch.no_grad():
        for (_, target), source in zip(copy.named_parameters(), model.parameters(), strict=True):
            target.copy_(source.grad)
    return copy


def test_clipping_uses_each_replicates_own_norm():
    weight = torch.nn.Parameter(torch.zeros(2, 2))
    bias = torch.nn.Parameter(torch.zeros(2, 1))
    weight.grad = torch.tensor([[3.0, 0.0], [0.3, 0.0]])
    bias.grad = torch.tensor([[4.0], [0.4]])
    norms = clip_grad_norm_per_replicate_([weight, bias], max_norm=1.0)
    np.testing.assert_allclose(norms, [5.0, 0.5], rtol=1e-6)
    # replicate 0 (norm 5) is scaled by 1 / (5 + 1e-6); replicate 1 (norm 0.5) is left alone
    np.testing.assert_allclose(weight.grad, [[0.6, 0.0], [0.3, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(bias.grad, [[0.8], [0.4]], rtol=1e-6)


@pytest.mark.parametrize("grad_clip", [0.0, 0.05])
def test_two_epochs_match_sequential(cut, grad_clip):
    config = tiny_config(grad_clip=grad_clip)
    series, train_days, validation_days = cut
    results = list(train_ensemble(ARCHITECTURE, series, train_days, validation_days, config, SEEDS, CPU))
    assert [r.seed for r in results] == SEEDS
    for actual, expected in zip(results, sequential(cut, config), strict=True):
        assert actual.epochs_run == 2
        assert_same_replicate(actual, expected)


def test_early_stopping_per_replicate_matches_sequential(cut, monkeypatch):
    """Patience 1: seeds 0 and 1 stop after epoch 2, seed 2 runs all 3 epochs alone."""
    config = tiny_config(max_epochs=3, patience=1)
    series, train_days, validation_days = cut
    active_sizes, reported = [], []
    original_epoch = ensemble_seq2one.train_epoch

    def counting_epoch(model, *args):
        active_sizes.append(model.replicates)
        return original_epoch(model, *args)

    monkeypatch.setattr(ensemble_seq2one, "train_epoch", counting_epoch)
    results = train_ensemble(
        ARCHITECTURE,
        series,
        train_days,
        validation_days,
        config,
        SEEDS,
        CPU,
        on_epoch=lambda seed, epoch, *_: reported.append((seed, epoch)),
    )
    first, second = next(results), next(results)
    assert (first.seed, second.seed) == (0, 1)
    assert active_sizes == [3, 3]  # yielded at the end of epoch 2, before epoch 3 starts
    last = next(results)
    assert active_sizes == [3, 3, 1]  # the finished replicates left the active set
    assert reported == [(s, e) for e in (1, 2) for s in SEEDS] + [(2, 3)]
    for actual, expected in zip([first, second, last], sequential(cut, config), strict=True):
        assert_same_replicate(actual, expected)
    assert [r.epochs_run for r in (first, second, last)] == [2, 2, 3]
    assert [r.best_epoch for r in (first, second, last)] == [1, 1, 2]


def test_shrink_keeps_the_adam_trajectory_of_the_remaining_replicates(cut):
    series, train_days, _ = cut
    days = torch.as_tensor(train_days[:48]).view(3, 16)
    x, y = series.batch(days.reshape(-1))
    x, y = x.view(3, 16, 30, 2), y.view(3, 16)
    full = EnsembleLSTM.from_models([init_model(ARCHITECTURE, s) for s in SEEDS])
    optimizer = torch.optim.Adam(full.parameters(), lr=0.01)

    def step(model, opt, rows):
        opt.zero_grad()
        ((model(x[rows]) - y[rows]) ** 2).mean(dim=1).sum().backward()
        opt.step()

    step(full, optimizer, [0, 1, 2])
    small, small_optimizer = shrink(full, optimizer, [0, 2], 0.01)
    assert small.replicates == 2
    for name, parameter in full.named_parameters():
        state, small_state = optimizer.state[parameter], small_optimizer.state[small.get_parameter(name)]
        assert torch.equal(small_state["exp_avg"], state["exp_avg"][[0, 2]])
        assert torch.equal(small_state["exp_avg_sq"], state["exp_avg_sq"][[0, 2]])
        assert float(small_state["step"]) == 1.0
    step(full, optimizer, [0, 1, 2])
    step(small, small_optimizer, [0, 2])
    for name, parameter in full.named_parameters():
        np.testing.assert_allclose(
            small.get_parameter(name).detach(), parameter.detach()[[0, 2]], rtol=RTOL, atol=ATOL
        )


class RecordingObserver:
    def __init__(self):
        self.events = []

    def replicate_started(self, seed, reused, resumed_epoch=0):
        self.events.append(("started", seed))

    def epoch_finished(self, seed, epoch, train_loss, validation_loss):
        self.events.append(("epoch", seed, epoch))

    def replicate_finished(self, outcome):
        self.events.append(("finished", outcome.seed))


def test_train_replicates_dispatches_on_engine(salmon, tmp_path):
    """``train.engine: ensemble`` gives the sequential engine's replicates and metrics."""
    cut_series = dataclasses.replace(salmon, frame=salmon.frame.loc["1960-12-01":"1962-06-30"])
    splits = {
        "train": TRAIN,
        "validation": VALIDATION,
        "test": (pd.Timestamp("1962-04-01"), pd.Timestamp("1962-06-30")),
    }
    write_prepared(cut_series, splits, tmp_path / "basin")
    normalize(tmp_path / "basin")
    dataset = BasinDataset.load(tmp_path / "basin")
    outcomes, observers = {}, {}
    for engine in ("sequential", "ensemble"):
        observers[engine] = RecordingObserver()
        outcomes[engine] = train_replicates(
            dataset,
            ModelConfig(hidden_size=4),
            tiny_config(engine=engine, replicates=2),
            tmp_path / engine,
            CPU,
            observers[engine],
        )
    assert observers["ensemble"].events == (
        [("started", 0), ("started", 1)]
        + [("epoch", seed, epoch) for epoch in (1, 2) for seed in (0, 1)]
        + [("finished", 0), ("finished", 1)]
    )
    for actual, expected in zip(
        outcomes["ensemble"].replicates, outcomes["sequential"].replicates, strict=True
    ):
        assert_same_replicate(actual.result, expected.result)
        for split, scores in expected.metrics.items():
            for name, value in scores.items():
                assert actual.metrics[split][name] == pytest.approx(value, rel=1e-3, abs=1e-5), (split, name)
