"""The group pipeline as functions over data and models: no MLflow, no CLI.

Regional model and single-basin baselines of one group go through the same
probes basin by basin. The single-basin LSTMs are the existing single-basin
path (prepare → normalize → :func:`~hydroprobe.training.replicates.train_replicates`),
one per basin, with the group's shared model and training knobs. Paths::

    outputs/<group>/group_train.json           both kinds' replicates and per-basin metrics
    outputs/<group>/basins/<basin>/            single-basin prepared and normalised data
    outputs/<group>/probes/<basin>/<kind>/     paper and climate probe outputs (kind: regional | single)
    outputs/<group>/group_probe.json           the headline numbers per basin and kind
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hydroprobe.data.checks import check_length_and_splits
from hydroprobe.data.dataset import BasinDataset, normalize, write_prepared
from hydroprobe.data.loaders import load_basin
from hydroprobe.data.regional import RegionalData, StaticScaler
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.data.splits import parse_splits
from hydroprobe.data.summary import mm_per_day_to_m3s
from hydroprobe.group.settings import GroupPlan
from hydroprobe.layout import PAPER_CSV
from hydroprobe.models.simulator import DischargeSimulator, RegionalSimulator, SequenceModelSimulator
from hydroprobe.probes.climate import run_climate_probes
from hydroprobe.probes.climate.ensemble import mean_elasticity
from hydroprobe.probes.climate.scenarios import ClimateSettings
from hydroprobe.probes.paper import run_paper_probes
from hydroprobe.probes.paper.settings import ProbeSettings
from hydroprobe.probes.units import UnitMap, in_process
from hydroprobe.probes.volumes import flow_volume_km3
from hydroprobe.training.replicates import (
    ReplicateCache,
    ReplicateObserver,
    TrainingOutcome,
    train_replicates,
)

KINDS = ("regional", "single")


def group_dir(root: Path, group_id: str) -> Path:
    return Path(root) / "outputs" / group_id


def train_record_path(root: Path, group_id: str) -> Path:
    return group_dir(root, group_id) / "group_train.json"


def probe_record_path(root: Path, group_id: str) -> Path:
    return group_dir(root, group_id) / "group_probe.json"


def probe_dir(root: Path, group_id: str, basin_id: str, kind: str) -> Path:
    return group_dir(root, group_id) / "probes" / basin_id / kind


def single_dataset(root: Path, plan: GroupPlan, basin_id: str, raw_dir: Path) -> BasinDataset:
    """The basin prepared and normalised exactly as the single-basin ``prepare``/``normalize`` stages do."""
    spec = plan.specs[basin_id]
    out = group_dir(root, plan.group_id) / "basins" / basin_id
    series = load_basin(basin_id, spec, raw_dir)
    splits = parse_splits(spec["splits"], f"basins.{basin_id}.splits")
    check_length_and_splits(series.frame, splits, plan.train.window, series.source)
    write_prepared(series, splits, out)
    normalize(out)
    return BasinDataset.load(out)


def train_single_baselines(
    datasets: dict[str, BasinDataset],
    plan: GroupPlan,
    cache_root: Path,
    device: torch.device,
    observers: dict[str, ReplicateObserver] | None = None,
) -> dict[str, TrainingOutcome]:
    """One single-basin LSTM (all its replicates) per basin, cached per basin like ``hydroprobe train``."""
    return {
        basin_id: train_replicates(
            dataset, plan.model, plan.train, cache_root / basin_id, device, (observers or {}).get(basin_id)
        )
        for basin_id, dataset in datasets.items()
    }


def regional_spec(architecture: dict, window: int, data: RegionalData) -> dict:
    """What rebuilds the regional model for any basin: network, window, shared scaler, attribute scaler."""
    return {
        "architecture": architecture,
        "window": window,
        "scaler": data.scaler.to_dict(),
        "scaler_units": {"discharge": "mm/d"},
        "static": data.static.to_dict(),
        "group": data.group_id,
    }


def regional_simulator(
    name: str, spec: dict, state: dict, data: RegionalData, basin_id: str
) -> RegionalSimulator:
    """The regional network as a simulator of one basin: its attributes, discharge in its m³/s."""
    shared = MinMaxScaler.from_dict(spec["scaler"])
    factor = float(mm_per_day_to_m3s(1.0, data.series[basin_id].meta.area_km2))
    minimum, maximum = dict(shared.minimum), dict(shared.maximum)
    minimum["discharge"] *= factor
    maximum["discharge"] *= factor
    static = StaticScaler.from_dict(spec["static"]).transform(data.static_raw[basin_id])
    return RegionalSimulator(
        name=name,
        architecture=spec["architecture"],
        state_dict=state,
        scaler=MinMaxScaler(minimum, maximum),
        window=spec["window"],
        static=tuple(float(v) for v in static),
    )


def single_simulators(
    record: dict, dataset: BasinDataset, cache_root: Path
) -> tuple[SequenceModelSimulator, list[SequenceModelSimulator]]:
    """The selected single-basin replicate and all replicates, read back from the replicate cache."""
    cache = ReplicateCache(cache_root / dataset.basin_id, record["config_hash"])
    sims = {}
    for seed in record["seeds"]:
        result = cache.load(seed)
        if result is None:
            raise FileNotFoundError(
                f"{cache.folder}: no cached replicate seed {seed} of {dataset.basin_id}. "
                "Fix: run `hydroprobe group train` first."
            )
        sims[seed] = SequenceModelSimulator(
            name=f"single {dataset.basin_id} seed {seed}",
            architecture=record["architecture"],
            state_dict=result.state_dict,
            scaler=dataset.scaler,
            window=record["window"],
        )
    return sims[record["best_seed"]], [sims[seed] for seed in record["seeds"]]


def probe_basin(
    models: dict[str, tuple[DischargeSimulator, list[DischargeSimulator], BasinDataset]],
    settings: ProbeSettings,
    climate: ClimateSettings,
    out_root: Path,
    map_units: UnitMap = in_process,
) -> dict[str, dict]:
    """Paper Cases 1–2 and the climate scenarios on each kind of model of one basin; headline numbers.

    ``map_units`` runs each model's scenarios (in this process, or each a Ray task).
    """
    out = {}
    for kind, (champion, replicates, dataset) in models.items():
        folder = out_root / kind
        paper = run_paper_probes(champion, replicates, dataset, settings, folder, map_units=map_units)
        result = run_climate_probes({kind: (champion, replicates)}, dataset, climate, folder,
                                    map_units=map_units)
        out[kind] = headline_numbers(paper, result, kind, folder)
    return out


def headline_numbers(paper: dict, climate: dict, label: str, folder: Path) -> dict:
    """Flow from nothing (mm, last zero-precipitation year), mean Case 2 recovery, elasticity error, rules."""
    area = float(paper["observed"]["area_km2"])
    case1 = pd.read_csv(folder / PAPER_CSV["case1"])
    last = case1.loc[case1["year"] == case1["year"].max(), "observed_climatology_discharge_m3s"]
    nothing_mm = flow_volume_km3(last.to_numpy()) * 1e6 / area
    levels = [key for key, level in paper["levels"].items() if level["value"] > 0]
    recovered = [paper["case2"][key]["mass_recovered"]["champion"] for key in levels]
    rules = climate["models"][label]["rules"]
    elasticity = mean_elasticity(rules)
    observed = climate["observed_elasticity"]["median"]
    applicable = [rule for rule in rules.values() if rule["applicable"]]
    return {
        "flow_from_nothing_mm": float(nothing_mm),
        "recovered_mean": float(np.mean(recovered)),
        "recovered_by_level": dict(zip(levels, map(float, recovered), strict=True)),
        "runoff_ratio": paper["observed"]["runoff_ratio"],
        "elasticity": elasticity,
        "observed_elasticity": observed,
        "elasticity_error": None if elasticity is None else elasticity - observed,
        "rules_passed": sum(bool(rule["champion"]["passed"]) for rule in applicable),
        "rules_applicable": len(applicable),
        "rules_failed": sorted(
            key for key, rule in rules.items() if rule["applicable"] and not rule["champion"]["passed"]
        ),
    }


def write_json(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, allow_nan=False) + "\n")
