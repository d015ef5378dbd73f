"""``hydroprobe report``: assemble reports/probe_report.md from the probe stages' fragments."""

from __future__ import annotations

import argparse

from hydroprobe.cli.common import context


def _report(args: argparse.Namespace) -> int:
    from hydroprobe.probes.assemble import assemble_report

    ctx = context(args)
    path = assemble_report(ctx.root / "reports" / "fragments", ctx.root / "reports" / "probe_report.md")
    print(f"report written to {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="assemble reports/probe_report.md (DVC stage 'report')",
        description="Join the probe stages' report fragments into reports/probe_report.md.",
    )
    parser.set_defaults(func=_report)
