"""``hydroprobe train``: N replicates tracked in MLflow (DVC stage 'train')."""

from __future__ import annotations

import argparse

from hydroprobe.cli.common import add_basin_argument, context


def _train(args: argparse.Namespace) -> int:
    from hydroprobe.tracking.train_stage import run_training

    ctx = context(args)
    model, train = ctx.model_config(), ctx.train_config()
    record = run_training(ctx.root, ctx.basin_id, model, train)
    print(
        f"trained {train.replicates} replicate(s) of {model.type}; selected seed "
        f"{record['best_seed']} (validation NSE {record['validation_nse']:.3f}); "
        f"MLflow run {record['parent_run_id']}"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train train.replicates models and select the best (DVC stage 'train')",
        description=(
            "Train train.replicates replicates (seeds train.seed + k), each a nested MLflow run; "
            "finished replicates are reused after an interruption. Selection: highest validation NSE."
        ),
    )
    add_basin_argument(parser)
    parser.set_defaults(func=_train)
