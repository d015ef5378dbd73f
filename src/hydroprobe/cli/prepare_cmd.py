"""``hydroprobe prepare`` (raw → canonical daily series) and ``hydroprobe normalize``."""

from __future__ import annotations

import argparse
import json

from hydroprobe.cli.common import add_basin_argument, context
from hydroprobe.config import section
from hydroprobe.data.checks import check_length_and_splits
from hydroprobe.data.dataset import normalize, write_prepared
from hydroprobe.data.loaders import load_basin
from hydroprobe.data.splits import parse_splits
from hydroprobe.layout import DATA_METRICS, Layout


def _prepare(args: argparse.Namespace) -> int:
    ctx = context(args)
    spec = ctx.basin_spec
    raw_dir = ctx.root / str(section(ctx.params, "data").get("raw_dir", "data"))
    series = load_basin(ctx.basin_id, spec, raw_dir)
    splits = parse_splits(spec.get("splits"), f"basins.{ctx.basin_id}.splits")
    window = ctx.train_config().window
    check_length_and_splits(series.frame, splits, window, series.source)
    out = Layout(ctx.root, ctx.basin_id).basin_dir
    write_prepared(series, splits, out)
    frame = series.frame
    print(
        f"prepared {ctx.basin_id}: {frame.index[0].date()}..{frame.index[-1].date()}, "
        f"{len(frame)} days, {int(frame['discharge'].isna().sum())} without discharge → {out}"
    )
    return 0


def _normalize(args: argparse.Namespace) -> int:
    ctx = context(args)
    layout = Layout(ctx.root, ctx.basin_id)
    report = normalize(layout.basin_dir)
    metrics = ctx.root / DATA_METRICS
    metrics.parent.mkdir(parents=True, exist_ok=True)
    # the scaler itself is in scaler.json; the metric is what `dvc exp show` should compare
    summary = {"basin": ctx.basin_id, "out_of_range": report["out_of_range"]}
    metrics.write_text(json.dumps(summary, indent=2) + "\n")
    outside = {k: sum(v.values()) for k, v in report["out_of_range"].items()}
    print(f"normalised {ctx.basin_id} (min-max fitted on train); values outside [0, 1]: {outside}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    prepare = subparsers.add_parser(
        "prepare", help="raw files → canonical daily series (DVC stage 'prepare')",
        description="Load the basin's raw files, check them and write outputs/<basin>/prepared.csv.",
    )
    add_basin_argument(prepare)
    prepare.set_defaults(func=_prepare)
    norm = subparsers.add_parser(
        "normalize", help="fit min-max scaling on the training period (DVC stage 'normalize')",
        description="Fit the min-max scaler on the training split and write the normalised series.",
    )
    add_basin_argument(norm)
    norm.set_defaults(func=_normalize)
