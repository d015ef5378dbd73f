"""A tiny tuning project in tmp_path, cut from the real Salmon River record.

Record 1984-10-01 … 1989-12-31; training 1985–1987, validation 1988, test
1989. MLflow and Optuna stores live in the project folder, never in the
repository's own ``mlruns/`` or ``optuna/``.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import mlflow
import pytest
from tune_helpers import RECORD, SMALL_TUNE, SPLITS, tracking_env, write_params

from hydroprobe.data.basin import BasinSeries
from hydroprobe.data.dataset import BasinDataset, normalize, write_prepared
from hydroprobe.data.splits import parse_splits


@pytest.fixture(scope="session")
def salmon_outputs(salmon: BasinSeries, tmp_path_factory) -> Path:
    """``outputs/salmon_river`` (prepare + normalize) of the cut record; shared, read-only."""
    cut = BasinSeries(salmon.meta, salmon.frame.loc[RECORD[0] : RECORD[1]].copy(), salmon.source)
    out = tmp_path_factory.mktemp("outputs") / "salmon_river"
    write_prepared(cut, parse_splits(SPLITS, "test splits"), out)
    normalize(out)
    return out


@pytest.fixture
def dataset(salmon_outputs: Path) -> BasinDataset:
    return BasinDataset.load(salmon_outputs)


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory) -> Path:
    """An empty MLflow SQLite store with its schema made (seconds), copied by each test."""
    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        patch.setenv("DO_NOT_TRACK", "true")
        mlflow.MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch, params: dict, salmon_outputs: Path, mlflow_template: Path) -> Path:
    """A hydroprobe project folder (params.yaml, outputs, MLflow store) as the working directory."""
    root = tmp_path / "project"
    shutil.copytree(salmon_outputs, root / "outputs" / "salmon_river")
    shutil.copy(mlflow_template, root / "mlflow.db")
    spec = copy.deepcopy(params["basins"]["salmon_river"])
    spec["splits"] = SPLITS
    write_params(
        root,
        {
            "data": {"basin": "salmon_river", "raw_dir": "data"},
            "basins": {"salmon_river": spec},
            "model": {"hidden_size": 4},
            "train": {"window": 20, "max_epochs": 2, "threads": 1, "device": "cpu"},
            "tune": SMALL_TUNE,
        },
    )
    monkeypatch.chdir(root)
    for key, value in tracking_env(root).items():
        monkeypatch.setenv(key, value)
    return root
