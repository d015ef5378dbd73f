"""Skill of the replicate ensemble's mean, per split, from the members' discharge in m³/s.

The selected replicate is one draw of a noisy selection (issue 14: validation
and test NSE rank replicates with ρ ≈ 0.4); the mean of all replicates is the
field's more reliable model (Kratzert et al. 2019). Its scores are computed
here with the same metric functions as every replicate's
(:mod:`hydroprobe.training.metrics`), on the mean of the members' physical
discharge (not of normalised outputs), so they are comparable number for
number with the replicates' in ``metrics/train.json``.
"""

from __future__ import annotations

import numpy as np
import torch

from hydroprobe.data.basin import DISCHARGE
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.models.replicate_ensemble import mean_of
from hydroprobe.training import metrics
from hydroprobe.training.calibration import observed_record, simulate_record
from hydroprobe.training.replicates import TrainingOutcome, simulate_physical, split_samples

#: How the ensemble combines its members, stated in ``metrics/train.json``.
COMBINATION = "mean of the members' discharge (m³/s), day by day"


def ensemble_scores(
    observed: dict[str, np.ndarray], members: dict[str, list[np.ndarray]], seeds: list[int]
) -> dict:
    """``{combination, members, seeds, <split>: {nse, kge, rmse, r}}`` of the members' mean per split."""
    block: dict = {"combination": COMBINATION, "members": len(seeds), "seeds": list(seeds)}
    for split, predictions in members.items():
        block[split] = metrics.all_metrics(observed[split], mean_of(predictions))
    return block


def network_members(
    outcome: TrainingOutcome, dataset: BasinDataset, window: int, batch_size: int, device: torch.device
) -> tuple[dict[str, np.ndarray], dict[str, list[np.ndarray]]]:
    """Observed discharge and every replicate's simulated discharge (m³/s) on each split's samples."""
    series = dataset.windowed(window)
    observed, members = {}, {}
    for split, index in split_samples(dataset, series).items():
        observed[split] = dataset.observed(index.days)
        members[split] = [
            simulate_physical(outcome.architecture, o.result.state_dict, dataset, series, index.days,
                              batch_size, device)
            for o in outcome.replicates
        ]
    return observed, members


def calibrated_members(
    outcome: TrainingOutcome, dataset: BasinDataset, warmup_years: int
) -> tuple[dict[str, np.ndarray], dict[str, list[np.ndarray]]]:
    """The same for calibrated conceptual replicates: one Raven run of the scored record each."""
    record = observed_record(dataset, warmup_years)
    runs = [simulate_record(dataset, outcome.architecture, o.result.state_dict, warmup_years)
            for o in outcome.replicates]
    observed, members = {}, {}
    for split, (start, end) in record.splits.items():
        observed[split] = record.frame[DISCHARGE].loc[start:end].to_numpy()
        members[split] = [run.loc[start:end].to_numpy() for run in runs]
    return observed, members
