"""How a model kind is fit, as the train stage sees it: one class per ``ModelKind.fit``.

The train stage does the same things for every kind — open a tracked run, fit
the replicates, select one, simulate the test split, write the outputs — and
asks the kind's fit for the few things that differ: the budget's unit, the
environment that decides the numbers, what to log as params, and how to get
the selected replicate's test-split discharge. Both fits return one
:class:`TrainingOutcome`. A new kind fit one of these two ways needs nothing here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from hydroprobe.tracking.training_run import flat_params, protocol_tag
from hydroprobe.training.config import updates_per_epoch
from hydroprobe.training.convergence import Budget
from hydroprobe.training.fingerprint import (
    calibration_environment,
    engine_label,
    runtime_environment,
)

if TYPE_CHECKING:
    import torch

    from hydroprobe.data.dataset import BasinDataset
    from hydroprobe.execution.config import ExecutionConfig
    from hydroprobe.layout import Layout
    from hydroprobe.training.calibration import CalibrationConfig
    from hydroprobe.training.config import ModelConfig, TrainConfig
    from hydroprobe.training.replicates import ReplicateObserver, TrainingOutcome


#: Per split: the observed discharge and each replicate's simulated discharge, in m³/s.
Members = tuple[dict[str, np.ndarray], dict[str, list[np.ndarray]]]


@dataclass(frozen=True)
class FitInputs:
    """What every fit gets: the basin's data, the params blocks, where to cache, where to run."""

    dataset: BasinDataset
    model: ModelConfig
    train: TrainConfig
    calibration: CalibrationConfig
    layout: Layout
    device: torch.device
    execution: ExecutionConfig


class Fit(Protocol):
    """One way of fitting a model kind's replicates."""

    verb: str  # run names: train-<basin>, calibrate-<basin>
    step: str  # what the budget counts: epoch, model run
    budget_key: str  # the params key of the budget, for the "train it further" command
    distributes: bool  # whether its replicates may run as Ray tasks

    def replicates(self, inputs: FitInputs) -> int: ...

    def steps(self, inputs: FitInputs) -> int: ...

    def window(self, inputs: FitInputs) -> int: ...

    def protocol(self, inputs: FitInputs) -> str: ...

    def recipe(self, inputs: FitInputs) -> str:
        """One sentence a reader needs to repeat the fit (the report's training section)."""

    def environment(self, inputs: FitInputs) -> dict: ...

    def params(self, inputs: FitInputs, basin_id: str) -> dict[str, str]: ...

    def fit(self, inputs: FitInputs, observer: ReplicateObserver) -> TrainingOutcome: ...

    def test_discharge(self, inputs: FitInputs, outcome: TrainingOutcome) -> tuple[np.ndarray, np.ndarray]:
        """Test-split days (row positions) and the selected replicate's discharge (m³/s) on them."""

    def member_discharge(self, inputs: FitInputs, outcome: TrainingOutcome) -> Members:
        """Per split, the observed discharge and every replicate's (m³/s): the replicate ensemble's input."""


def budget(fit: Fit, steps: int, budget_key: str = "") -> Budget:
    """The budget a model was fit under and the `dvc exp run` line that doubles it.

    ``budget_key`` is the params key that sets it for this model (its own block's, or the
    top-level one it inherits); "" = the fit's top-level key.
    """
    return Budget(steps, fit.step, f"dvc exp run -S {budget_key or fit.budget_key}={2 * steps}")


class GradientFit:
    """Replicates trained by gradient descent, in-process or as Ray tasks."""

    verb, step, budget_key, distributes = "train", "epoch", "train.max_epochs", True

    def replicates(self, inputs: FitInputs) -> int:
        return inputs.train.replicates

    def steps(self, inputs: FitInputs) -> int:
        """The epoch budget on this record (``max_epochs`` raised to ``min_updates``), as trained."""
        return inputs.train.budgeted(_training_samples(inputs)).max_epochs

    def window(self, inputs: FitInputs) -> int:
        return inputs.train.window

    def protocol(self, inputs: FitInputs) -> str:
        return protocol_tag(inputs.model, inputs.train)

    def recipe(self, inputs: FitInputs) -> str:
        return training_recipe(inputs.model, inputs.train, _training_samples(inputs),
                               inputs.model.architecture(inputs.dataset))

    def environment(self, inputs: FitInputs) -> dict:
        train = inputs.train
        engine = train.resolved_engine(inputs.model.type, inputs.device)
        engine = engine_label(engine, train, inputs.device, inputs.model.type)
        return runtime_environment(inputs.device, engine, inputs.model.type).to_dict()

    def params(self, inputs: FitInputs, basin_id: str) -> dict[str, str]:
        return flat_params(inputs.model, inputs.train, basin_id)

    def fit(self, inputs: FitInputs, observer: ReplicateObserver) -> TrainingOutcome:
        from hydroprobe.training.replicates import train_replicates

        execution, cache = inputs.execution, inputs.layout.replicate_cache
        args = (inputs.dataset, inputs.model, inputs.train, cache, inputs.device, observer,
                execution.replicates_per_task)
        if not execution.distributed:
            return train_replicates(*args)
        from hydroprobe.execution.engine import make_runner  # Ray only on this path
        from hydroprobe.execution.replicates import train_replicates_on

        return train_replicates_on(make_runner(execution, inputs.train.threads), *args)

    def test_discharge(self, inputs: FitInputs, outcome: TrainingOutcome) -> tuple[np.ndarray, np.ndarray]:
        from hydroprobe.training.replicates import simulate_physical, split_samples

        series = inputs.dataset.windowed(inputs.train.window)
        days = split_samples(inputs.dataset, series)["test"].days
        simulated = simulate_physical(outcome.architecture, outcome.best.result.state_dict, inputs.dataset,
                                      series, days, inputs.train.eval_batch_size, inputs.device)
        return days, simulated

    def member_discharge(self, inputs: FitInputs, outcome: TrainingOutcome) -> Members:
        from hydroprobe.training.ensemble_mean import network_members

        return network_members(outcome, inputs.dataset, inputs.train.window, inputs.train.eval_batch_size,
                               inputs.device)


def _training_samples(inputs: FitInputs) -> int:
    from hydroprobe.training.replicates import training_samples

    return training_samples(inputs.dataset, inputs.train.window)


class CalibrationFit:
    """Independent calibration searches over a conceptual model's parameters, in-process."""

    verb, step, budget_key, distributes = "calibrate", "model run", "calibration.evaluations", False

    def replicates(self, inputs: FitInputs) -> int:
        return inputs.calibration.replicates

    def steps(self, inputs: FitInputs) -> int:
        return inputs.calibration.evaluations

    def window(self, inputs: FitInputs) -> int:
        return 1  # a conceptual model reads one day at a time; its stores carry the past

    def protocol(self, inputs: FitInputs) -> str:
        return f"calibration-{inputs.calibration.algorithm}"

    def recipe(self, inputs: FitInputs) -> str:
        calibration = inputs.calibration
        stop = (f", stopped after {calibration.patience} runs without a better training NSE"
                if calibration.patience else "")
        return (f"{inputs.model.type} calibrated by spotpy's {calibration.algorithm.upper()}, "
                f"up to {calibration.evaluations} model runs per replicate on the training split{stop}, "
                f"{calibration.warmup_years} warm-up years before each split")

    def environment(self, inputs: FitInputs) -> dict:
        return calibration_environment()

    def params(self, inputs: FitInputs, basin_id: str) -> dict[str, str]:
        return {"basin": basin_id, "model.type": inputs.model.type,
                **{f"calibration.{k}": v for k, v in asdict(inputs.calibration).items()}}

    def fit(self, inputs: FitInputs, observer: ReplicateObserver) -> TrainingOutcome:
        from hydroprobe.training.calibration import calibrate_replicates

        cache = inputs.layout.replicate_cache
        return calibrate_replicates(inputs.dataset, inputs.calibration, cache, observer)

    def test_discharge(self, inputs: FitInputs, outcome: TrainingOutcome) -> tuple[np.ndarray, np.ndarray]:
        """Test-split days (row positions in the record) and the selected calibration's discharge on them."""
        from hydroprobe.training.calibration import simulate_record

        simulated = simulate_record(inputs.dataset, outcome.architecture, outcome.best.result.state_dict,
                                    inputs.calibration.warmup_years)
        start, end = inputs.dataset.splits["test"]
        index = inputs.dataset.series.frame.index
        days = np.flatnonzero((index >= pd.Timestamp(start)) & (index <= pd.Timestamp(end)))
        return days, simulated.reindex(index[days]).to_numpy()

    def member_discharge(self, inputs: FitInputs, outcome: TrainingOutcome) -> Members:
        from hydroprobe.training.ensemble_mean import calibrated_members

        return calibrated_members(outcome, inputs.dataset, inputs.calibration.warmup_years)


def training_recipe(model: ModelConfig, train: TrainConfig, training_samples: int,
                    architecture: dict | None = None) -> str:
    """The gradient fit in words: architecture, start, scaling, windows, optimiser, budget.

    ``training_samples`` (the training split's samples) sets the updates an epoch holds, so the
    budget reads in updates and epochs (:func:`budget_words`). ``architecture`` (the stored one)
    says how its gates start, where the kind has a forget gate.
    """
    scaling = (f"{model.kind.standardized} z-scored inside the network with the training split's statistics"
               if model.standardize else "on the min-max-scaled signals")
    bias = (architecture or {}).get("initial_forget_bias", "absent")
    start = ("" if bias == "absent" else ", PyTorch's initialisation" if bias is None
             else f", forget-gate bias {bias:g} at the start")
    if train.mode == "seq2seq":
        windows = (f"sequence-to-sequence on {train.window}-day windows, the loss on their last "
                   f"{train.loss_span} days, {train.windows_per_epoch} random windows an epoch")
    else:
        windows = f"sequence-to-one on {train.window}-day windows"
    clip = f"gradient norm clipped at {train.grad_clip:g}" if train.grad_clip > 0 else "no gradient clipping"
    return (f"{model.type}, hidden size {model.hidden_size}{start}, {scaling}; {windows}, "
            f"batch {train.batch_size}, Adam at learning rate {train.learning_rate:g}, {clip}; "
            f"{budget_words(train, training_samples)}, stopped after {train.patience} without a better "
            "validation loss (best epoch restored)")


def budget_words(train: TrainConfig, training_samples: int) -> str:
    """The budget as updates and epochs: "≥ 1,200 updates: up to 30 epochs of 43 updates".

    Without ``min_updates`` it names the updates the epochs hold: "up to 40 epochs of 10 updates
    (400 updates)".
    """
    epochs = train.budgeted(training_samples).max_epochs
    per_epoch = updates_per_epoch(train, training_samples)
    words = f"up to {epochs} epochs of {per_epoch:,} updates"
    if train.min_updates:
        return f"≥ {train.min_updates:,} updates: {words}"
    return f"{words} ({epochs * per_epoch:,} updates)"


FITS: dict[str, Fit] = {"gradient": GradientFit(), "calibration": CalibrationFit()}


def fit_for(model: ModelConfig) -> Fit:
    """The fit of ``model``'s kind (the model-kind table's ``fit``)."""
    return FITS[model.kind.fit]
