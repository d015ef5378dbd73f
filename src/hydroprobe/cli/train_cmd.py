"""``hydroprobe train``: N replicates tracked in MLflow (DVC stage 'model_train@<key>')."""

from __future__ import annotations

import argparse

from hydroprobe.cli.common import add_basin_argument, add_model_argument, add_ray_argument, context


def _train(args: argparse.Namespace) -> int:
    from hydroprobe.execution.config import parse_execution
    from hydroprobe.tracking.fits import fit_for
    from hydroprobe.tracking.store import locked_store_errors
    from hydroprobe.tracking.train_stage import run_training

    ctx = context(args)
    model, train, calibration = ctx.model_config(), ctx.train_config(), ctx.calibration_config()
    execution = parse_execution(ctx.params, args.ray_address)
    with locked_store_errors():  # a store locked past MLflow's wait: say how to run in parallel
        record = run_training(ctx.root, ctx.basin_id, model, train, calibration, ctx.model_key, execution,
                              budget_key=ctx.param_key(fit_for(model).budget_key))
    print(
        f"fitted {len(record['replicate_run_ids'])} replicate(s) of {model.kind.label}; selected seed "
        f"{record['best_seed']} (validation NSE {record['validation_nse']:.3f}); "
        f"MLflow run {record['parent_run_id']}"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="fit one model's replicates and select the best (DVC stage 'model_train@<key>')",
        description=(
            "Train a model of params 'models' (--model; default compare.subject): train.replicates "
            "replicates (seeds train.seed + k), each a nested MLflow run; "
            "finished replicates are reused after an interruption. Selection: highest validation NSE. "
            "A conceptual model (model.type gr4jcn) is calibrated instead: calibration.replicates "
            "independent spotpy searches of at most calibration.evaluations Raven runs each, stopped "
            "after calibration.patience runs without a better training NSE."
        ),
    )
    add_basin_argument(parser)
    add_model_argument(parser)
    add_ray_argument(parser, "each replicate group")
    parser.set_defaults(func=_train)
