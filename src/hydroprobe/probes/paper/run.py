"""``run_paper_probes``: Cases 1 and 2 on the champion and every replicate, written to disk.

Outputs, relative to ``out_dir`` (``models/<key>/`` for the DVC stage):

* ``metrics/probes_paper.json`` — every headline number for the champion and
  as median / 5–95 % range over replicates, the observed references, the
  inputs' out-of-range counts and the settings;
* ``plots/probes/case1.csv``, ``plots/probes/case2.csv`` — wide daily
  hydrographs of the simulated years (``day`` is the x axis for ``dvc plots``);
* ``reports/figures/probes_case1.png``, ``probes_case2.png``, ``probes_case2_mass.png``,
  ``probes_case2_balance.png``;
* ``reports/fragments/paper_cases.md`` — the report section with the paper table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hydroprobe import layout
from hydroprobe.data.basin import TEMPERATURE
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.models.simulator import DischargeSimulator
from hydroprobe.probes.hypothetical import DAYS_PER_YEAR, MONTH_DAYS, Scenario, simulate_years
from hydroprobe.probes.paper import figures, report
from hydroprobe.probes.paper.case1 import case1_metrics, case1_scenarios, shift_effects, temperature_shift_c
from hydroprobe.probes.paper.case2 import case2_levels, case2_metrics, case2_scenarios
from hydroprobe.probes.paper.ensemble import ensemble_answers
from hydroprobe.probes.paper.reference import ObservedReference, observed_reference
from hydroprobe.probes.paper.settings import ProbeSettings, settings_to_dict
from hydroprobe.probes.spread import band, spread_tree
from hydroprobe.probes.units import UnitMap, in_process, once_per_model
from hydroprobe.probes.water_balance import case2_water_balance

METRICS_FILE = layout.PAPER_METRICS
CSV_FILES = layout.PAPER_CSV
FIGURE_DIR = layout.FIGURES_DIR
FRAGMENT_FILE = layout.FRAGMENTS_DIR / layout.FRAGMENTS["paper"]

CONVENTIONS = {
    "year": f"{DAYS_PER_YEAR}-day years: 29 February is dropped before day-of-year averaging",
    "spin_up": "each scenario runs after a discarded spin-up of the same climate: one 365-day year, "
    "or as many whole years as the model's input window needs",
    "annual_cycle": "peaks and winter low flow are read on the mean annual cycle of the simulated years",
    "volumes": "km³ per simulated year, averaged over the simulated years",
    "water_balance": "Case 2 added water (level minus level 0) per simulated year, averaged, in mm over "
    "the basin and km³: residual = added − flow − ET − storage change; ET and storage change are null "
    "where the model keeps no water balance (LSTM), and the residual is then added − flow",
    "ensemble": "the replicate ensemble (mean discharge of all replicates) as a model: its numbers are "
    "measured on the mean of the replicates' flows, its balance is the mean of theirs (exact: the terms "
    "are linear in the fluxes); in the CSVs as <key>_discharge_m3s_ensemble",
    "observed_melt_flow": "mean training-period melt-season discharge on days at or below the "
    "peak_exclusion_percentile of melt-season days",
    "out_of_range": "days per hypothetical year whose input, scaled by the champion's training-period "
    "scaler, lies outside [0, 1] (extrapolation)",
}


@dataclass
class SimulatorProbes:
    """One model's answers: headline numbers and ``(years, 365)`` discharge per scenario."""

    metrics: dict[str, dict]
    flows: dict[str, dict[str, np.ndarray]]


def probe_simulator(
    simulator: DischargeSimulator,
    scenarios: dict[str, dict[str, Scenario]],
    reference: ObservedReference,
    settings: ProbeSettings,
) -> SimulatorProbes:
    """One model through every scenario: pure, so it can be one unit of an execution engine."""
    flows = {
        case: {key: simulate_years(simulator, scenario, settings.years) for key, scenario in cases.items()}
        for case, cases in scenarios.items()
    }
    case1 = {
        key: case1_metrics(flow, settings, reference.melt_flow_m3s) for key, flow in flows["case1"].items()
    }
    case1["shift_effects"] = shift_effects(case1)
    case2 = case2_metrics(flows["case2"], scenarios["case2"], settings, reference.area_km2)
    balances = case2_water_balance(
        simulator, scenarios["case2"], flows["case2"], settings.years, reference.area_km2
    )
    for key, balance in balances.items():
        case2[key]["water_balance"] = balance
    return SimulatorProbes({"case1": case1, "case2": case2}, flows)


def hydrograph_frame(
    scenarios: dict[str, Scenario],
    champion: dict[str, np.ndarray],
    replicates: Sequence[dict[str, np.ndarray]],
    ensemble: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Daily inputs and discharge over the simulated years: ``<key>_discharge_m3s`` (champion),
    ``<key>_discharge_m3s_{median,p05,p95}`` (replicates), ``<key>_discharge_m3s_ensemble``
    (their mean, when given), ``<key>_temperature_c``,
    ``<key>_precipitation_mm_d``; ``day`` (1…) is the x axis."""
    years = next(iter(champion.values())).shape[0]
    columns: dict[str, Any] = {
        "day": np.arange(1, years * DAYS_PER_YEAR + 1),
        "year": np.repeat(np.arange(1, years + 1), DAYS_PER_YEAR),
        "month_day": np.tile(MONTH_DAYS, years),
    }
    for key, scenario in scenarios.items():
        columns[f"{key}_precipitation_mm_d"] = np.tile(scenario.precipitation, years)
        columns[f"{key}_temperature_c"] = np.tile(scenario.temperature, years)
        columns[f"{key}_discharge_m3s"] = champion[key].ravel()
        if replicates:
            for name, values in band([r[key].ravel() for r in replicates]).items():
                columns[f"{key}_discharge_m3s_{name}"] = values
        if ensemble:
            columns[f"{key}_discharge_m3s_ensemble"] = ensemble[key].ravel()
    return pd.DataFrame(columns)


def _finite(value: Any) -> Any:
    """JSON has no NaN: undefined numbers become null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _observed(reference: ObservedReference, settings: ProbeSettings, scaler: MinMaxScaler) -> dict:
    """The observed references and the fitted temperature sinusoid, in physical and scaler units."""
    sinusoid = reference.sinusoid
    low, high = scaler.transform(np.array([-1.0, 1.0]) * sinusoid.amplitude + sinusoid.mean, TEMPERATURE)
    return {
        "melt_flow_excluding_peaks_m3s": reference.melt_flow_m3s,
        "melt_flow_peak_threshold_m3s": reference.melt_flow_threshold_m3s,
        "accumulation_precipitation_mm_d": reference.accumulation_precipitation_mm_d,
        "runoff_ratio": reference.runoff_ratio,
        "area_km2": reference.area_km2,
        "temperature_sinusoid": {
            "mean_c": sinusoid.mean,
            "amplitude_c": sinusoid.amplitude,
            "warmest_day_of_year": sinusoid.warmest_day,
            "coldest_day_of_year": sinusoid.coldest_day,
            "min_normalized": float(low),
            "max_normalized": float(high),
        },
        "temperature_shift_c": temperature_shift_c(settings, scaler),
    }


def run_paper_probes(
    champion: DischargeSimulator,
    replicates: Sequence[DischargeSimulator],
    dataset: BasinDataset,
    settings: ProbeSettings,
    out_dir: Path,
    map_units: UnitMap = in_process,
) -> dict:
    """Run Cases 1 and 2 on ``champion`` and ``replicates``; write JSON, CSVs, figures, fragment.

    ``map_units`` runs :func:`probe_simulator` on each model (in this process by
    default; one Ray task per model from the CLI's Ray engine); everything else
    happens here, so the outputs do not depend on where the models ran.
    Returns the content of ``metrics/probes_paper.json`` (NaN as None).
    """
    out_dir = Path(out_dir)
    reference = observed_reference(dataset, settings)
    scaler = champion.scaler or dataset.scaler
    levels = case2_levels(settings, reference, scaler)
    scenarios = {
        "case1": case1_scenarios(reference, scaler, settings),
        "case2": case2_scenarios(levels, reference, settings),
    }
    shared = {"scenarios": scenarios, "reference": reference, "settings": settings}
    champion_probes, *replicate_probes = once_per_model(map_units)(probe_simulator, [champion, *replicates],
                                                                   shared)
    ensemble = ensemble_answers(replicate_probes, scenarios, reference, settings)  # no model run: their mean
    result = _finite({
        "basin": dataset.basin_id,
        "champion": champion.name,
        "replicates": [r.name for r in replicates],
        "conventions": CONVENTIONS,
        "settings": settings_to_dict(settings),
        "observed": _observed(reference, settings, scaler),
        **_inputs_and_levels(scenarios, levels, settings, scaler),
        **{
            case: spread_tree(champion_probes.metrics[case], [r.metrics[case] for r in replicate_probes])
            for case in ("case1", "case2")
        },
        **({"ensemble": {"members": len(replicates), **ensemble[0]}} if ensemble else {}),
    })
    frames = {
        case: hydrograph_frame(
            scenarios[case], champion_probes.flows[case], [r.flows[case] for r in replicate_probes],
            ensemble[1][case] if ensemble else None,
        )
        for case in CSV_FILES
    }
    for case, path in CSV_FILES.items():
        (out_dir / path).parent.mkdir(parents=True, exist_ok=True)
        frames[case].to_csv(out_dir / path, index=False, float_format="%.6g")
    figure_paths = figures.write_figures(frames, result, out_dir / FIGURE_DIR)
    report.write_fragment(result, figure_paths, out_dir / FRAGMENT_FILE)
    (out_dir / METRICS_FILE).parent.mkdir(parents=True, exist_ok=True)
    (out_dir / METRICS_FILE).write_text(json.dumps(result, indent=2) + "\n")
    return result


def _inputs_and_levels(scenarios: dict, levels: list, settings: ProbeSettings, scaler: MinMaxScaler) -> dict:
    """What the models were given: each scenario's days outside the training range, and the Case 2 levels."""
    return {
        "inputs": {
            case: {key: {"out_of_range": s.out_of_range(scaler)} for key, s in cases.items()}
            for case, cases in scenarios.items()
        },
        "levels": {
            level.key: {
                "value": level.value,
                "units": settings.level_units,
                "precipitation_mm_d": level.precipitation_mm_d,
                "precipitation_normalized": level.precipitation_normalized,
            }
            for level in levels
        },
    }


def output_files(out_dir: Path) -> list[Path]:
    """Every file :func:`run_paper_probes` writes under ``out_dir``."""
    names = [METRICS_FILE, *CSV_FILES.values(), *(FIGURE_DIR / name for name in figures.FIGURES.values())]
    return [Path(out_dir) / name for name in [*names, FRAGMENT_FILE]]
