"""Models trained over a basin group, sequence-to-sequence, evaluated basin by basin in tiles.

Every model of a group study trains this way, so a comparison isolates what differs (the
training data, the network), never the protocol: the regional LSTM and the regional MC-LSTM
on every basin at once, and each basin's single-basin LSTM on its basin alone (a group of one,
:func:`~hydroprobe.data.regional.single_basin`).

* **Windows.** An epoch draws ``train.windows_per_epoch`` random ``train.window``-day windows
  from the basins' training splits; each predicts every day and the loss scores its last
  ``train.loss_span`` days (:mod:`hydroprobe.training.sequence`), so one forward pass trains on
  365 targets instead of one. A window never crosses basins and never scores a day outside its
  basin's training split.
* **NSE\\*** (Kratzert et al. 2019, HESS 23, 5089, eq. 3). Each window's squared errors are
  divided by ``(s_b + ε)²``, ``s_b`` the standard deviation of its basin's normalised training
  discharge, ε = 0.1. With one scaler for all basins a plain MSE would be dominated by the
  wettest, most variable basins; NSE* weighs every basin as its own NSE would.
* **Replicates** train stacked in the ensemble engine (:func:`~hydroprobe.training.ensemble.train_ensemble`:
  per-replicate generators, clipping, early stopping and the restored best epoch, checkpoints).
* **Early stopping** on ``1 − median validation NSE over basins``, the selection criterion.
* **Evaluation** runs each basin's record in tiles (:mod:`hydroprobe.data.tiles`): windows of the
  training length whose scored spans tile the record, all basins' tiles in one batched pass.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hydroprobe.data.basin import DISCHARGE, INPUTS
from hydroprobe.data.regional import RegionalData, RegionalWindows, regional_windows
from hydroprobe.data.splits import SPLIT_NAMES
from hydroprobe.data.tiles import Tiles, tiles
from hydroprobe.training import metrics
from hydroprobe.training.cache import ReplicateCache
from hydroprobe.training.checkpoint import Checkpoints
from hydroprobe.training.config import ModelConfig, TrainConfig, config_hash
from hydroprobe.training.ensemble import SequenceEpoch, train_ensemble
from hydroprobe.training.fingerprint import runtime_environment
from hydroprobe.training.replicates import ReplicateObserver
from hydroprobe.training.sequence import span_targets, training_ends
from hydroprobe.training.trainer import ReplicateResult

#: ε of the NSE* loss (Kratzert et al. 2019).
NSE_STAR_EPSILON = 0.1


def nse_star_weight(basin_std: float) -> float:
    """``1 / (s_b + ε)²``: the weight of a basin's squared errors in the NSE* loss."""
    return 1.0 / (basin_std + NSE_STAR_EPSILON) ** 2


def group_architecture(model: ModelConfig, data: RegionalData) -> dict:
    """The ``build_model`` dict of a kind trained on ``data``: P, T and the attributes as inputs."""
    n_inputs = len(INPUTS) + len(data.static.names)
    architecture = {"type": model.type, "n_inputs": n_inputs, "hidden_size": model.hidden_size}
    return {**architecture, **model.kind.group_architecture_extras(data, dataclasses.asdict(model))}


class GroupSplit:
    """The training windows of many basins, drawn as one pool: ends, loss-day bounds and NSE* weights.

    Has :class:`~hydroprobe.training.sequence.SequenceSplit`'s interface (``ends``, ``loss_span``,
    ``batch``, ``weights``), so the ensemble engine's seq2seq epoch trains on it unchanged.
    """

    def __init__(self, windows: RegionalWindows, loss_span: int):
        self.loss_span = loss_span
        rows = len(windows.series.target)
        self._first = np.zeros(rows, dtype=np.int64)
        self._last = np.zeros(rows, dtype=np.int64)
        self._weight = np.zeros(rows, dtype=np.float32)
        ends = []
        for basin_id, index in windows.samples["train"].items():
            if index.days.size == 0:
                continue
            basin_ends = training_ends(windows.series, index.days, loss_span)
            self._first[basin_ends] = index.days.min()
            self._last[basin_ends] = index.days.max()
            self._weight[basin_ends] = nse_star_weight(windows.basin_std[basin_id])
            ends.append(basin_ends)
        self.ends = np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)

    def batch(self, series, picks) -> tuple[torch.Tensor, torch.Tensor]:
        """Input windows and span targets (NaN outside each window's basin split) ending on ``picks``."""
        picks = np.asarray(picks)
        first = torch.as_tensor(self._first[picks])[:, None]
        last = torch.as_tensor(self._last[picks])[:, None]
        return series.windows(picks), span_targets(series, picks, self.loss_span, first, last)

    def weights(self, picks: np.ndarray) -> torch.Tensor:
        """Each window's NSE* weight, shaped like ``picks``."""
        return torch.as_tensor(self._weight[np.asarray(picks)])


def basin_tiles(
    windows: RegionalWindows, data: RegionalData, split: str, window: int, span: int
) -> dict[str, Tiles]:
    """Per basin, the tiles predicting its days of ``split`` (rows of the concatenated series)."""
    start, end = data.splits[split]
    out = {}
    for basin_id in data.basin_ids:
        dates = data.series[basin_id].frame.index
        days = np.flatnonzero((dates >= start) & (dates <= end))
        out[basin_id] = tiles(days, len(dates), window, span, windows.offsets[basin_id])
    return out


@torch.no_grad()
def scored_days(
    model: nn.Module, series, plan: dict[str, Tiles], span: int, batch_size: int, device: torch.device
) -> dict[str, np.ndarray]:
    """Each basin's predicted days, ``(R, days)`` normalised (R = 1 for a single model), in one batched pass.

    Windows holding a missing forcing value give NaN for their days.
    """
    model.eval()
    ends = np.concatenate([t.ends for t in plan.values()])
    parts = []
    for start in range(0, len(ends), batch_size):
        x = series.windows(ends[start : start + batch_size]).to(device)
        out = model.forward_sequence(x)[..., -span:].float().cpu()
        parts.append(out if out.dim() == 3 else out.unsqueeze(0))
    scored = torch.cat(parts, dim=1).numpy()
    out, at = {}, 0
    for basin_id, one in plan.items():
        out[basin_id] = one.gather(scored[:, at : at + len(one.ends)])
        at += len(one.ends)
    return out


def nse_rows(observed: np.ndarray, simulated: np.ndarray) -> np.ndarray:
    """NSE of each row of ``simulated`` ``(R, days)`` against ``observed``, over days both have."""
    return np.array([metrics.nse(observed, row) for row in simulated])


@dataclass
class GroupValidation:
    """``1 − median validation NSE over basins`` of each stacked replicate: the early-stopping loss."""

    windows: RegionalWindows
    plan: dict[str, Tiles]
    span: int
    batch_size: int
    device: torch.device

    def __call__(self, model: nn.Module) -> list[float]:
        predicted = scored_days(
            model, self.windows.series, self.plan, self.span, self.batch_size, self.device
        )
        target = self.windows.series.target.numpy()
        scores = np.stack(
            [nse_rows(target[self.plan[b].days], p) for b, p in predicted.items()]
        )  # (basins, R)
        return (1.0 - np.nanmedian(scores, axis=0)).tolist()


def group_epoch(
    data: RegionalData, windows: RegionalWindows, config: TrainConfig, device: torch.device
) -> SequenceEpoch:
    """The ensemble engine's seq2seq epoch over a group: pooled NSE* windows, median-NSE validation."""
    plan = basin_tiles(windows, data, "validation", config.window, config.loss_span)
    validate = GroupValidation(windows, plan, config.loss_span, config.eval_batch_size, device)
    return SequenceEpoch(GroupSplit(windows, config.loss_span), validate)


def check_samples(windows: RegionalWindows, data: RegionalData, config: TrainConfig) -> None:
    """Every basin needs training and validation windows, or the error names the basins and the fix."""
    for split in ("train", "validation"):
        empty = [b for b, index in windows.samples[split].items() if index.days.size < 2]
        if empty:
            raise ValueError(
                f"group {data.group_id}: split '{split}' has fewer than 2 observed days with a complete "
                f"{config.window}-day window in basin(s) {', '.join(empty)}. "
                "Fix: shorten train.window or widen the split."
            )


@dataclass
class GroupReplicate:
    """One trained replicate and its per-basin scores."""

    result: ReplicateResult
    metrics: dict[str, dict[str, dict[str, float]]]  # basin → split → metric (m³/s)
    reused: bool = False

    @property
    def seed(self) -> int:
        return self.result.seed

    @property
    def validation_nse(self) -> float:
        """Median validation NSE over basins: the selection criterion."""
        return median_over_basins(self.metrics, "validation", "nse")


@dataclass
class GroupOutcome:
    """Every replicate of one model of a group, the replicate ensemble's scores, and the recipe."""

    config_hash: str
    architecture: dict
    replicates: list[GroupReplicate]
    ensemble_metrics: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    samples: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # basin → split → counts
    seconds: float = 0.0

    @property
    def best(self) -> GroupReplicate:
        """Highest median validation NSE over basins (ties: lowest seed)."""
        return max(self.replicates, key=lambda r: (r.validation_nse, -r.seed))

    @property
    def ensemble_validation_nse(self) -> float:
        return median_over_basins(self.ensemble_metrics, "validation", "nse")


def median_over_basins(scores: dict[str, dict[str, dict[str, float]]], split: str, name: str) -> float:
    return float(np.nanmedian([basin[split][name] for basin in scores.values()]))


def basin_predictions(
    architecture: dict, states: list[dict], data: RegionalData, config: TrainConfig, device: torch.device
) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """``[basin][split]`` → ``days`` (rows of the basin's series), ``observed`` and ``simulated`` m³/s.

    ``states``: one replicate's weights, or several, whose mean discharge is the replicate ensemble.
    """
    from hydroprobe.training.trainer import init_model

    windows = regional_windows(data, config.window)
    simulated: dict[str, dict[str, list[np.ndarray]]] = {
        b: {s: [] for s in SPLIT_NAMES} for b in data.basin_ids
    }
    plans = {s: basin_tiles(windows, data, s, config.window, config.loss_span) for s in SPLIT_NAMES}
    for state in states:
        model = init_model(architecture, 0)
        model.load_state_dict(state)
        model.to(device)
        for split, plan in plans.items():
            for basin_id, values in scored_days(
                model, windows.series, plan, config.loss_span, config.eval_batch_size, device
            ).items():
                simulated[basin_id][split].append(values[0])
    out: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for basin_id in data.basin_ids:
        scaler = data.basin_scaler(basin_id)
        observed = data.series[basin_id].frame[DISCHARGE].to_numpy()
        out[basin_id] = {}
        for split, plan in plans.items():
            days = plan[basin_id].days - windows.offsets[basin_id]
            mean = np.mean(np.stack(simulated[basin_id][split]), axis=0)
            out[basin_id][split] = {
                "days": days,
                "observed": observed[days],
                "simulated": scaler.inverse(mean, DISCHARGE),
            }
    return out


def basin_metrics(predictions: dict) -> dict[str, dict[str, dict[str, float]]]:
    """NSE, KGE, RMSE and r per basin per split, in m³/s, from :func:`basin_predictions`."""
    return {
        basin_id: {split: metrics.all_metrics(p["observed"], p["simulated"]) for split, p in splits.items()}
        for basin_id, splits in predictions.items()
    }


def train_group_replicates(
    data: RegionalData,
    model: ModelConfig,
    train: TrainConfig,
    cache_root: Path,
    device: torch.device,
    observer: ReplicateObserver | None = None,
) -> GroupOutcome:
    """Train (or reuse from the cache) every replicate of ``train.seeds()``; score each and their mean."""
    if train.mode != "seq2seq":
        raise ValueError(
            f"group models train sequence-to-sequence (train.mode seq2seq); got "
            f"train.mode {train.mode!r}. Fix: remove it from group.train or set seq2seq"
        )
    began = time.perf_counter()
    windows = regional_windows(data, train.window)
    check_samples(windows, data, train)
    architecture = group_architecture(model, data)
    environment = runtime_environment(device, "ensemble", model.type)
    recipe = config_hash(model, train, data.fingerprint, environment)
    cache = ReplicateCache(cache_root, recipe)
    samples = {b: {s: windows.samples[s][b].report() for s in SPLIT_NAMES} for b in data.basin_ids}
    results = _cached_or_trained(architecture, data, windows, train, cache, device, observer)
    outcome = GroupOutcome(recipe, architecture, [], samples=samples)
    for seed in train.seeds():
        result, reused = results[seed]
        predictions = basin_predictions(architecture, [result.state_dict], data, train, device)
        replicate = GroupReplicate(result, basin_metrics(predictions), reused)
        outcome.replicates.append(replicate)
        if observer:
            observer.replicate_finished(replicate)  # type: ignore[arg-type]
    states = [results[seed][0].state_dict for seed in train.seeds()]
    outcome.ensemble_metrics = basin_metrics(basin_predictions(architecture, states, data, train, device))
    outcome.seconds = time.perf_counter() - began
    return outcome


def _cached_or_trained(
    architecture: dict,
    data: RegionalData,
    windows: RegionalWindows,
    train: TrainConfig,
    cache: ReplicateCache,
    device: torch.device,
    observer: ReplicateObserver | None,
) -> dict[int, tuple[ReplicateResult, bool]]:
    """Each seed's result and whether it came from the cache; the missing ones trained stacked."""
    results: dict[int, tuple[ReplicateResult, bool]] = {}
    missing = []
    for seed in train.seeds():
        cached = cache.load(seed)
        if cached is None:
            missing.append(seed)
            continue
        results[seed] = (cached, True)
        if observer:
            observer.replicate_started(seed, reused=True)
    if not missing:
        return results

    def started(seed: int, resumed_epoch: int) -> None:
        if observer:
            observer.replicate_started(seed, reused=False, resumed_epoch=resumed_epoch)

    epoch = group_epoch(data, windows, train, device)
    checkpoints = Checkpoints(cache.folder, train.checkpoint_minutes)
    for result in train_ensemble(
        architecture,
        windows.series,
        epoch.training.ends,
        epoch.training.ends,
        train,
        missing,
        device,
        observer.epoch_finished if observer else None,
        max_group=len(missing),
        checkpoints=checkpoints,
        on_start=started,
        sequence=epoch,
    ):
        cache.save(result)
        results[result.seed] = (result, False)
    return results
