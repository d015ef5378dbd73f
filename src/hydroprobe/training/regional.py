"""One LSTM trained on every basin of a group at once, with the NSE* loss, evaluated basin by basin.

The loss is Kratzert et al. (2019, HESS 23, 5089), eq. 3: each sample's
squared error is divided by ``(s_b + ε)²``, ``s_b`` the standard deviation of
its basin's normalised training discharge, ε = 0.1. With one scaler for all
basins (``hydroprobe.data.regional``) a plain MSE would be dominated by the
wettest, most variable basins; NSE* weighs every basin as its own NSE would,
so a dry basin's errors count as much as a wet one's relative to its flow.
ε keeps a near-constant basin from an unbounded weight.

The random-number protocol is the single-basin trainer's
(:mod:`hydroprobe.training.trainer`): the seed alone fixes the initial
weights and, through a private generator, the order of samples each epoch;
early stopping on the validation NSE* loss restores the best epoch. Replicate
``k`` uses seed ``seed + k``; the selected replicate has the highest **median
validation NSE over basins** (ties: lowest seed); test metrics are computed
but never consulted. Finished replicates are cached by recipe hash and seed
(:class:`~hydroprobe.training.cache.ReplicateCache`), and an unfinished one is
checkpointed every ``train.checkpoint_minutes`` like a single-basin replicate (the
trainer's own :func:`~hydroprobe.training.trainer.run_epochs`), so a killed group run
resumes mid-replicate with the numbers it would have had.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hydroprobe.data.basin import DISCHARGE
from hydroprobe.data.regional import RegionalData, RegionalWindows, regional_windows
from hydroprobe.data.splits import SPLIT_NAMES
from hydroprobe.training import metrics
from hydroprobe.training.cache import ReplicateCache
from hydroprobe.training.checkpoint import Checkpoints
from hydroprobe.training.config import ModelConfig, TrainConfig, config_hash
from hydroprobe.training.fingerprint import runtime_environment
from hydroprobe.training.replicates import ReplicateObserver
from hydroprobe.training.trainer import (
    EpochCallback,
    ReplicateResult,
    checkpoint_name,
    init_model,
    predict_normalized,
    run_epochs,
    start_training,
    train_epoch,
)

#: ε of the NSE* loss (Kratzert et al. 2019).
NSE_STAR_EPSILON = 0.1
MODEL_TYPE = "regional_lstm"
N_DYNAMIC = 2  # precipitation, temperature


def nse_star_loss(predicted: torch.Tensor, observed: torch.Tensor, basin_std: torch.Tensor) -> torch.Tensor:
    """Mean over samples of ``(ŷ − y)² / (s_b + ε)²``; ``basin_std`` holds each sample's s_b."""
    weights = 1.0 / (basin_std + NSE_STAR_EPSILON) ** 2
    return torch.mean(weights * (predicted - observed) ** 2)


def regional_architecture(model: ModelConfig, n_static: int) -> dict:
    """The ``build_model`` dict: the paper's LSTM with ``2 + n_static`` inputs."""
    return {
        "type": MODEL_TYPE,
        "n_inputs": N_DYNAMIC + n_static,
        "hidden_size": model.hidden_size,
        "initial_forget_bias": model.initial_forget_bias,
        "n_static": n_static,
    }


@torch.no_grad()
def split_loss(
    model: nn.Module, windows: RegionalWindows, days: np.ndarray, config: TrainConfig, device: torch.device
) -> float:
    """NSE* loss over ``days`` (global rows), the early-stopping criterion."""
    predicted = torch.as_tensor(
        predict_normalized(model, windows.series, days, config.eval_batch_size, device)
    )
    rows = torch.as_tensor(days)
    return float(nse_star_loss(predicted, windows.series.target[rows], windows.row_std[rows]))


def train_regional_replicate(
    architecture: dict,
    windows: RegionalWindows,
    config: TrainConfig,
    seed: int,
    device: torch.device,
    on_epoch: EpochCallback | None = None,
    checkpoints: Checkpoints | None = None,
    resume: dict | None = None,
) -> ReplicateResult:
    """Train one replicate on all basins' training rows; best validation-NSE* epoch restored.

    ``checkpoints`` / ``resume``: as :func:`~hydroprobe.training.trainer.train_replicate`.
    """
    began = time.perf_counter()
    state = start_training(architecture, config, seed, device, resume)
    train_index = torch.as_tensor(windows.days("train"))
    validation_days = windows.days("validation")

    def batch_nse_star(rows: torch.Tensor) -> torch.Tensor:
        x, y = windows.series.batch(rows)
        return nse_star_loss(state.model(x.to(device)), y.to(device), windows.row_std[rows].to(device))

    def epoch() -> tuple[float, float]:
        train_loss = train_epoch(state, train_index, config, batch_nse_star)
        return train_loss, split_loss(state.model, windows, validation_days, config, device)

    return run_epochs(state, epoch, config, checkpoint_name(seed), began, on_epoch, checkpoints)


def basin_predictions(
    architecture: dict,
    state_dict: dict,
    data: RegionalData,
    windows: RegionalWindows,
    batch_size: int,
    device: torch.device,
) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """``[basin][split]`` → ``days`` (rows of the basin's own series), ``observed`` and ``simulated`` m³/s."""
    model = init_model(architecture, 0)
    model.load_state_dict(state_dict)
    model.to(device)
    out: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for basin_id in data.basin_ids:
        scaler = data.basin_scaler(basin_id)
        observed = data.series[basin_id].frame[DISCHARGE].to_numpy()
        out[basin_id] = {}
        for split in SPLIT_NAMES:
            rows = windows.samples[split][basin_id].days
            normalised = predict_normalized(model, windows.series, rows, batch_size, device)
            days = windows.local_days(split, basin_id)
            out[basin_id][split] = {
                "days": days,
                "observed": observed[days],
                "simulated": scaler.inverse(normalised, DISCHARGE),
            }
    return out


def basin_metrics(predictions: dict) -> dict[str, dict[str, dict[str, float]]]:
    """NSE, KGE, RMSE and r per basin per split, in m³/s, from :func:`basin_predictions`."""
    return {
        basin_id: {split: metrics.all_metrics(p["observed"], p["simulated"]) for split, p in splits.items()}
        for basin_id, splits in predictions.items()
    }


def median_over_basins(scores: dict[str, dict[str, dict[str, float]]], split: str, name: str) -> float:
    return float(np.median([basin[split][name] for basin in scores.values()]))


@dataclass
class RegionalReplicate:
    result: ReplicateResult
    metrics: dict[str, dict[str, dict[str, float]]]  # basin → split → metric
    reused: bool = False

    @property
    def seed(self) -> int:
        return self.result.seed

    @property
    def validation_nse(self) -> float:
        """Median validation NSE over basins: the selection criterion."""
        return median_over_basins(self.metrics, "validation", "nse")


@dataclass
class RegionalOutcome:
    config_hash: str
    architecture: dict
    replicates: list[RegionalReplicate]
    samples: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # basin → split → counts

    @property
    def best(self) -> RegionalReplicate:
        """Highest median validation NSE over basins (ties: lowest seed)."""
        return max(self.replicates, key=lambda r: (r.validation_nse, -r.seed))


def train_regional_replicates(
    data: RegionalData,
    model: ModelConfig,
    train: TrainConfig,
    cache_root: Path,
    device: torch.device,
    observer: ReplicateObserver | None = None,
) -> RegionalOutcome:
    """Train (or reuse from the cache) every replicate of ``train.seeds()`` and evaluate it per basin."""
    windows = regional_windows(data, train.window)
    for split in SPLIT_NAMES:
        empty = [b for b, index in windows.samples[split].items() if index.days.size < 2]
        if empty:
            raise ValueError(
                f"group {data.group_id}: split '{split}' has fewer than 2 usable samples with window "
                f"{train.window} in basin(s) {', '.join(empty)}. "
                "Fix: shorten train.window or widen the split."
            )
    architecture = regional_architecture(model, len(data.static.names))
    model = ModelConfig(MODEL_TYPE, model.hidden_size, model.initial_forget_bias)
    environment = runtime_environment(device, "sequential", model.type)
    recipe = config_hash(model, train, data.fingerprint, environment)
    cache = ReplicateCache(cache_root, recipe)
    checkpoints = Checkpoints(cache.folder, train.checkpoint_minutes)
    samples = {b: {s: windows.samples[s][b].report() for s in SPLIT_NAMES} for b in data.basin_ids}
    outcome = RegionalOutcome(recipe, architecture, [], samples)
    for seed in train.seeds():
        result = cache.load(seed)
        reused = result is not None
        saved = None if reused else checkpoints.load(checkpoint_name(seed))
        if observer:
            observer.replicate_started(seed, reused=reused, resumed_epoch=saved["epoch"] if saved else 0)
        if result is None:

            def on_epoch(epoch: int, loss: float, validation: float, seed: int = seed) -> None:
                if observer:
                    observer.epoch_finished(seed, epoch, loss, validation)

            result = train_regional_replicate(architecture, windows, train, seed, device, on_epoch,
                                              checkpoints, saved)
            cache.save(result)
            checkpoints.delete(checkpoint_name(seed))
        predictions = basin_predictions(
            architecture, result.state_dict, data, windows, train.eval_batch_size, device
        )
        replicate = RegionalReplicate(result, basin_metrics(predictions), reused)
        outcome.replicates.append(replicate)
        if observer:
            observer.replicate_finished(replicate)  # type: ignore[arg-type]
    return outcome
