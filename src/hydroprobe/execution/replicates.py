"""Replicate groups as units of a :class:`~hydroprobe.execution.engine.Runner` (``train`` on Ray).

The driver keeps everything that is not training: the replicate cache, the
evaluation, the outcome and the observer (MLflow). A unit is one group of
seeds, exactly as the in-process engine would group them, trained by the pure
:func:`~hydroprobe.training.replicates.train_seeds`; its results (weights and
curves) come back to the driver, which caches each one at once (an
interrupted driver resumes from the cache, as in-process), replays the curve
to the observer and evaluates it. So the store, the cache and the DVC outputs
are those of an in-process run with the same seeds and grouping.

Why the driver logs the nested runs rather than the tasks: a task stays pure
(numerics import no MLflow, and need no credentials for the tracking server),
a task Ray retries after its worker died cannot leave a half-logged duplicate
run, and the tree (one parent, one nested run per replicate, same tags, same
steps) is the in-process tree by construction. What the tasks add is where and
when they ran, as tags on each replicate run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hydroprobe.data.dataset import BasinDataset
from hydroprobe.errors import HydroprobeError
from hydroprobe.execution.engine import Runner, UnitDone, UnitFailed
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.replicates import (
    ReplicateObserver,
    TrainingOutcome,
    plan_training,
    replicate_groups,
    train_seeds,
)


class UnitsFailedError(HydroprobeError, RuntimeError):
    """Some units failed for good; the others finished and were kept."""

    def __init__(self, message: str, failed: dict[int, str]):
        super().__init__(message)
        self.failed = failed  # seed → reason


@dataclass
class _Unit:
    """One group of seeds; a plain value so Ray ships it cheaply."""

    seeds: list[int]


def train_unit(unit: _Unit, **shared: Any) -> list:
    """The task body: train one group of seeds from scratch (module level, so Ray imports it by name)."""
    return train_seeds(unit.seeds, **shared)


def train_replicates_on(
    runner: Runner,
    dataset: BasinDataset,
    model_config: ModelConfig,
    train_config: TrainConfig,
    cache_root: Path,
    device: torch.device,
    observer: ReplicateObserver | None = None,
    group_size: int = 0,
    task: Callable[..., list] | None = None,
) -> TrainingOutcome:
    """:func:`~hydroprobe.training.replicates.train_replicates` with each group a unit of ``runner``.

    Raises :class:`UnitsFailedError` naming the failed seeds after every other unit
    finished, was cached and was reported to the observer.
    """
    plan = plan_training(dataset, model_config, train_config, cache_root, device, group_size)
    missing = plan.reuse_cached(observer)
    units = [_Unit(seeds) for seeds in
             replicate_groups(missing, plan.config, plan.architecture, device, group_size)]
    for unit in units:  # RUNNING from submission, as in-process runs are from their first epoch
        for seed in unit.seeds:
            if observer:
                observer.replicate_started(seed, reused=False)

    def done(result: UnitDone) -> None:
        for replicate in result.value:
            if observer:
                _replay_curve(observer, replicate)
                _note_worker(observer, replicate.seed, result)
            plan.cache.save(replicate)
            plan.finish(replicate, reused=False, observer=observer)

    shared = {"architecture": plan.architecture, "series": plan.series, "samples": plan.samples,
              "config": plan.config, "group_size": group_size}
    failures = runner.map(task or train_unit, units, shared, done)
    plan.outcome.replicates.sort(key=lambda o: o.seed)
    if failures:
        _report_failures(failures, units, observer, len(plan.outcome.replicates))
    return plan.outcome


def _replay_curve(observer: ReplicateObserver, replicate) -> None:
    """The per-epoch losses the task could not report live, at the same steps as in-process."""
    curve = zip(replicate.train_loss, replicate.validation_loss, strict=True)
    for epoch, (train_loss, validation_loss) in enumerate(curve, 1):
        observer.epoch_finished(replicate.seed, epoch, train_loss, validation_loss)


def _note_worker(observer: Any, seed: int, result: UnitDone) -> None:
    note = getattr(observer, "replicate_placed", None)
    if note is not None:
        note(seed, result.worker, result.started, result.finished)


def _report_failures(failures: list[UnitFailed], units: list[_Unit], observer: Any, finished: int) -> None:
    failed = {seed: failure.error for failure in failures for seed in units[failure.index].seeds}
    mark = getattr(observer, "replicate_failed", None)
    for seed, reason in failed.items():
        if mark is not None:
            mark(seed, reason)
    lines = "; ".join(f"seed {seed}: {reason}" for seed, reason in sorted(failed.items()))
    raise UnitsFailedError(
        f"{len(failed)} replicate(s) failed ({lines}); the {finished} finished replicate(s) are cached "
        "and logged: rerun `hydroprobe train` to train only the failed ones", failed,
    )
