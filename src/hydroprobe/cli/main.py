"""The ``hydroprobe`` console script: one sub-command per pipeline stage.

Each sub-command lives in its own module exposing ``register(subparsers)``;
that function adds a parser whose ``func`` default receives the parsed
arguments. Commands are thin: they read params, call a pure function, and
hand the result to :mod:`hydroprobe.tracking`.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from hydroprobe import __version__
from hydroprobe.errors import HydroprobeError


def build_parser() -> argparse.ArgumentParser:
    from hydroprobe.cli import (
        compare_cmd,
        data_cmd,
        group_cmd,
        prepare_cmd,
        probe_cmd,
        profile_cmd,
        registry_cmd,
        report_cmd,
        train_cmd,
        tune_cmd,
    )

    parser = argparse.ArgumentParser(
        prog="hydroprobe",
        description="Train LSTM rainfall-runoff models and probe whether they learned physics.",
    )
    parser.add_argument("--version", action="version", version=f"hydroprobe {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (data_cmd, prepare_cmd, train_cmd, registry_cmd, probe_cmd, compare_cmd, tune_cmd,
                   report_cmd, group_cmd, profile_cmd):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # `kill` (SIGTERM) unwinds like Ctrl-C, so open MLflow runs are closed as KILLED
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return int(args.func(args) or 0)
    except HydroprobeError as error:
        print(f"hydroprobe: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hydroprobe: interrupted; finished work is kept, rerun to continue", file=sys.stderr)
        return 130


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
