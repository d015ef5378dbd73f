"""``hydroprobe compare``: every model of params ``models`` side by side (DVC stage 'compare').

Reads each model's own outputs (train metrics, paper-probe metrics, Case 1
hydrographs), writes ``metrics/comparison.json``, the report fragment
``reports/fragments/comparison.md`` and two figures, and logs them as one
MLflow run in the basin's experiment.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hydroprobe import layout
from hydroprobe.cli.common import StageContext, add_basin_argument, context, model_keys

if TYPE_CHECKING:
    from hydroprobe.probes.compare.inputs import ModelInput
    from hydroprobe.probes.compare.summaries import ClimateEntry


@dataclass(frozen=True)
class _Compared:
    """One compared model: its key, parsed inputs, climate entry (or None) and output folder."""

    key: str
    model: ModelInput
    climate: ClimateEntry | None
    base: Path
    imported: bool


def _models(ctx: StageContext) -> list[_Compared]:
    """Every model of params ``models``, the subject first, then every imported model."""
    from hydroprobe.models.kinds import IMPORTED
    from hydroprobe.probes.compare import load_model_input
    from hydroprobe.probes.compare.inputs import imported_bases
    from hydroprobe.probes.compare.summaries import ClimateEntry

    bases, seen = [], set()
    for key in model_keys(ctx.params):
        peer = StageContext(ctx.root, ctx.params, ctx.basin_id, key)
        kind = peer.model_config().kind
        label = kind.label if kind.label not in seen else f"{kind.label} ({key})"
        seen.add(label)
        bases.append((key, peer.layout.out_root, label, kind))
    for name, base in imported_bases(ctx.root):  # models trained elsewhere, probed under imported/<name>/
        bases.append((f"imported_{name}", base, f"{name} (imported)", IMPORTED))
    return [_Compared(key, load_model_input(base, label, kind), ClimateEntry.read(base, kind.name), base,
                      kind is IMPORTED)
            for key, base, label, kind in bases]


def _write_headlines(models: list[_Compared], metrics: dict, folder: Path) -> list[Path]:
    """``metrics/headline/<model>.json``: the few numbers per model that DVC shows in columns."""
    from hydroprobe.probes.compare.headline import headline

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in models:
        path = folder / f"{entry.key}.json"
        numbers = headline(entry.model.label, metrics, entry.climate, entry.model.train)
        path.write_text(json.dumps(numbers, indent=2) + "\n")
        written.append(path)
    return written


def _ensembles(models: list[_Compared]) -> dict:
    """Each model's replicate ensemble beside its selected replicate (probes/compare/ensemble.py)."""
    from hydroprobe.probes.compare.ensemble import ensemble_comparison

    return ensemble_comparison([(entry.model, entry.climate) for entry in models])


def _annual_volumes(models: list[_Compared]) -> dict:
    """Each model's wet- and dry-year volumes on the test record (probes/compare/annual_volumes.py).

    A model of params ``models`` must have its test hydrograph (its train stage writes it); an
    imported model may not, and then has no row of numbers.
    """
    from hydroprobe.errors import DataError
    from hydroprobe.probes.compare.annual_volumes import TEST_HYDROGRAPH, annual_volume_comparison

    hydrographs = {}
    for entry in models:
        path = entry.base / TEST_HYDROGRAPH
        if not path.is_file() and not entry.imported:
            raise DataError(f"{entry.model.label}: missing {path}; "
                            f"run `dvc repro model_train@{entry.key}` first")
        hydrographs[entry.model.label] = path if path.is_file() else None
    return annual_volume_comparison(hydrographs)


def _ensemble_markdown(comparison: dict) -> str:
    from hydroprobe.probes.compare.ensemble_report import ensemble_markdown

    return ensemble_markdown(comparison)


def _compare(args: argparse.Namespace) -> int:
    from hydroprobe.probes.compare import comparison_markdown, comparison_metrics, write_comparison_figures
    from hydroprobe.probes.compare.annual_volumes import annual_volume_markdown
    from hydroprobe.tracking.store import probe_run

    ctx = context(args)
    named = _models(ctx)
    models = [entry.model for entry in named]
    floor = (ctx.params.get("compare") or {}).get("skill_floor", 0.6)
    metrics = comparison_metrics(models, skill_floor=float(floor))
    figure_dir = ctx.basin_layout.figures
    figures = write_comparison_figures(models, figure_dir)
    metrics["ensemble"] = _ensembles(named)
    metrics["annual_volumes"] = _annual_volumes(named)
    fragment = ctx.basin_layout.fragments / layout.FRAGMENTS["comparison"]
    fragment.parent.mkdir(parents=True, exist_ok=True)
    fragment.write_text(comparison_markdown(metrics, figures, fragment.parent)
                        + "\n" + _ensemble_markdown(metrics["ensemble"])
                        + "\n" + annual_volume_markdown(metrics["annual_volumes"]))
    metrics_path = ctx.root / layout.COMPARISON_METRICS
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(metrics, indent=2, allow_nan=False) + "\n")
    headlines = _write_headlines(named, metrics, ctx.root / layout.HEADLINE_DIR)
    names = " + ".join(model.label for model in models)
    with probe_run(ctx.basin_id, "compare", names, "-", ctx.root):
        import mlflow

        for path in (metrics_path, fragment, *headlines, *figures.values()):
            mlflow.log_artifact(str(path), artifact_path="comparison")
    for label, relative in (metrics.get("relative_recovery") or {}).items():
        for reference, ratios in relative.items():
            overall = ratios.get("champion_all_levels")
            text = "n/a" if overall is None else f"{overall:.2f}"
            print(f"{label} returns {text}× the added water that {reference} returns as flow "
                  "(all Case 2 levels together)")
    print(metrics["ensemble"]["answer"])
    print(f"wrote {metrics_path.relative_to(ctx.root)}, {fragment.relative_to(ctx.root)} and "
          f"{len(figures)} figures comparing {names}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare", help="every model of params 'models' side by side (DVC stage 'compare')",
        description="Put every model of params.yaml 'models' side by side (compare.subject first): "
        "NSE/KGE per split, Case 1 flow under zero precipitation, Case 2 recovered fraction and where "
        "the added water goes (flow, ET, storage, residual), and the recovery relative to each "
        "mass-conserving reference. Needs each model's train and probe stages first.",
    )
    add_basin_argument(parser)
    parser.set_defaults(func=_compare)
