"""MLflow record of ``hydroprobe probe paper``: one run per probed model version.

The run lives in the basin's experiment (``hydroprobe-<basin>``) beside the
training runs, tagged ``stage=probe_paper`` with the registered model's name
and version, so a probe result can always be traced to the exact weights it
probed. Metrics are the champion's numbers and the replicate median / 5–95 %
range (``<case>.<scenario>.<metric>`` and ``….median``, ``….p05``, ``….p95``);
the JSON, CSVs, figures and report fragment are artifacts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow

from hydroprobe.tracking.store import probe_run

STAGE = "probe_paper"
SPREAD_KEYS = ("median", "p05", "p95", "fraction_true")


def flatten_metrics(result: dict) -> dict[str, float]:
    """Numeric headline values of a :func:`run_paper_probes` result as MLflow metric names."""
    metrics: dict[str, float] = {}

    def visit(node: Any, name: str) -> None:
        if isinstance(node, dict) and "champion" in node:
            champion = node["champion"]
            if isinstance(champion, bool | int | float):
                metrics[name] = float(champion)
            for key in SPREAD_KEYS:
                if node.get(key) is not None:
                    metrics[f"{name}.{key}"] = float(node[key])
        elif isinstance(node, dict):
            for key, value in node.items():
                visit(value, f"{name}.{key}")
        elif isinstance(node, int | float) and not isinstance(node, bool):
            metrics[name] = float(node)

    for section in ("observed", "inputs", "case1", "case2"):
        visit(result[section], section)
    return metrics


def log_probe_run(
    result: dict,
    files: Sequence[Path],
    out_dir: Path,
    model_name: str,
    model_version: str,
    root: Path | None = None,
    tags: Mapping[str, str] | None = None,
    model_key: str = "",
) -> str:
    """Log the paper probes of one model version; return the run id.

    ``tags`` add provenance an imported model carries (its source, registry
    version, run) beside the name and version every probe run has.

    ``files`` are logged as artifacts under their folder relative to ``out_dir``
    (``metrics/``, ``plots/probes/``, ``reports/figures/``, ``reports/fragments/``).
    """
    with probe_run(result["basin"], STAGE, model_name, model_version, root, model_key) as run:
        mlflow.set_tags(dict(tags or {}))
        mlflow.log_params({f"probes.{key}": str(value) for key, value in result["settings"].items()})
        mlflow.log_param("replicates", len(result["replicates"]))
        mlflow.log_metrics(flatten_metrics(result))
        for path in files:
            folder = Path(path).resolve().parent.relative_to(Path(out_dir).resolve())
            mlflow.log_artifact(str(path), artifact_path=folder.as_posix())
    return run.info.run_id
