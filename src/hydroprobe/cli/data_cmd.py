"""``hydroprobe data fetch`` and ``hydroprobe data summary``.

``fetch`` fills the raw data directory (``data.raw_dir``) with verified
copies of the known raw files; ``summary`` loads basins and prints their
water balance, the first thing to look at before training.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from hydroprobe.config import find_repo_root as repo_root
from hydroprobe.config import load_params as _load_params
from hydroprobe.errors import ConfigError, DataError


def _data_section(params: dict) -> dict:
    data = params.get("data")
    if not isinstance(data, dict):
        raise ConfigError("data section is missing from params.yaml")
    return data


def _raw_dir(root: Path, data: dict) -> Path:
    raw = data.get("raw_dir")
    if not raw:
        raise ConfigError("data.raw_dir is missing: name the raw data directory (e.g. data)")
    return root / str(raw)


def _fetch(args: argparse.Namespace) -> int:
    from hydroprobe.data.sources import fetch

    root = repo_root()
    data = _data_section(_load_params(root))
    if args.source_dir is not None:
        source_dir = Path(args.source_dir)
    elif data.get("source_dir"):
        source_dir = root / str(data["source_dir"])
    else:
        source_dir = None
    raw_dir = _raw_dir(root, data)
    files = fetch(raw_dir, source_dir, root, progress=True, force=args.force)
    print(f"{len(files)} files verified in {raw_dir}")
    if (root / "data.dvc").is_file():
        _verify_against_dvc(root)
    return 0


def _verify_against_dvc(root: Path) -> None:
    """Check the filled directory against the hashes in data.dvc and put it in the DVC cache.

    ``dvc commit`` without ``--force`` refuses when the directory's hash
    differs from data.dvc, so it is both the check and the step that makes
    ``dvc status`` / ``dvc push`` work on a fresh clone.
    """
    dvc = shutil.which("dvc")
    if dvc is None:
        print("dvc is not on PATH: run `dvc commit data.dvc` to verify against data.dvc")
        return
    done = subprocess.run([dvc, "commit", "data.dvc"], cwd=root, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise DataError(
            f"the raw data directory differs from data.dvc ({done.stderr.strip()}). Fix: "
            "`dvc checkout data.dvc` restores the recorded version, or `dvc add data` records the new one"
        )
    print("matches data.dvc")


def _summary(args: argparse.Namespace) -> int:
    from hydroprobe.data.loaders import load_basin
    from hydroprobe.data.summary import format_summary, summarize

    root = repo_root()
    params = _load_params(root)
    data = _data_section(params)
    basins = params.get("basins") or {}
    chosen = args.basin or [data.get("basin")]
    for number, basin_id in enumerate(chosen):
        if basin_id not in basins:
            raise ConfigError(
                f"basin {basin_id!r} is not in basins (data.basin or --basin); known: "
                f"{', '.join(sorted(basins))}"
            )
        spec = basins[basin_id]
        series = load_basin(basin_id, spec, _raw_dir(root, data))
        season = spec.get("accumulation_season") or ("10-15", "03-15")
        if number:
            print()
        print(format_summary(summarize(series, accumulation_season=season)))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data`` with its ``fetch`` and ``summary`` sub-commands."""
    data = subparsers.add_parser(
        "data",
        help="fetch the raw basin data and summarize it",
        description="Fetch the raw basin data and summarize it.",
    )
    commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    fetch = commands.add_parser(
        "fetch",
        help="copy the known raw files into data.raw_dir, verifying each sha256",
        description=(
            "Copy every known raw file into data.raw_dir (params.yaml), from --source-dir, "
            "else data.source_dir, else ../shared/data next to the repository, else its public "
            "URL. Each file is checked against its sha256; files already present with the "
            "right hash are skipped."
        ),
    )
    fetch.add_argument(
        "--source-dir",
        metavar="DIR",
        help="folder holding the raw files in their layout (default: data.source_dir, "
        "else ../shared/data, else download)",
    )
    fetch.add_argument(
        "--force",
        action="store_true",
        help="replace files in data.raw_dir whose sha256 differs (default: refuse)",
    )
    fetch.set_defaults(func=_fetch)

    summary = commands.add_parser(
        "summary",
        help="print period, missing days, means, runoff ratio and monthly flow of basins",
        description=(
            "Load basins from data.raw_dir and print their period, missing discharge days, "
            "mean precipitation, temperature and discharge, runoff ratio, snow-season "
            "precipitation and monthly mean flow."
        ),
    )
    summary.add_argument(
        "--basin",
        metavar="ID",
        nargs="+",
        action="extend",
        help="basin ids from the basins section of params.yaml (default: data.basin)",
    )
    summary.set_defaults(func=_summary)
