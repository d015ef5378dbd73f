"""``hydroprobe report``: assemble reports/probe_report.md from the probe stages' fragments."""

from __future__ import annotations

import argparse

from hydroprobe.cli.common import add_basin_argument, context, model_keys
from hydroprobe.layout import COMBINED_REPORT


def _report(args: argparse.Namespace) -> int:
    from hydroprobe.probes.assemble import basin_report, combined_report
    from hydroprobe.probes.compare.inputs import imported_bases

    ctx = context(args)
    imported = [name for name, _ in imported_bases(ctx.root)]
    basin = basin_report(
        ctx.root, ctx.basin_spec.get("name", ctx.basin_id), ctx.basin_id, model_keys(ctx.params), imported
    )
    path = combined_report(ctx.root, ctx.root / COMBINED_REPORT, first=ctx.basin_id)
    print(f"basin report {basin.relative_to(ctx.root)}; combined report {path.relative_to(ctx.root)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="assemble reports/probe_report.md (DVC stage 'report')",
        description="Join this basin's report fragments (the comparison, then each model of params "
        "'models') into "
        "reports/basins/<basin>.md with a copy of its figures, then every basin's report into "
        "reports/probe_report.md, one section per basin.",
    )
    add_basin_argument(parser)
    parser.set_defaults(func=_report)
