"""The climate-sensitivity probe stage as one pure function over simulators and a dataset.

Every model (champion and each replicate) runs once on the observed forcing
and once per scenario; responses are the differences between the two runs
of the same model, judged on the complete water years of the chosen split.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hydroprobe import layout
from hydroprobe.data.basin import INPUTS, PRECIPITATION, TEMPERATURE
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.errors import DataError
from hydroprobe.models.simulator import DischargeSimulator
from hydroprobe.probes.climate.elasticity import observed_elasticity
from hydroprobe.probes.climate.ensemble import ensemble_entry
from hydroprobe.probes.climate.figures import plot_hydrographs, plot_responses
from hydroprobe.probes.climate.report import write_report
from hydroprobe.probes.climate.responses import replicate_spread, response
from hydroprobe.probes.climate.rules import judge_model
from hydroprobe.probes.climate.scenarios import ClimateScenario, ClimateSettings
from hydroprobe.probes.climate.signatures import (
    annual_signatures,
    complete_water_years,
    mean_annual_hydrograph,
)
from hydroprobe.probes.units import UnitMap, in_process, once_per_model

METRICS_FILE = layout.CLIMATE_METRICS
HYDROGRAPH_DIR = layout.CLIMATE_PLOTS
FIGURE_DIR = layout.FIGURES_DIR
REPORT_FILE = layout.FRAGMENTS_DIR / layout.FRAGMENTS["climate"]

Models = dict[str, tuple[DischargeSimulator, list[DischargeSimulator]]]


def _simulate(
    model: DischargeSimulator, climate: pd.DataFrame, evaluation: np.ndarray, who: str
) -> pd.Series:
    flow = pd.Series(
        model.simulate(climate[PRECIPITATION].to_numpy(), climate[TEMPERATURE].to_numpy()),
        index=climate.index,
        name=who,
    )
    if flow[evaluation].isna().any():
        raise DataError(
            f"{who} returned no discharge on some days of the evaluation period: its input window "
            "is longer than the spin-up (raise climate.spinup_days) or the forcing has gaps"
        )
    return flow


def _describe(scenario: ClimateScenario, climate: pd.DataFrame, observed: pd.DataFrame, years,
              dataset) -> dict:
    """Scenario parameters, realised precipitation change and inputs beyond the training range.

    Both are measured on the evaluation water years (consecutive, so one date slice).
    """
    inside = slice(f"{years[0] - 1}-10-01", f"{years[-1]}-09-30")
    rain, new_rain = observed.loc[inside, PRECIPITATION].sum(), climate.loc[inside, PRECIPITATION].sum()
    return {
        "name": scenario.name,
        "label": scenario.label,
        "kind": scenario.kind,
        "temperature_shift": scenario.temperature_shift,
        "precipitation_scale": scenario.precipitation_scale,
        "accumulation_scale": scenario.accumulation_scale,
        "precipitation_change_percent": float(100 * (new_rain - rain) / rain),
        "extrapolation": {
            **dataset.scaler.out_of_range(climate.loc[inside]),
            "days": len(climate.loc[inside]),
        },
    }


@dataclass(frozen=True)
class ModelRun:
    """One model of one label (the champion or a replicate), a unit of the probe's map."""

    label: str
    who: str  # "champion" or "replicate <i>"
    model: DischargeSimulator

    @property
    def name(self) -> str:
        return f"{self.label} {self.who}"


@dataclass
class RunAnswers:
    """A model's annual signatures and daily flows per climate (replicates' flows make the ensemble's)."""

    signatures: dict[str, dict]
    flows: dict[str, pd.Series]


def probe_run(run: ModelRun, climates: dict, frame: dict) -> RunAnswers:
    """One model on the observed and every perturbed climate: pure, so it can be one engine unit."""
    answers = RunAnswers({}, {})
    for name, climate in climates.items():
        flow = _simulate(run.model, climate, frame["evaluation"], f"{run.name} ({name})")
        answers.signatures[name] = annual_signatures(
            flow, climate[PRECIPITATION], frame["area_km2"], frame["water_years"]
        )
        answers.flows[name] = flow  # champions' for the hydrographs and CSVs, replicates' for the ensemble
    return answers


def _assemble_model(
    champion: DischargeSimulator, replicates: list[DischargeSimulator], answers: dict[str, RunAnswers],
    frame: dict,
) -> dict:
    """One model's signatures, responses and rule verdicts from its runs' answers (keyed by ``who``)."""
    scenarios = frame["scenarios"]
    signatures = {who: answer.signatures for who, answer in answers.items()}
    responses = {
        who: {s.name: response(by_name["baseline"], by_name[s.name]) for s in scenarios}
        for who, by_name in signatures.items()
    }
    replicate_runs = [responses[f"replicate {i}"] for i in range(len(replicates))]
    return {
        "champion": champion.name,
        "replicates": [r.name for r in replicates],
        "baseline": {
            "champion": signatures["champion"]["baseline"],
            "replicates": [signatures[f"replicate {i}"]["baseline"] for i in range(len(replicates))],
        },
        "scenarios": {
            s.name: {
                "champion": responses["champion"][s.name],
                "replicates": [run[s.name] for run in replicate_runs],
                "spread": {
                    metric: replicate_spread([run[s.name][metric] for run in replicate_runs])
                    for metric in responses["champion"][s.name]
                },
            }
            for s in scenarios
        },
        "rules": judge_model(responses["champion"], replicate_runs, scenarios, frame["context"]),
    }


def _probe_models(models: Models, climates: dict, frame: dict, map_units: UnitMap) -> tuple[dict, dict]:
    """Every run of every model through ``map_units`` at once, then each model's entry and champion flows."""
    runs = [
        ModelRun(label, who, model)
        for label, (champion, replicates) in models.items()
        for who, model in [("champion", champion), *((f"replicate {i}", r) for i, r in enumerate(replicates))]
    ]
    answers = once_per_model(map_units, lambda run: run.model)(probe_run, runs,
                                                               {"climates": climates, "frame": frame})
    by_label: dict[str, dict[str, RunAnswers]] = {label: {} for label in models}
    for run, answer in zip(runs, answers, strict=True):
        by_label[run.label][run.who] = answer
    results = {
        label: _assemble_model(champion, replicates, by_label[label], frame)
        for label, (champion, replicates) in models.items()
    }
    for label, (_, replicates) in models.items():  # the replicates' mean, from their runs
        ensemble = ensemble_entry([by_label[label][f"replicate {i}"] for i in range(len(replicates))],
                                  climates, frame)
        if ensemble:
            results[label]["ensemble"] = ensemble
    return results, {label: by_label[label]["champion"].flows for label in models}


def run_climate_probes(
    models: Models, dataset: BasinDataset, settings: ClimateSettings, out_dir: Path,
    map_units: UnitMap = in_process,
) -> dict:
    """Probe every model and replicate with each scenario; write metrics, CSVs, figures, report.

    ``map_units`` runs :func:`probe_run` on each model (in this process by
    default; one Ray task per model from the CLI's Ray engine); the responses,
    rules and files are made here from the answers, in input order.

    ``models`` maps a model label to ``(champion, replicates)``. Forcing from
    ``spinup_days`` before the split to its end is perturbed and simulated;
    signatures are read on the split's complete water years. Returns the
    content written to ``metrics/probes_climate.json``.
    """
    out_dir = Path(out_dir)
    start, end = dataset.splits[settings.split]
    observed = dataset.series.frame.loc[start - pd.Timedelta(days=settings.spinup_days) : end, list(INPUTS)]
    index = pd.DatetimeIndex(observed.index)
    years = complete_water_years(index, start, end)
    if not years:
        raise DataError(
            f"the {settings.split} split {start.date()}..{end.date()} holds no complete water year (Oct–Sep)"
        )
    scenarios = settings.scenarios()
    every = [ClimateScenario(), *scenarios]
    climates = {s.name: s.apply(observed, settings.accumulation_season) for s in every}
    described = {s.name: _describe(s, climates[s.name], observed, years, dataset) for s in every}
    elasticity = observed_elasticity(dataset.series, settings.bootstrap, settings.seed)
    frame = _probe_frame(scenarios, np.asarray((index >= start) & (index <= end)), dataset, years, settings,
                         elasticity, described)
    results, flows = _probe_models(models, climates, frame, map_units)
    csv_files = _write_hydrographs(out_dir / HYDROGRAPH_DIR, climates, flows, frame["evaluation"])
    result = {
        "basin": dataset.basin_id,
        "area_km2": frame["area_km2"],
        "split": settings.split,
        "period": [str(start.date()), str(end.date())],
        "water_years": years,
        "settings": dataclasses.asdict(settings),
        "observed_elasticity": elasticity,
        "scenarios": described,
        "models": results,
    }
    figures = plot_responses(result, out_dir / FIGURE_DIR)
    hydrographs = _warming_hydrographs(flows, described, scenarios, years)
    figures.append(plot_hydrographs(hydrographs, out_dir / FIGURE_DIR / layout.CLIMATE_FIGURES["hydrograph"]))
    write_report(result, out_dir / REPORT_FILE, figures)
    written = [*csv_files, *figures, out_dir / REPORT_FILE, out_dir / METRICS_FILE]
    result["outputs"] = [path.relative_to(out_dir).as_posix() for path in written]
    (out_dir / METRICS_FILE).parent.mkdir(parents=True, exist_ok=True)
    (out_dir / METRICS_FILE).write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    return result


def _probe_frame(scenarios: list, evaluation: np.ndarray, dataset: BasinDataset, years: list[int],
                 settings: ClimateSettings, elasticity: dict, described: dict) -> dict:
    """What every model's probe shares: the scenarios, the judged days and the rules' context."""
    return {
        "scenarios": scenarios,
        "evaluation": evaluation,
        "area_km2": dataset.series.meta.area_km2,
        "water_years": years,
        "context": {
            "mass_tolerance": settings.mass_tolerance,
            "elasticity_p05": elasticity["p05"],
            "elasticity_p95": elasticity["p95"],
            "scenarios": described,
        },
    }


def _warming_hydrographs(flows: dict, described: dict, scenarios: list, years: list[int]) -> dict:
    """Per model, the mean annual hydrograph of the baseline and of each warming scenario."""
    return {
        label: {
            described[name]["label"]: mean_annual_hydrograph(by_scenario[name], years)
            for name in ["baseline", *(s.name for s in scenarios if s.kind == "warming")]
        }
        for label, by_scenario in flows.items()
    }


def _write_hydrographs(folder: Path, climates: dict, flows: dict, evaluation: np.ndarray) -> list[Path]:
    """One CSV per scenario over the evaluation period: forcing, each champion, and its baseline."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, climate in climates.items():
        table = climate.loc[evaluation].copy()
        for label, by_name in flows.items():
            table[label] = by_name[name][evaluation]
            if name != "baseline":
                table[f"{label}_baseline"] = by_name["baseline"][evaluation]
        table.index.name = "date"
        paths.append(folder / f"{name}.csv")
        table.to_csv(paths[-1], float_format="%.6g")
    return paths
