"""``hydroprobe register`` and ``hydroprobe promote``: the MLflow model registry."""

from __future__ import annotations

import argparse

from hydroprobe.cli.common import add_basin_argument, add_model_argument, context


def _register(args: argparse.Namespace) -> int:
    from hydroprobe.tracking.registry import register

    ctx = context(args)
    candidate = str((ctx.params.get("promote") or {}).get("candidate", "selected"))
    record = register(ctx.root, ctx.basin_id, ctx.model_key, candidate)
    ensemble = record.get("ensemble")
    also = f"; replicate ensemble version {ensemble['version']} with alias 'ensemble'" if ensemble else ""
    print(f"registered {record['name']} version {record['version']} with alias 'challenger'{also} "
          f"(promote.candidate: {candidate})")
    return 0


def _promote(args: argparse.Namespace) -> int:
    from hydroprobe.tracking.registry import promote

    ctx = context(args)
    record = promote(ctx.root, ctx.basin_id, version=args.version, force=args.force, model_key=ctx.model_key)
    verdict = "promoted" if record["promoted"] else "not promoted"
    print(f"{record['name']} v{record['candidate_version']} {verdict}: {record['reason']}; "
          f"champion is v{record['champion_version']}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    reg = subparsers.add_parser(
        "register", help="register the selected replicate as 'challenger' (DVC stage 'model_train@<key>')",
        description="Log the selected replicate as an MLflow model and register it as "
        "hydroprobe-<basin>-<model> (the paper's LSTM, model key lstm: hydroprobe-<basin>), then the "
        "mean of every "
        "replicate as the next version (alias 'ensemble'). params promote.candidate picks the one "
        "aliased 'challenger': selected (default) or best_validation (higher validation NSE).",
    )
    add_basin_argument(reg)
    add_model_argument(reg)
    reg.set_defaults(func=_register)
    promote = subparsers.add_parser(
        "promote", help="move alias 'champion' to a version that beats it (DVC stage 'model_train@<key>')",
        description="Move alias 'champion' to the challenger (or --version) when its validation NSE "
        "beats the current champion's, or always with --force; the reason is stored as a version tag.",
    )
    add_basin_argument(promote)
    add_model_argument(promote)
    promote.add_argument("--version", help="model version to promote (default: @challenger)")
    promote.add_argument("--force", action="store_true", help="promote even if it does not beat the champion")
    promote.set_defaults(func=_promote)
