"""Calibrating the conceptual reference (GR4J-CemaNeige via Raven) with spotpy, as "replicates".

The neural models' protocol carries over: replicate k is an independent
calibration seeded ``seed + k`` (the spread is the search's equifinality,
as the neural replicates' spread is the initialisation's); the objective is
NSE on the training split, the selection is validation NSE, test metrics
are computed but never consulted. A calibrated replicate is stored as a
:class:`~hydroprobe.training.trainer.ReplicateResult` whose ``state_dict``
holds the six parameters as tensors, so the replicate cache, the MLflow
observer, the registry and the probes treat it like a network's weights.
Its "learning curve" is 1 − NSE of the best parameter set so far after each
model evaluation (training split, and the validation split of that same set).

A search stops once it has converged: ``calibration.patience`` runs without a better
training NSE (early stopping, as the networks' patience in epochs), with
``calibration.evaluations`` as its cap. spotpy has no such criterion for DDS, so the
objective raises a private exception that ends spotpy's loop; the search up to there is
exactly the one a run without patience makes (same seed, same cap) over its first
evaluations, so stopping only cuts it and changes nothing it found.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hydroprobe.config import require
from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.models.gr4jcn import DEFAULT_BOUNDS, PARAMETER_NAMES, GR4JCNSimulator, from_parameters
from hydroprobe.training import metrics
from hydroprobe.training.fingerprint import (
    CALIBRATION_PACKAGES,
    CALIBRATION_SOURCES,
    code_fingerprint,
    package_versions,
)
from hydroprobe.training.replicates import (
    ReplicateCache,
    ReplicateObserver,
    ReplicateOutcome,
    TrainingOutcome,
)
from hydroprobe.training.trainer import ReplicateResult

ALGORITHMS = ("dds", "sceua")


@dataclass(frozen=True)
class CalibrationConfig:
    """``calibration.*``: the search that fits a conceptual model (spotpy)."""

    algorithm: str = "dds"
    evaluations: int = 300  # model runs per replicate at most (the cap)
    patience: int = 0  # stop after this many runs without a better training NSE; 0 = run the cap
    replicates: int = 2
    seed: int = 0
    warmup_years: int = 3  # simulated before each split's first scored day (from the record's start)
    spinup_days: int = 1095  # probes: days a hypothetical climate runs before it is measured
    workers: int = 0  # searches run side by side, one per process; 0 = one per CPU core

    def __post_init__(self) -> None:
        require(self.algorithm in ALGORITHMS, "calibration.algorithm", f"must be one of {ALGORITHMS}")
        require(self.evaluations >= 10, "calibration.evaluations", f"must be >= 10 (got {self.evaluations})")
        require(self.patience >= 0, "calibration.patience", f"must be >= 0 (0 = off; got {self.patience})")
        require(self.replicates >= 1, "calibration.replicates", f"must be >= 1 (got {self.replicates})")
        require(self.workers >= 0, "calibration.workers", f"must be >= 0 (0: one per core; {self.workers})")
        require(self.warmup_years >= 0, "calibration.warmup_years", "must be >= 0")
        require(self.spinup_days >= 365, "calibration.spinup_days", "must be >= 365")

    def seeds(self) -> list[int]:
        return [self.seed + k for k in range(self.replicates)]


def architecture(dataset: BasinDataset, config: CalibrationConfig) -> dict:
    """What rebuilds the simulator besides its parameters (the ``build`` dict of a conceptual model)."""
    meta = dataset.series.meta
    return {"type": "gr4jcn", "area_km2": float(meta.area_km2), "latitude": float(meta.latitude),
            "longitude": float(meta.longitude), "spinup_days": config.spinup_days}


def recipe_hash(config: CalibrationConfig, data_fingerprint: str) -> str:
    """Identity of a calibration recipe (the replicate count and first seed excluded).

    The calibration code and the Raven/spotpy versions are part of it, so a cached
    search is never reused after either changes (Raven runs the same on any x86 CPU:
    a fresh clone on another processor reproduced the committed GR4J numbers exactly).
    """
    recipe = {k: v for k, v in asdict(config).items() if k not in ("replicates", "seed", "workers")}
    software = {"code": code_fingerprint(CALIBRATION_SOURCES), **package_versions(CALIBRATION_PACKAGES)}
    payload = json.dumps(
        {"model": "gr4jcn", "calibration": recipe, "data": data_fingerprint, "software": software},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class ObservedRecord:
    """The physical record a calibration scores against, with the day range each split covers."""

    frame: pd.DataFrame
    splits: dict[str, tuple[pd.Timestamp, pd.Timestamp]]
    warmup_years: int

    def period(self, last_split: str) -> pd.DataFrame:
        """From ``warmup_years`` before the training split (or the record's start) to ``last_split``'s end."""
        start = max(self.frame.index[0], self.splits["train"][0] - pd.DateOffset(years=self.warmup_years))
        return self.frame.loc[start : self.splits[last_split][1]]

    def scores(self, simulated: pd.Series, names: tuple[str, ...]) -> dict[str, dict[str, float]]:
        out = {}
        for name in names:
            start, end = self.splits[name]
            observed = self.frame[DISCHARGE].loc[start:end].to_numpy()
            out[name] = metrics.all_metrics(observed, simulated.loc[start:end].to_numpy())
        return out


def observed_record(dataset: BasinDataset, warmup_years: int) -> ObservedRecord:
    frame = dataset.series.frame
    missing = frame[[PRECIPITATION, TEMPERATURE]].isna().any(axis=1)
    if missing.any():
        raise ValueError(
            f"{dataset.series.meta.id}: Raven needs complete forcing, but precipitation or temperature is "
            f"missing on {int(missing.sum())} day(s), first {frame.index[missing][0].date()}"
        )
    splits = {name: (pd.Timestamp(a), pd.Timestamp(b)) for name, (a, b) in dataset.splits.items()}
    return ObservedRecord(frame, splits, warmup_years)


def _simulate(simulator: GR4JCNSimulator, frame: pd.DataFrame) -> pd.Series:
    run = simulator.simulate_frame(frame, PRECIPITATION, TEMPERATURE)
    return pd.Series(run.discharge_m3s, index=frame.index)


class _SpotSetup:
    """spotpy's model interface: parameters → training NSE, signed for the algorithm.

    DDS maximises its objective, SCE-UA minimises it: SCE-UA gets −NSE, or it would search
    for the worst parameters.
    """

    def __init__(
        self, record: ObservedRecord, arch: dict, on_evaluation: Callable[[dict, float, float], None],
        minimises: bool = False,
    ):
        from spotpy.parameter import Uniform

        self.record, self.arch, self.on_evaluation = record, arch, on_evaluation
        self.sign = -1.0 if minimises else 1.0
        # spotpy draws a parameter's start point, step and bounds from the *unseeded* global RNG
        # when they are not given (median, decile gap, min and max of 100 000 draws, rounded), so
        # two searches with one seed started from slightly different points (X1 differed in the
        # 5th digit): give them, and a seed alone decides the search.
        self.params = [
            Uniform(name, low=low, high=high, optguess=(low + high) / 2, step=(high - low) / 10,
                    minbound=low, maxbound=high)
            for name, (low, high) in DEFAULT_BOUNDS.items()
        ]
        self.period = record.period("validation")

    def parameters(self):
        from spotpy.parameter import generate

        return generate(self.params)

    def simulation(self, vector) -> list[float]:
        values = dict(zip(PARAMETER_NAMES, (float(v) for v in vector), strict=True))
        simulator = from_parameters("calibration", self.arch, values)
        simulated = _simulate(simulator, self.period)
        scores = self.record.scores(simulated, ("train", "validation"))
        self.on_evaluation(values, scores["train"]["nse"], scores["validation"]["nse"])
        return [scores["train"]["nse"]]

    def evaluation(self) -> list[float]:
        return [1.0]

    def objectivefunction(self, simulation, evaluation, params=None) -> float:
        return self.sign * float(simulation[0])


class _Finished(Exception):
    """Raised from the objective to end spotpy's loop: the search converged or reached its cap."""


@dataclass
class _Search:
    """A search so far: its best parameter set, the best-so-far curves, and when it ends.

    ``seen`` hears every model run in the order spotpy makes them. After ``patience`` runs
    (0 = never) without a better training NSE, or at the ``cap``-th run, it raises
    :class:`_Finished`: SCE-UA checks its budget only between evolution loops (it ran 217
    runs for 200), so the cap is kept here, exactly, for both algorithms.
    """

    patience: int
    cap: int
    report: Callable[[int, float, float], None] | None = None
    best_train: float = -np.inf
    best_validation: float = np.nan
    best_values: dict | None = None
    best_run: int = 0  # 1-based; 0 = no finite score yet
    train_curve: list[float] = field(default_factory=list)
    validation_curve: list[float] = field(default_factory=list)

    def seen(self, values: dict, train_nse: float, validation_nse: float) -> None:
        run = len(self.train_curve) + 1
        if np.isfinite(train_nse) and train_nse > self.best_train:
            self.best_train, self.best_validation, self.best_values = train_nse, validation_nse, values
            self.best_run = run
        self.train_curve.append(1.0 - self.best_train)
        self.validation_curve.append(1.0 - self.best_validation)
        if self.report:
            self.report(run, self.train_curve[-1], self.validation_curve[-1])
        stalled = self.patience and run - self.best_run >= self.patience
        if stalled or run >= self.cap:
            raise _Finished


def _run_search(sampler, config: CalibrationConfig) -> None:
    """spotpy's loop up to ``calibration.evaluations`` runs, or until the search stalls."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(_Finished):  # spotpy prints a lot
        if config.algorithm == "sceua":
            sampler.sample(config.evaluations, ngs=len(PARAMETER_NAMES) + 1)
        else:
            sampler.sample(config.evaluations)


def calibrate_replicate(
    dataset: BasinDataset,
    config: CalibrationConfig,
    seed: int,
    on_evaluation: Callable[[int, float, float], None] | None = None,
) -> ReplicateResult:
    """One spotpy search from ``seed``; returns the best parameters and the best-so-far curve.

    The curve holds one entry per model run made: ``calibration.evaluations``, or fewer where
    the search stalled for ``calibration.patience`` runs (then its best run is the last improving one).
    """
    import spotpy

    record = observed_record(dataset, config.warmup_years)
    search = _Search(config.patience, config.evaluations, on_evaluation)
    started = time.perf_counter()
    setup = _SpotSetup(record, architecture(dataset, config), search.seen, config.algorithm == "sceua")
    algorithm = getattr(spotpy.algorithms, config.algorithm)
    _run_search(algorithm(setup, dbformat="ram", random_state=seed, save_sim=False), config)
    if search.best_values is None:
        raise RuntimeError(f"calibration seed {seed}: no parameter set gave a finite training NSE")
    state = {name: torch.tensor(value, dtype=torch.float64) for name, value in search.best_values.items()}
    return ReplicateResult(
        seed=seed, state_dict=state, train_loss=search.train_curve, validation_loss=search.validation_curve,
        best_epoch=search.best_run, seconds=time.perf_counter() - started,
    )


def simulate_record(dataset: BasinDataset, arch: dict, state_dict: dict, warmup_years: int) -> pd.Series:
    """Discharge (m³/s) over the whole scored record (warm-up to the end of the test split)."""
    record = observed_record(dataset, warmup_years)
    return _simulate(from_parameters("evaluation", arch, state_dict), record.period("test"))


def calibrate_replicates(
    dataset: BasinDataset,
    config: CalibrationConfig,
    cache_root: Path,
    observer: ReplicateObserver | None = None,
) -> TrainingOutcome:
    """Calibrate (or reuse) every replicate in ``config.seeds()`` and score it on every split."""
    arch = architecture(dataset, config)
    recipe = recipe_hash(config, dataset.fingerprint)
    cache = ReplicateCache(cache_root, recipe)
    record = observed_record(dataset, config.warmup_years)
    samples = {name: {"first_day": str(a.date()), "last_day": str(b.date()),
                      "observed_days": int(record.frame[DISCHARGE].loc[a:b].notna().sum())}
               for name, (a, b) in record.splits.items()}
    outcome = TrainingOutcome(recipe, arch, [], samples)
    missing = [seed for seed in config.seeds() if cache.load(seed) is None]
    parallel = calibration_workers(config, len(missing)) > 1
    if parallel:  # every search at once, each cached as it finishes; the loop below reuses them
        _calibrate_side_by_side(dataset, config, missing, cache)
    for seed in config.seeds():
        result = cache.load(seed)
        reused = result is not None and seed not in missing
        if observer:
            observer.replicate_started(seed, reused=reused)
        if result is None:
            report = (lambda n, tl, vl, s=seed: observer.epoch_finished(s, n, tl, vl)) if observer else None
            result = calibrate_replicate(dataset, config, seed, report)
            cache.save(result)
        elif not reused and observer:  # searched in another process: replay its curve run by run
            for run, losses in enumerate(zip(result.train_loss, result.validation_loss, strict=True), 1):
                observer.epoch_finished(seed, run, *losses)
        simulated = simulate_record(dataset, arch, result.state_dict, config.warmup_years)
        scores = record.scores(simulated, ("train", "validation", "test"))
        replicate = ReplicateOutcome(result, scores, reused)
        outcome.replicates.append(replicate)
        if observer:
            observer.replicate_finished(replicate)
    return outcome


def calibration_workers(config: CalibrationConfig, searches: int) -> int:
    """Processes for ``searches`` independent searches: ``calibration.workers``, else one per core."""
    wanted = config.workers or os.cpu_count() or 1
    return max(1, min(wanted, searches))


def _calibrate_side_by_side(
    dataset: BasinDataset, config: CalibrationConfig, seeds: list[int], cache: ReplicateCache
) -> None:
    """Run the searches of ``seeds`` side by side, one process each (Raven runs on one core).

    Each search is seeded alone, so running them in parallel gives the same
    parameters as one after another. Each is cached the moment it finishes, so
    a kill loses only the searches still running.
    """
    workers = calibration_workers(config, len(seeds))
    print(f"calibrating {len(seeds)} replicate(s) side by side in {workers} processes", flush=True)
    context = multiprocessing.get_context("spawn")  # no fork of a process holding torch threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(calibrate_replicate, dataset, config, seed) for seed in seeds]
        for future in as_completed(futures):
            cache.save(future.result())
