"""Session fixtures: a real PostgreSQL, an MLflow server on it, and a local Ray cluster of 2 CPUs."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from hydroprobe.data.basin import BasinSeries
from hydroprobe.data.dataset import normalize, write_prepared
from hydroprobe.data.splits import parse_splits
from tests.distributed.servers import (
    MlflowServer,
    Postgres,
    start_mlflow_server,
    start_postgres,
    stop_postgres,
    stop_process,
)


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    server = start_postgres()
    yield server
    stop_postgres(server)


@pytest.fixture(scope="session")
def mlflow_server(postgres: Postgres, tmp_path_factory) -> MlflowServer:
    folder = tmp_path_factory.mktemp("mlflow-server")
    backend = postgres.create_database("mlflow")
    server = start_mlflow_server(backend, folder / "artifacts", folder / "server.log")
    yield server
    stop_process(server.process)


@pytest.fixture(scope="session")
def ray_cluster():
    """``ray.init(num_cpus=2)``: a real local cluster; its workers inherit this process's environment."""
    import os

    import ray

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


@pytest.fixture
def server_store(mlflow_server: MlflowServer, monkeypatch) -> str:
    """MLFLOW_TRACKING_URI pointing at the server, for this test only."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    return mlflow_server.uri


TUNE_SPLITS = {"train": ["1985-01-01", "1987-12-31"], "validation": ["1988-01-01", "1988-12-31"],
               "test": ["1989-01-01", "1989-12-31"]}
TUNE = {"enabled": True, "n_trials": 2, "max_epochs": 2, "study_name": "pg-study",
        "hidden_size": {"low": 2, "high": 8, "log": True}, "window": {"low": 10, "high": 30}}


@pytest.fixture
def tune_project(tmp_path: Path, salmon: BasinSeries, params: dict) -> Path:
    """A tiny tuning project (real Salmon record 1984-10 … 1989, prepared and normalised) in tmp_path."""
    root = tmp_path / "project"
    cut = BasinSeries(salmon.meta, salmon.frame.loc["1984-10-01":"1989-12-31"].copy(), salmon.source)
    write_prepared(cut, parse_splits(TUNE_SPLITS, "test splits"), root / "outputs" / "salmon_river")
    normalize(root / "outputs" / "salmon_river")
    spec = copy.deepcopy(params["basins"]["salmon_river"])
    spec["splits"] = TUNE_SPLITS
    config = {"data": {"basin": "salmon_river", "raw_dir": "data"}, "basins": {"salmon_river": spec},
              "model": {"hidden_size": 4}, "train": {"window": 20, "max_epochs": 2, "threads": 1,
                                                     "device": "cpu"}, "tune": TUNE}
    (root / "params.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root


@pytest.fixture(autouse=True)
def _project_store(monkeypatch):
    """Each test chooses its store: none inherited from a test that ran before (MLflow exports it)."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
