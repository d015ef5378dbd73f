"""Convergence evidence and selection noise, on replicates trained on the real Salmon record."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hydroprobe.tracking.fits import FITS
from hydroprobe.tracking.fits import budget as fit_budget
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.convergence import (
    Budget,
    convergence_summary,
    replicate_convergence,
    selection_noise,
)
from hydroprobe.training.replicates import train_replicates

CPU = torch.device("cpu")
def _train(dataset, tmp_path, **overrides):
    config = TrainConfig(**({"window": 30, "batch_size": 64, "learning_rate": 0.01, "max_epochs": 2,
                             "replicates": 3} | overrides))
    return train_replicates(dataset, ModelConfig(hidden_size=4), config, tmp_path, CPU)


def test_a_two_epoch_budget_is_not_converged(cut_dataset, tmp_path) -> None:
    outcome = _train(cut_dataset, tmp_path)
    budget = fit_budget(FITS["gradient"], 2)
    assert budget == Budget(2, "epoch", "dvc exp run -S train.max_epochs=4")
    for replicate in outcome.replicates:
        row = replicate_convergence(replicate.result, budget)
        curve = replicate.result.validation_loss
        assert row["validation_loss_trend"] == pytest.approx((curve[-1] - curve[-2]) / curve[-2])
        # a best epoch of 2 of 2 is in the last tenth; 1 of 2 early in a budget that ran out is not
        assert row["converged"] == (replicate.result.best_epoch <= 1.8)
    summary = convergence_summary(outcome, budget)
    assert summary["selected"]["best"] == outcome.best.result.best_epoch
    late = [r.seed for r in outcome.replicates if r.result.best_epoch == 2]
    assert summary["not_converged_seeds"] == late and late


def test_early_stopping_before_the_budget_is_converged(cut_dataset, tmp_path) -> None:
    outcome = _train(cut_dataset, tmp_path, max_epochs=40, patience=1, replicates=1)
    result = outcome.replicates[0].result
    assert result.epochs_run < 40  # stopped by patience, not by the budget
    row = replicate_convergence(result, Budget(40, "epoch", "x"))
    assert row == {"best": result.best_epoch, "run": result.epochs_run, "budget": 40,
                   "validation_loss_trend": row["validation_loss_trend"], "converged": True}


def test_selection_noise_is_the_spearman_rank_correlation_by_hand(cut_dataset, tmp_path) -> None:
    outcome = _train(cut_dataset, tmp_path, replicates=4)
    validation = np.array([o.metrics["validation"]["nse"] for o in outcome.replicates])
    test = np.array([o.metrics["test"]["nse"] for o in outcome.replicates])
    rank = lambda values: np.argsort(np.argsort(-values))  # noqa: E731 - distinct values here
    d = rank(validation) - rank(test)
    expected = 1 - 6 * np.sum(d**2) / (4 * (4**2 - 1))
    noise = selection_noise(outcome)
    assert noise["validation_test_rank_correlation"] == pytest.approx(expected)
    best = int(np.argmax(validation))
    assert noise["selected_test_rank"] == 1 + int(np.sum(test > test[best]))
