"""One Optuna trial = the ``train`` protocol with the trial's knobs, scored by validation NSE.

The trial trains ``tune.seeds`` replicates with :func:`train_replicate`
(seeds ``train.seed``, ``train.seed + 1``, ...), exactly as the ``train`` stage
would with the overridden ``model``/``train`` sections, and returns the mean
validation NSE (m³/s) of the restored best weights. The test split is never
looked at.

Pruning listens to the per-epoch validation NSE. The trainer reports the
validation MSE of the normalised target; min-max scaling is affine, so
``1 - MSE / Var(normalised observations)`` *is* the NSE in m³/s and costs no
extra forward pass. Seed *k*'s epoch *e* is reported at step
``k * max_epochs + e`` so that trials are compared seed by seed, epoch by epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import optuna
import torch

from hydroprobe.data.dataset import BasinDataset
from hydroprobe.training import metrics
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.replicates import simulate_physical, split_samples
from hydroprobe.training.trainer import train_replicate
from hydroprobe.tuning.search_space import FloatRange, TuneConfig, apply_overrides

COMPLETE, PRUNED, FAIL = "COMPLETE", "PRUNED", "FAIL"


class TrialObserver(Protocol):
    """What a tracker (MLflow) hears while a trial runs."""

    def trial_started(self, number: int, params: dict[str, Any]) -> None: ...

    def epoch_finished(
        self, number: int, seed: int, epoch: int, train_loss: float, validation_nse: float
    ) -> None: ...

    def trial_finished(
        self, number: int, state: str, value: float | None, summary: dict[str, float]
    ) -> None: ...


def suggest(trial: optuna.Trial, config: TuneConfig) -> dict[str, Any]:
    """The trial's values, keyed by the params.yaml key they override."""
    values: dict[str, Any] = {}
    for key, bounds in config.ranges().items():
        if isinstance(bounds, FloatRange):
            values[key] = trial.suggest_float(key, bounds.low, bounds.high, log=bounds.log)
        else:
            values[key] = trial.suggest_int(key, bounds.low, bounds.high, log=bounds.log)
    return values


@dataclass
class Objective:
    """Callable handed to ``study.optimize``; one instance serves every trial of a worker."""

    dataset: BasinDataset
    model: ModelConfig
    train: TrainConfig
    tune: TuneConfig
    device: torch.device
    observer: TrialObserver | None = None

    def __call__(self, trial: optuna.Trial) -> float:
        values = suggest(trial, self.tune)
        if self.observer:
            self.observer.trial_started(trial.number, values)
        try:
            value, summary = self._score(trial, values)
        except optuna.TrialPruned:
            self._finish(trial.number, PRUNED, None, {})
            raise
        except Exception:
            self._finish(trial.number, FAIL, None, {})
            raise
        self._finish(trial.number, COMPLETE, value, summary)
        return value

    def _finish(self, number: int, state: str, value: float | None, summary: dict[str, float]) -> None:
        if self.observer:
            self.observer.trial_finished(number, state, value, summary)

    def _score(self, trial: optuna.Trial, values: dict[str, Any]) -> tuple[float, dict[str, float]]:
        epochs = self.tune.epochs(self.train)
        model, train = apply_overrides(self.model, self.train, values, epochs)
        architecture = model.architecture(self.dataset)
        series = self.dataset.windowed(train.window)
        samples = split_samples(self.dataset, series)
        for split in ("train", "validation"):
            if samples[split].days.size < 2:
                raise ValueError(f"split '{split}' has < 2 usable samples with window {train.window}")
        validation_days = samples["validation"].days
        variance = float(np.var(series.target.numpy()[validation_days], dtype=np.float64))

        scores: list[dict[str, float]] = []
        for k, seed in enumerate(self.tune.seeds_for(train)):

            def on_epoch(epoch: int, train_loss: float, validation_mse: float, k=k, seed=seed) -> None:
                nse = 1.0 - validation_mse / variance
                if self.observer:
                    self.observer.epoch_finished(trial.number, seed, epoch, train_loss, nse)
                trial.report(nse, k * epochs + epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"seed {seed}, epoch {epoch}: validation NSE {nse:.4f}")

            train_days = samples["train"].days
            result = train_replicate(
                architecture, series, train_days, validation_days, train, seed, self.device, on_epoch
            )
            weights, batch = result.state_dict, train.eval_batch_size
            simulated = simulate_physical(
                architecture, weights, self.dataset, series, validation_days, batch, self.device
            )
            observed = self.dataset.observed(validation_days)
            score = {f"validation_{n}": v for n, v in metrics.all_metrics(observed, simulated).items()}
            score["best_epoch"] = result.best_epoch
            scores.append(score)
            trial.set_user_attr(f"validation_nse_seed_{seed}", score["validation_nse"])

        summary = {name: float(np.mean([s[name] for s in scores])) for name in scores[0]}
        value = summary["validation_nse"]
        if not math.isfinite(value):
            raise ValueError(f"validation NSE is {value} (training diverged)")
        return value, summary
