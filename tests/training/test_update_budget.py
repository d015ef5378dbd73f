"""``train.min_updates``: a shorter record gets more epochs, so every record gets the same updates.

Trained on two cuts of the real Salmon record; the updates are counted as the optimiser
makes them (a global step hook), not taken from the formula.
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from hydroprobe.data.dataset import BasinDataset, normalize, write_prepared
from hydroprobe.tracking.fits import FITS, FitInputs, budget_words
from hydroprobe.training.calibration import CalibrationConfig
from hydroprobe.training.config import ModelConfig, TrainConfig, config_hash, epoch_budget, updates_per_epoch
from hydroprobe.training.convergence import Budget, replicate_convergence
from hydroprobe.training.replicates import train_replicates, training_samples

CPU = torch.device("cpu")
#: patience above any budget here: every run trains its whole budget, so its updates can be counted
CONFIG = TrainConfig(window=30, batch_size=64, learning_rate=0.01, max_epochs=2, patience=1000,
                     replicates=1, min_updates=40)


def _record(salmon, folder, train_end: str) -> BasinDataset:
    """Salmon from 1960-12 with training up to ``train_end``, then a validation and a test year."""
    end = pd.Timestamp(train_end)
    splits = {"train": (pd.Timestamp("1961-01-01"), end),
              "validation": (end + pd.Timedelta(days=1), end + pd.DateOffset(years=1)),
              "test": (end + pd.DateOffset(years=1) + pd.Timedelta(days=1), end + pd.DateOffset(years=2))}
    series = dataclasses.replace(salmon, frame=salmon.frame.loc["1960-12-01" : splits["test"][1]])
    write_prepared(series, splits, folder)
    normalize(folder)
    return BasinDataset.load(folder)


def _train_counting_updates(dataset: BasinDataset, config: TrainConfig, cache) -> tuple[int, int]:
    """Epochs run and optimiser steps made while training ``config``'s one replicate."""
    steps = []
    handle = register_optimizer_step_post_hook(lambda optimizer, args, kwargs: steps.append(1))
    try:
        outcome = train_replicates(dataset, ModelConfig(hidden_size=4), config, cache, CPU)
    finally:
        handle.remove()
    return outcome.replicates[0].result.epochs_run, len(steps)


@pytest.fixture(scope="module")
def records(salmon, tmp_path_factory) -> dict[str, BasinDataset]:
    root = tmp_path_factory.mktemp("records")
    return {"long": _record(salmon, root / "long", "1962-12-31"),
            "short": _record(salmon, root / "short", "1961-12-31")}


def test_a_shorter_record_trains_more_epochs_to_at_least_min_updates(records, tmp_path) -> None:
    runs = {}
    for name, dataset in records.items():
        samples = training_samples(dataset, CONFIG.window)
        epochs, updates = _train_counting_updates(dataset, CONFIG, tmp_path / name)
        assert updates >= CONFIG.min_updates, name
        assert updates == epochs * math.ceil(samples / CONFIG.batch_size), name  # each batch one update
        assert epochs == epoch_budget(CONFIG, samples) > CONFIG.max_epochs, name
        runs[name] = samples, epochs
    assert runs["short"][0] < runs["long"][0] and runs["short"][1] > runs["long"][1]


def test_the_verdict_and_the_recipe_judge_the_budget_trained(records, tmp_path) -> None:
    dataset = records["short"]
    samples = training_samples(dataset, CONFIG.window)
    config = dataclasses.replace(CONFIG, patience=3)  # early stopping decides, from epoch 4 on
    outcome = train_replicates(dataset, ModelConfig(hidden_size=4), config, tmp_path, CPU)
    result = outcome.replicates[0].result
    inputs = FitInputs(dataset, ModelConfig(hidden_size=4), config, CalibrationConfig(), None, CPU, None)
    budget = FITS["gradient"].steps(inputs)
    assert budget == epoch_budget(config, samples) >= result.epochs_run > config.max_epochs
    row = replicate_convergence(result, Budget(budget, "epoch", ""))
    assert row["budget"] == budget and row["converged"] == (result.epochs_run < budget
                                                             or result.best_epoch <= 0.9 * budget)
    per_epoch = updates_per_epoch(config, samples)
    assert budget_words(config, samples) == f"≥ 40 updates: up to {budget} epochs of {per_epoch} updates"
    # the budget is folded into the recipe: its key is that of the same epochs asked for directly
    direct = dataclasses.replace(config, max_epochs=budget, min_updates=0)
    assert outcome.config_hash == config_hash(ModelConfig(hidden_size=4), direct, dataset.fingerprint)


def test_min_updates_changes_nothing_where_max_epochs_already_holds_them(records) -> None:
    samples = training_samples(records["long"], CONFIG.window)
    per_epoch = updates_per_epoch(CONFIG, samples)
    enough = dataclasses.replace(CONFIG, max_epochs=math.ceil(CONFIG.min_updates / per_epoch) + 1)
    assert epoch_budget(enough, samples) == enough.max_epochs
    off = dataclasses.replace(CONFIG, min_updates=0)
    assert epoch_budget(off, samples) == off.max_epochs
    assert budget_words(off, samples) == f"up to 2 epochs of {per_epoch} updates ({2 * per_epoch} updates)"
    # seq2seq: an epoch is windows_per_epoch draws, 10 updates on any record
    seq2seq = dataclasses.replace(CONFIG, mode="seq2seq", loss_span=10, windows_per_epoch=640)
    assert updates_per_epoch(seq2seq, 1) == updates_per_epoch(seq2seq, samples) == 10
