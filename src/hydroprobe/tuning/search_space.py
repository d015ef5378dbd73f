"""The ``tune`` section of params.yaml: what the search may vary, and how far.

The paper fixed hidden size 50 and a 365-day window and noted that results
may depend on them (§4); this section turns both (and optionally the learning
rate) into ranges. Every range names the params.yaml key it overrides, so the
best trial can be written back in the same layout (``model.hidden_size``,
``train.window``, ``train.learning_rate``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pandas as pd

from hydroprobe.config import build, require
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.training.config import ModelConfig, TrainConfig

PRUNERS = ("median", "hyperband", "none")


@dataclass(frozen=True)
class IntRange:
    """An integer knob searched between ``low`` and ``high`` (inclusive)."""

    low: int
    high: int
    log: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class FloatRange:
    """A real knob searched between ``low`` and ``high``."""

    low: float
    high: float
    log: bool = True
    enabled: bool = True


#: Searchable knob (``tune.<name>``) → the params.yaml key it overrides, and its range type.
TUNABLE: dict[str, tuple[str, type]] = {
    "hidden_size": ("model.hidden_size", IntRange),
    "window": ("train.window", IntRange),
    "learning_rate": ("train.learning_rate", FloatRange),
}


@dataclass(frozen=True)
class TuneConfig:
    """``tune.*``: study size, objective averaging, pruning and the ranges."""

    enabled: bool = False
    n_trials: int = 20
    timeout_s: float = 0.0
    study_name: str = ""
    storage: str = ""
    seeds: int = 1
    max_epochs: int = 0
    pruner: str = "median"
    startup_trials: int = 5
    warmup_epochs: int = 5
    sampler_seed: int | None = None
    workers: int = 1
    hidden_size: IntRange = IntRange(8, 256, log=True)
    window: IntRange = IntRange(30, 730)
    learning_rate: FloatRange = FloatRange(1e-4, 1e-2, log=True, enabled=False)

    def __post_init__(self) -> None:
        require(self.n_trials >= 1, "tune.n_trials", f"must be >= 1 (got {self.n_trials})")
        require(self.timeout_s >= 0, "tune.timeout_s", "must be >= 0 (0 = no limit)")
        require(self.seeds >= 1, "tune.seeds", f"must be >= 1 (got {self.seeds})")
        require(self.max_epochs >= 0, "tune.max_epochs", "must be >= 0 (0 = train.max_epochs)")
        require(self.pruner in PRUNERS, "tune.pruner", f"must be one of {PRUNERS} (got {self.pruner!r})")
        require(self.startup_trials >= 0, "tune.startup_trials", "must be >= 0")
        require(self.warmup_epochs >= 0, "tune.warmup_epochs", "must be >= 0")
        require(self.workers >= 1, "tune.workers", f"must be >= 1 (got {self.workers})")
        for name in TUNABLE:
            _check_range(getattr(self, name), f"tune.{name}")
        require(
            any(getattr(self, name).enabled for name in TUNABLE),
            "tune",
            f"enables no range; set enabled: true on one of {', '.join(TUNABLE)}",
        )

    def ranges(self) -> dict[str, IntRange | FloatRange]:
        """Enabled ranges keyed by the params.yaml key they override."""
        return {key: getattr(self, name) for name, (key, _) in TUNABLE.items() if getattr(self, name).enabled}

    def epochs(self, train: TrainConfig) -> int:
        return self.max_epochs or train.max_epochs

    def worker_trials(self) -> list[int]:
        """``n_trials`` split over ``workers`` (the first ones take the remainder); idle workers dropped.

        ``n_trials`` stays what one ``hydroprobe tune`` adds to the study, however
        many workers share it, so raising ``workers`` speeds a study up without
        changing its size.
        """
        share, extra = divmod(self.n_trials, self.workers)
        return [n for n in (share + (k < extra) for k in range(self.workers)) if n > 0]

    def worker_sampler_seed(self, index: int) -> int | None:
        """Worker ``index``'s sampler seed: ``sampler_seed + index`` (distinct, reproducible), else fresh."""
        return None if self.sampler_seed is None else self.sampler_seed + index

    def seeds_for(self, train: TrainConfig) -> list[int]:
        """Seeds of one trial: ``train.seed``, ``train.seed + 1``, ... (as the train stage's replicates)."""
        return [train.seed + k for k in range(self.seeds)]


def _check_range(bounds: IntRange | FloatRange, key: str) -> None:
    require(bounds.low <= bounds.high, key, f"has low ({bounds.low}) > high ({bounds.high})")
    if isinstance(bounds, IntRange):
        require(bounds.low >= 1, f"{key}.low", f"must be >= 1 (got {bounds.low})")
    else:
        require(bounds.low > 0, f"{key}.low", f"must be > 0 (got {bounds.low})")


def parse_tune_config(values: dict[str, Any]) -> TuneConfig:
    """Validate the ``tune`` section; a bad key or range stops with the key named."""
    values = dict(values or {})
    ranges = {
        name: build(kind, values.pop(name), f"tune.{name}")
        for name, (_, kind) in TUNABLE.items()
        if name in values
    }
    return dataclasses.replace(build(TuneConfig, values, "tune"), **ranges)


def check_window_fits(config: TuneConfig, dataset: BasinDataset) -> None:
    """A window longer than the record before the training split's end leaves no training sample."""
    if not config.window.enabled:
        return
    train_end = dataset.splits["train"][1]
    history = int((pd.DatetimeIndex(dataset.normalized.index) <= train_end).sum())
    require(
        config.window.high <= history,
        "tune.window.high",
        f"is {config.window.high} days but the record holds only {history} days up to the end of the "
        f"training split ({train_end.date()}); lower it to at most {history}",
    )


def apply_overrides(
    model: ModelConfig, train: TrainConfig, values: dict[str, Any], max_epochs: int
) -> tuple[ModelConfig, TrainConfig]:
    """The ``model``/``train`` sections with a trial's values (``{"train.window": 90, ...}``) put in."""
    sections: dict[str, dict[str, Any]] = {"model": {}, "train": {"max_epochs": max_epochs}}
    for key, value in values.items():
        section, name = key.split(".")
        sections[section][name] = value
    return dataclasses.replace(model, **sections["model"]), dataclasses.replace(train, **sections["train"])
