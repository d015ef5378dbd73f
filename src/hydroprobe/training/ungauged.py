"""Prediction in ungauged basins: k-fold over basins, each fold predicted by a model that never saw it.

The regional literature's test of transfer (Kratzert et al. 2019, "Toward
improved predictions in ungauged basins"): split the group's basins into k
folds; for each fold, train the regional model on the other basins (scalers
refitted on them alone, :func:`~hydroprobe.data.regional.hold_out`) and predict
the held-out basins from their forcing and static attributes. Every basin is
predicted exactly once, by a model trained without its discharge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hydroprobe.data.regional import RegionalData, hold_out
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.regional import basin_metrics, basin_predictions, train_group_replicates
from hydroprobe.training.replicates import ReplicateObserver


def basin_folds(basin_ids: list[str], folds: int) -> list[list[str]]:
    """``folds`` groups of basins dealt round-robin in the given order (deterministic; sizes differ ≤ 1)."""
    if not 2 <= folds <= len(basin_ids):
        raise ValueError(f"group.ungauged_folds must be between 2 and the group's {len(basin_ids)} basins "
                         f"(got {folds}); 0 turns prediction in ungauged basins off")
    return [basin_ids[k::folds] for k in range(folds)]


@dataclass
class UngaugedBasin:
    """One held-out basin: its fold, the basins its model trained on, and its predictions and scores."""

    fold: int
    trained_on: list[str]
    predictions: dict[str, dict[str, np.ndarray]]  # split → days, observed, simulated (m³/s)
    metrics: dict[str, dict[str, float]]  # split → metric


def predict_ungauged(
    data: RegionalData, model: ModelConfig, train: TrainConfig, folds: int, cache_root: Path,
    device: torch.device, observer: ReplicateObserver | None = None,
) -> dict[str, UngaugedBasin]:
    """Every basin of ``data`` predicted by the replicate ensemble of a model trained on the other folds."""
    out: dict[str, UngaugedBasin] = {}
    for fold, held in enumerate(basin_folds(data.basin_ids, folds)):
        training, ungauged = hold_out(data, held)
        print(f"fold {fold + 1}/{folds}: training on {len(training.basin_ids)} basins, "
              f"predicting {len(held)}", flush=True)
        outcome = train_group_replicates(training, model, train, cache_root, device, observer)
        states = [r.result.state_dict for r in outcome.replicates]
        predictions = basin_predictions(outcome.architecture, states, ungauged, train, device)
        scores = basin_metrics(predictions)
        for basin_id in held:
            out[basin_id] = UngaugedBasin(fold, training.basin_ids, predictions[basin_id], scores[basin_id])
    return {basin_id: out[basin_id] for basin_id in data.basin_ids}
