"""Session fixtures: a real PostgreSQL, an MLflow server on it, and a local Ray cluster of 2 CPUs."""

from __future__ import annotations

import pytest

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



@pytest.fixture(autouse=True)
def _project_store(monkeypatch):
    """Each test chooses its store: none inherited from a test that ran before (MLflow exports it)."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
