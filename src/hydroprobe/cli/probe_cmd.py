"""``hydroprobe probe …``: the probe stages (paper cases, climate sensitivity)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "probe",
        help="run probe experiments on the registered champion and every replicate",
        description="Feed trained models hypothetical inputs and measure whether they respect physics.",
    )
    probes = parser.add_subparsers(dest="probe", required=True, metavar="PROBE")
    from hydroprobe.cli import probe_climate_cmd, probe_paper_cmd

    probe_paper_cmd.register(probes)
    probe_climate_cmd.register(probes)
