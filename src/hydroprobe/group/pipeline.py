"""The group pipeline as functions over data and models: no MLflow, no CLI.

Every model of ``group.models`` goes through the same probes basin by basin. A group-scope
model (regional LSTM, regional MC-LSTM) is one network for every basin; a basin-scope model
(the single-basin LSTM) is one network per basin, trained by the same code on a group of one
(:func:`~hydroprobe.data.regional.single_basin`). Paths::

    outputs/<group>/group_train.json           every model's replicates and per-basin metrics
    outputs/<group>/probes/<basin>/<model>/    paper and climate probe outputs
    outputs/<group>/group_probe.json           the headline numbers per basin and model
    outputs/<group>/group_ungauged.json        the k-fold over basins (``hydroprobe group ungauged``)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE
from hydroprobe.data.regional import RegionalData, StaticScaler
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.data.summary import mm_per_day_to_m3s
from hydroprobe.layout import PAPER_CSV
from hydroprobe.models.kinds import kind_of
from hydroprobe.models.replicate_ensemble import ReplicateEnsemble
from hydroprobe.models.simulator import DischargeSimulator
from hydroprobe.probes.climate import run_climate_probes
from hydroprobe.probes.climate.ensemble import mean_elasticity
from hydroprobe.probes.climate.scenarios import ClimateSettings
from hydroprobe.probes.paper import run_paper_probes
from hydroprobe.probes.paper.settings import ProbeSettings
from hydroprobe.probes.units import UnitMap, in_process
from hydroprobe.probes.volumes import flow_volume_km3
from hydroprobe.training import metrics
from hydroprobe.training.config import TrainConfig

#: (champion, replicates, the data the probes read the basin from)
ProbedModel = tuple[DischargeSimulator, list[DischargeSimulator], RegionalData]


def group_dir(root: Path, group_id: str) -> Path:
    return Path(root) / "outputs" / group_id


def train_record_path(root: Path, group_id: str) -> Path:
    return group_dir(root, group_id) / "group_train.json"


def probe_record_path(root: Path, group_id: str) -> Path:
    return group_dir(root, group_id) / "group_probe.json"


def ungauged_record_path(root: Path, group_id: str) -> Path:
    return group_dir(root, group_id) / "group_ungauged.json"


def group_spec(architecture: dict, train: TrainConfig, data: RegionalData) -> dict:
    """What rebuilds a group model for any basin: network, windows, shared scaler, attribute scaler."""
    return {
        "architecture": architecture,
        "window": train.window,
        "span": train.loss_span,
        "one_pass": kind_of(architecture["type"]).evaluation == "one_pass",
        "scaler": data.scaler.to_dict(),
        "scaler_units": {"discharge": "mm/d"},
        "static": data.static.to_dict(),
        "group": data.group_id,
    }


def basin_spec(spec: dict, attributes: dict[str, float], area_km2: float) -> dict:
    """A group model's spec for one basin: its normalised attributes and the scaler in its m³/s.

    mm/d → m³/s is linear, so scaling the shared scaler's discharge bounds by the basin's factor
    makes the simulator's inverse transform give the basin's discharge directly.
    """
    shared = MinMaxScaler.from_dict(spec["scaler"])
    factor = float(mm_per_day_to_m3s(1.0, area_km2))
    minimum, maximum = dict(shared.minimum), dict(shared.maximum)
    minimum["discharge"] *= factor
    maximum["discharge"] *= factor
    static = StaticScaler.from_dict(spec["static"]).transform(attributes)
    return {
        **spec,
        "scaler": MinMaxScaler(minimum, maximum).to_dict(),
        "scaler_units": {"discharge": "m3/s"},
        "static": [float(v) for v in static],
    }


def basin_simulator(
    name: str, spec: dict, state: dict, data: RegionalData, basin_id: str
) -> DischargeSimulator:
    """A group model (its group ``spec`` and weights) as the probes' simulator of one basin of ``data``."""
    one = basin_spec(spec, data.static_raw[basin_id], data.series[basin_id].meta.area_km2)
    return kind_of(spec["architecture"]["type"]).build_simulator(name, one, state)


def probed_model(
    label: str,
    spec: dict,
    champion: dict | list[dict],
    replicates: dict[int, dict],
    data: RegionalData,
    basin_id: str,
) -> ProbedModel:
    """The champion (one state, or the ensemble's member states) and every replicate, for one basin."""
    members = {
        seed: basin_simulator(f"{label} seed {seed}", spec, state, data, basin_id)
        for seed, state in replicates.items()
    }
    if isinstance(champion, list):
        best: DischargeSimulator = ReplicateEnsemble(
            f"{label} ensemble",
            [basin_simulator(f"{label} member {i}", spec, s, data, basin_id) for i, s in enumerate(champion)],
        )
    else:
        best = basin_simulator(label, spec, champion, data, basin_id)
    return best, list(members.values()), data


def scores_from_simulators(
    models: dict[str, ProbedModel], basin_id: str
) -> dict[str, dict[str, dict[str, float]]]:
    """Each model's champion run over the basin's whole record, scored per split (m³/s).

    The basin's discharge is read here only, after the models have predicted it.
    """
    out = {}
    for key, (champion, _, data) in models.items():
        frame = data.series[basin_id].frame
        observed = frame[DISCHARGE].to_numpy()
        simulated = champion.simulate(frame[PRECIPITATION].to_numpy(), frame[TEMPERATURE].to_numpy())
        out[key] = {}
        for split, (start, end) in data.splits.items():
            days = (frame.index >= start) & (frame.index <= end)
            out[key][split] = metrics.all_metrics(observed[days], simulated[days])
    return out


def champion_states(record: dict, states: dict[int, dict]) -> dict | list[dict]:
    """A basin-scope model's champion, by ``promote.candidate: best_validation``: the replicate ensemble
    (every member's weights) when its median validation NSE beats the selected replicate's."""
    best = next(r for r in record["replicates"] if r["seed"] == record["best_seed"])
    if record["ensemble"]["median_validation_nse"] > best["median_validation_nse"]:
        return [states[seed] for seed in record["seeds"]]
    return states[record["best_seed"]]


def probe_basin(
    models: dict[str, ProbedModel],
    basin_id: str,
    settings: ProbeSettings,
    climate: ClimateSettings,
    out_root: Path,
    map_units: UnitMap = in_process,
) -> dict[str, dict]:
    """Paper Cases 1–2 and the climate scenarios on each model of one basin; headline numbers.

    ``map_units`` runs each model's scenarios (in this process, or each a Ray task).
    """
    out = {}
    for key, (champion, replicates, data) in models.items():
        folder = out_root / key
        dataset = data.basin_dataset(basin_id)
        paper = run_paper_probes(champion, replicates, dataset, settings, folder, map_units=map_units)
        result = run_climate_probes(
            {key: (champion, replicates)}, dataset, climate, folder, map_units=map_units
        )
        out[key] = headline_numbers(paper, result, key, folder)
    scores = scores_from_simulators(models, basin_id)
    return {key: {**numbers, "metrics": scores[key]} for key, numbers in out.items()}


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
        "balance_residual_max": _largest_residual(paper, levels),
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


def _largest_residual(paper: dict, levels: list[str]) -> float:
    """The largest |residual| over the Case 2 levels, as a share of the added water.

    For a network without a water balance (an LSTM) the residual is everything not returned as flow.
    """
    shares = []
    for key in levels:
        balance = paper["case2"][key]["water_balance"]
        shares.append(abs(float(balance["residual_mm"]["champion"])) / float(balance["added_mm"]["champion"]))
    return max(shares)


def write_json(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, allow_nan=False) + "\n")
