"""MLflow record of ``hydroprobe probe climate``: one run per probed model version.

Like the paper probes, the run sits in the basin's experiment tagged
``stage=probe_climate`` with the registered model's name and version, so a
climate verdict always points at the exact weights it judged. Metrics are
``<model>/<scenario>/<metric>`` for the champion (``….median``, ``….p05``,
``….p95`` over replicates), ``<model>/rule/<rule>/champion_passed`` and
``…/replicate_share``, the observed elasticity and the extrapolation counts;
every file the stage wrote is an artifact under its own folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import mlflow

from hydroprobe.tracking.store import probe_run

STAGE = "probe_climate"
SETTINGS_LOGGED = ("split", "spinup_days", "mass_tolerance", "bootstrap", "seed", "accumulation_season")


def climate_metrics(result: dict) -> dict[str, float]:
    """The numbers of a :func:`run_climate_probes` result as flat MLflow metric names."""
    metrics = {f"observed_elasticity/{k}": result["observed_elasticity"][k] for k in ("median", "p05", "p95")}
    for name, scenario in result["scenarios"].items():
        for column, count in scenario["extrapolation"].items():
            if column != "days":
                metrics[f"extrapolation/{name}/{column}"] = count
    for label, model in result["models"].items():
        for name, entry in model["scenarios"].items():
            for metric, value in entry["champion"].items():
                if value is not None:
                    metrics[f"{label}/{name}/{metric}"] = value
                for key, number in entry["spread"][metric].items():
                    if number is not None:
                        metrics[f"{label}/{name}/{metric}.{key}"] = number
        for key, rule in model["rules"].items():
            if rule["applicable"]:
                metrics[f"{label}/rule/{key}/champion_passed"] = float(rule["champion"]["passed"])
                if rule["replicates"]["share"] is not None:
                    metrics[f"{label}/rule/{key}/replicate_share"] = rule["replicates"]["share"]
    return {name: float(value) for name, value in metrics.items()}


def log_climate_run(
    result: dict,
    out_dir: Path,
    model_name: str,
    model_version: str,
    root: Path | None = None,
    tags: Mapping[str, str] | None = None,
    model_key: str = "",
) -> str:
    """Log the climate probes of one model version; return the run id.

    ``tags`` add an imported model's provenance (source, registry version, run).

    The files listed in ``result["outputs"]`` (relative to ``out_dir``) become
    artifacts in their folders (``metrics/``, ``plots/climate/``, ``reports/…``).
    """
    with probe_run(result["basin"], STAGE, model_name, model_version, root, model_key) as run:
        mlflow.set_tags(dict(tags or {}))
        mlflow.log_params({f"climate.{key}": str(result["settings"][key]) for key in SETTINGS_LOGGED})
        mlflow.log_param("scenarios", ",".join(name for name in result["scenarios"] if name != "baseline"))
        mlflow.log_param(
            "replicates", ",".join(f"{k}:{len(m['replicates'])}" for k, m in result["models"].items())
        )
        mlflow.log_metrics(climate_metrics(result))
        for relative in result["outputs"]:
            mlflow.log_artifact(str(Path(out_dir) / relative), artifact_path=Path(relative).parent.as_posix())
    return run.info.run_id
