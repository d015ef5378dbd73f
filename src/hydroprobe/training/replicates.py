"""N replicates from different seeds, reused after a crash, the best selected (paper §2.3).

Finished replicates are cached on disk under ``<cache>/<config hash>/`` as a
weights-only ``state_dict`` and a JSON record, written atomically, so an
interrupted run loses no finished work: the rerun trains only what is
missing. Unfinished replicates are checkpointed in the same folder
(``checkpoint_*.pt``, see :mod:`hydroprobe.training.checkpoint`), so it loses
at most ``train.checkpoint_minutes`` of training either. Selection looks
only at validation NSE; test metrics are computed for every replicate but
never consulted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from hydroprobe.config import require
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.data.splits import SPLIT_NAMES
from hydroprobe.data.windows import SampleIndex, WindowedSeries
from hydroprobe.training import metrics
from hydroprobe.training.cache import ReplicateCache
from hydroprobe.training.checkpoint import Checkpoints
from hydroprobe.training.config import ModelConfig, TrainConfig, config_hash
from hydroprobe.training.ensemble import MAX_GROUP, train_ensemble
from hydroprobe.training.sequence import replicate_trainer
from hydroprobe.training.trainer import (
    ReplicateResult,
    checkpoint_name,
    init_model,
    predict_normalized,
)


class ReplicateObserver(Protocol):
    """What a tracker (MLflow, a progress bar) hears while replicates train."""

    def replicate_started(self, seed: int, reused: bool, resumed_epoch: int = 0) -> None:
        """``resumed_epoch`` > 0: training continues from a checkpoint holding that many epochs."""

    def epoch_finished(self, seed: int, epoch: int, train_loss: float, validation_loss: float) -> None: ...

    def replicate_finished(self, outcome: ReplicateOutcome) -> None: ...


@dataclass
class ReplicateOutcome:
    result: ReplicateResult
    metrics: dict[str, dict[str, float]]  # split → metric → value, physical units
    reused: bool = False

    @property
    def seed(self) -> int:
        return self.result.seed


@dataclass
class TrainingOutcome:
    """All replicates of one training invocation and the selected one."""

    config_hash: str
    architecture: dict
    replicates: list[ReplicateOutcome]
    samples: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def best(self) -> ReplicateOutcome:
        """Highest validation NSE (ties: lowest seed). Test metrics play no part."""
        return max(self.replicates, key=lambda o: (o.metrics["validation"]["nse"], -o.seed))

    def distribution(self) -> dict[str, dict[str, dict[str, float]]]:
        """Median, 5th and 95th percentile of each metric over replicates, per split."""
        out: dict[str, dict[str, dict[str, float]]] = {}
        for split in SPLIT_NAMES:
            out[split] = {}
            for name in metrics.METRICS:
                out[split][name] = metrics.spread([o.metrics[split][name] for o in self.replicates])
        return out


def split_samples(dataset: BasinDataset, series: WindowedSeries) -> dict[str, SampleIndex]:
    return {name: series.sample_index(*dataset.splits[name]) for name in SPLIT_NAMES}


def training_samples(dataset: BasinDataset, window: int) -> int:
    """The training split's samples with ``window``-day windows: what one seq2one epoch passes over."""
    return int(dataset.windowed(window).sample_index(*dataset.splits["train"]).days.size)


def simulate_physical(
    architecture: dict,
    state_dict: dict,
    dataset: BasinDataset,
    series: WindowedSeries,
    days: np.ndarray,
    batch_size: int,
    device: torch.device,
) -> np.ndarray:
    """Discharge (m³/s) for windows ending on ``days``."""
    model = init_model(architecture, 0)
    model.load_state_dict(state_dict)
    model.to(device)
    normalised = predict_normalized(model, series, days, batch_size, device)
    return dataset.scaler.inverse(normalised, "discharge")


def evaluate(
    architecture: dict,
    result: ReplicateResult,
    dataset: BasinDataset,
    series: WindowedSeries,
    samples: dict[str, SampleIndex],
    batch_size: int,
    device: torch.device,
) -> dict[str, dict[str, float]]:
    """RMSE, r, NSE, KGE per split in m³/s."""
    scores = {}
    for split, index in samples.items():
        simulated = simulate_physical(
            architecture, result.state_dict, dataset, series, index.days, batch_size, device
        )
        scores[split] = metrics.all_metrics(dataset.observed(index.days), simulated)
    return scores


@dataclass
class TrainingPlan:
    """What every replicate of one invocation shares: data, windows, recipe, cache and the outcome so far."""

    dataset: BasinDataset
    config: TrainConfig
    series: WindowedSeries
    samples: dict[str, SampleIndex]
    architecture: dict
    cache: ReplicateCache
    outcome: TrainingOutcome
    device: torch.device

    def finish(self, result: ReplicateResult, reused: bool, observer: ReplicateObserver | None) -> None:
        """Evaluate a trained (or cached) replicate and add it to the outcome."""
        scores = evaluate(self.architecture, result, self.dataset, self.series, self.samples,
                          self.config.eval_batch_size, self.device)
        replicate = ReplicateOutcome(result, scores, reused)
        self.outcome.replicates.append(replicate)
        if observer:
            observer.replicate_finished(replicate)

    def reuse_cached(self, observer: ReplicateObserver | None) -> list[int]:
        """Take every cached seed into the outcome; return the seeds still to train."""
        missing: list[int] = []
        for seed in self.config.seeds():
            cached = self.cache.load(seed)
            if cached is None:
                missing.append(seed)
                continue
            if observer:
                observer.replicate_started(seed, reused=True)
            self.finish(cached, reused=True, observer=observer)
        return missing


def plan_training(
    dataset: BasinDataset,
    model_config: ModelConfig,
    train_config: TrainConfig,
    cache_root: Path,
    device: torch.device,
    group_size: int = 0,
) -> TrainingPlan:
    """Check the recipe, window the data, resolve its epoch budget and find the recipe's cache folder.

    The plan's ``config`` holds the budget for this record (:meth:`TrainConfig.budgeted`): what
    every engine trains and the cache key names.
    """
    kind = model_config.kind
    require(
        train_config.engine != "ensemble" or train_config.mode in kind.stacked_modes,
        "train.engine",
        f"= ensemble stacks {model_config.type} replicates in train.mode {kind.stacked_modes or 'none'}, "
        f"not {train_config.mode}; use auto or sequential",
    )
    series = dataset.windowed(train_config.window)
    samples = split_samples(dataset, series)
    for name, index in samples.items():
        if index.days.size == 0:
            raise ValueError(f"split '{name}' has no usable samples with window {train_config.window}")
    budgeted = train_config.budgeted(samples["train"].days.size)
    architecture = model_config.architecture(dataset)
    recipe = config_hash(model_config, budgeted, dataset.fingerprint, group_size=group_size)
    outcome = TrainingOutcome(recipe, architecture, [], {k: v.report() for k, v in samples.items()})
    return TrainingPlan(dataset, budgeted, series, samples, architecture,
                        ReplicateCache(cache_root, recipe), outcome, device)


def train_replicates(
    dataset: BasinDataset,
    model_config: ModelConfig,
    train_config: TrainConfig,
    cache_root: Path,
    device: torch.device,
    observer: ReplicateObserver | None = None,
    group_size: int = 0,
) -> TrainingOutcome:
    """Train (or reuse) every replicate in ``train_config.seeds()`` and evaluate it.

    ``group_size`` > 0 stacks at most that many replicates at once in the ensemble
    engine (``execution.replicates_per_task``); 0 keeps the engine's own grouping.
    """
    plan = plan_training(dataset, model_config, train_config, cache_root, device, group_size)
    missing = plan.reuse_cached(observer)
    checkpoints = Checkpoints(plan.cache.folder, plan.config.checkpoint_minutes)
    for result in _train(plan.architecture, plan.series, plan.samples, plan.config, missing, device,
                         observer, checkpoints, group_size):
        plan.cache.save(result)
        plan.finish(result, reused=False, observer=observer)
    plan.outcome.replicates.sort(key=lambda o: o.seed)
    return plan.outcome


def resolved_engine(config: TrainConfig, architecture: dict, device: torch.device) -> str:
    """``auto`` → the ensemble engine for kinds that stack, the sequential reference otherwise
    (and for a few replicates on CUDA: :func:`~hydroprobe.training.fingerprint.resolve_engine`)."""
    return config.resolved_engine(architecture["type"], device)


def replicate_groups(seeds: Sequence[int], config: TrainConfig, architecture: dict,
                     device: torch.device, group_size: int = 0) -> list[list[int]]:
    """The seeds in the groups the in-process engine trains together (the units of a distributed run).

    The ensemble engine's numbers depend, in the last bits, on which replicates share a
    group (measured: seed 2 alone vs with seeds 0–1 differ from epoch 2), so a
    distributed run groups exactly as the in-process run with the same ``group_size``.
    """
    if resolved_engine(config, architecture, device) == "ensemble":
        size = group_size or ensemble_group_size(len(seeds), device)
    else:
        size = group_size or 1  # sequential replicates are independent: one per unit
    return [list(seeds[i : i + size]) for i in range(0, len(seeds), size)]


def train_seeds(
    seeds: list[int],
    architecture: dict,
    series: WindowedSeries,
    samples: dict[str, SampleIndex],
    config: TrainConfig,
    group_size: int = 0,
) -> list[ReplicateResult]:
    """Train ``seeds`` (one group) from scratch on ``config.device``; the body of a distributed unit.

    Pure: no cache, no checkpoints, no observer; the curves travel in the results.
    The device is resolved where the unit runs, which may have a GPU the driver lacks.
    """
    from hydroprobe.training.device import configure_cpu, resolve_device

    configure_cpu(0)  # flush denormals as in-process; the thread count is pinned by the caller
    results = list(_train(architecture, series, samples, config, seeds,
                          resolve_device(config.device), None, None, group_size))
    return sorted(results, key=lambda r: r.seed)


def ensemble_group_size(replicates: int, device: torch.device) -> int:
    """Replicates stacked at once: all of them on a GPU, :data:`MAX_GROUP` on a CPU.

    On an H100 the ensemble beat cuDNN's ``nn.LSTM`` only from ~100 stacked replicates
    (2.1–2.5× at 100, 0.4–0.5× at 16; benchmarks/RESULTS.md), so groups of 32 would make the
    paper's 100 replicates slower there; 100 replicates took 12.8 GB. On a CPU the group bounds
    the memory (~95 MB per replicate at the paper's size).
    """
    return max(1, replicates) if device.type == "cuda" else MAX_GROUP


def _train(
    architecture: dict,
    series: WindowedSeries,
    samples: dict[str, SampleIndex],
    config: TrainConfig,
    seeds: Sequence[int],
    device: torch.device,
    observer: ReplicateObserver | None,
    checkpoints: Checkpoints | None = None,
    group_size: int = 0,
):
    """Yield finished replicates as they finish, on the engine ``config.engine`` names.

    ``auto`` takes the ensemble engine where the kind stacks in ``train.mode`` (the LSTM
    seq2one, the MC-LSTM in both modes: faster, same results to float rounding; see
    benchmarks/RESULTS.md) and the sequential reference otherwise.
    The consumer caches each result before asking for the next, so a
    checkpoint is deleted only once what it protected is in the cache.
    """
    engine = resolved_engine(config, architecture, device) if seeds else "sequential"

    def started(seed: int, resumed_epoch: int) -> None:
        if observer:
            observer.replicate_started(seed, reused=False, resumed_epoch=resumed_epoch)

    days = (samples["train"].days, samples["validation"].days)
    if engine == "ensemble":
        yield from train_ensemble(
            architecture, series, *days, config, list(seeds), device,
            observer.epoch_finished if observer else None,
            max_group=group_size or ensemble_group_size(len(seeds), device), checkpoints=checkpoints,
            on_start=started,
        )
        return
    for seed in seeds:

        def on_epoch(epoch: int, train_loss: float, validation_loss: float, seed: int = seed) -> None:
            if observer:
                observer.epoch_finished(seed, epoch, train_loss, validation_loss)

        saved = checkpoints.load(checkpoint_name(seed)) if checkpoints else None
        started(seed, saved["epoch"] if saved else 0)
        yield replicate_trainer(config)(
            architecture, series, *days, config, seed, device, on_epoch, checkpoints=checkpoints, resume=saved
        )
        if checkpoints:
            checkpoints.delete(checkpoint_name(seed))
