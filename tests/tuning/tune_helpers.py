"""Constants and helpers of the tuning tests (a module of its own so tests can import them)."""

from __future__ import annotations

import argparse
from pathlib import Path

import mlflow
import yaml

from hydroprobe.cli import tune_cmd

RECORD = ("1984-10-01", "1989-12-31")
SPLITS = {
    "train": ["1985-01-01", "1987-12-31"],
    "validation": ["1988-01-01", "1988-12-31"],
    "test": ["1989-01-01", "1989-12-31"],
}
#: Days from 1984-10-01 to the end of training (1987-12-31), both included: 92 + 365 * 3.
HISTORY_DAYS = 1187
SMALL_TUNE = {
    "enabled": False,
    "n_trials": 3,
    "max_epochs": 2,
    "sampler_seed": 0,
    "hidden_size": {"low": 2, "high": 8, "log": True},
    "window": {"low": 10, "high": 40},
}


def tracking_env(root: Path) -> dict[str, str]:
    return {
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }


def write_params(root: Path, params: dict) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def run_cli(argv: list[str]) -> int:
    """``hydroprobe <argv>`` through the tune command's own parser (independent of main's wiring)."""
    parser = argparse.ArgumentParser(prog="hydroprobe")
    tune_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


STUDY = "tune-salmon_river"
EXPERIMENT = "hydroprobe-salmon_river-tune"


def storage(root: Path) -> str:
    return f"sqlite:///{root / 'optuna' / 'study.db'}"


def mlflow_runs(root: Path):
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=[EXPERIMENT], output_format="list")
    study_runs = [r for r in runs if r.data.tags.get("role") == "study"]
    trial_runs = [r for r in runs if r.data.tags.get("role") == "trial"]
    return study_runs, trial_runs
