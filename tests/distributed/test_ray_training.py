"""``train`` through Ray against an MLflow server on PostgreSQL: same tree, same numbers, failures kept apart.

A tiny real-data ensemble (Salmon River 1984–1988, hidden 4, window 30, two
epochs, three replicates, one per unit) is trained in-process on the project's
SQLite store and through a local Ray cluster (2 CPUs) on the server; every
number must be equal, and the server must hold the in-process tree.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from hydroprobe.cli.main import main
from hydroprobe.execution import replicates as distributed
from hydroprobe.execution.config import ExecutionConfig
from hydroprobe.execution.replicates import UnitsFailedError
from hydroprobe.tracking import store
from hydroprobe.tracking.train_stage import run_training
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.replicates import train_seeds
from tests.tracking.conftest import make_project

EXPERIMENT = "hydroprobe-salmon_river"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, shared_data, params) -> Path:
    """prepare + normalize once; each test copies the project."""
    root = make_project(tmp_path_factory.mktemp("prepared"), shared_data, params)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        for command in ("prepare", "normalize"):
            assert main([command]) == 0, command
    return root


def project(prepared: Path, folder: Path, **execution) -> Path:
    shutil.copytree(prepared, folder)
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["execution"] = {"replicates_per_task": 1, **execution}
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return folder


def runs(uri: str) -> list:
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    return client.search_runs([experiment.experiment_id], max_results=1000)


def by_role(found: list, role: str) -> list:
    return [run for run in found if run.data.tags.get("hydroprobe.role") == role]


def test_ray_run_on_server_has_the_in_process_tree_and_numbers(prepared, tmp_path, monkeypatch,
                                                               ray_cluster, mlflow_server):
    local = project(prepared, tmp_path / "local")
    monkeypatch.chdir(local)
    for command in ("train", "register", "promote"):
        assert main([command]) == 0, command

    remote = project(prepared, tmp_path / "remote", engine="ray", max_retries=1)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    monkeypatch.chdir(remote)
    for command in ("train", "register", "promote"):
        assert main([command]) == 0, command

    for path in ("models/lstm/metrics/train.json", "models/lstm/plots/train/loss_curves.csv"):
        assert (remote / path).read_text() == (local / path).read_text(), path
    tables = [pd.read_csv(root / "outputs/salmon_river/models/lstm/replicates.csv").drop(columns="seconds")
              for root in (local, remote)]
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)

    found = runs(mlflow_server.uri)
    (parent,), children = by_role(found, "training"), by_role(found, "replicate")
    assert parent.info.status == "FINISHED" and parent.data.tags["execution.engine"] == "ray"
    assert sorted(int(c.data.tags["seed"]) for c in children) == [0, 1, 2]
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert {c.info.status for c in children} == {"FINISHED"}
    client = MlflowClient(mlflow_server.uri)
    local_runs = by_role(runs(store.default_tracking_uri(local)), "replicate")
    local_by_seed = {r.data.tags["seed"]: r for r in local_runs}
    for child in children:
        twin = local_by_seed[child.data.tags["seed"]]
        assert child.data.metrics["validation_nse"] == twin.data.metrics["validation_nse"]
        steps = [(m.step, m.value) for m in client.get_metric_history(child.info.run_id, "validation_loss")]
        assert steps == [(m.step, m.value) for m in MlflowClient(store.default_tracking_uri(local))
                         .get_metric_history(twin.info.run_id, "validation_loss")]
        assert float(child.data.tags["execution.started"]) < float(child.data.tags["execution.finished"])
        assert [a.path for a in client.list_artifacts(child.info.run_id, "weights")] == [
            "weights/state_dict.pt"]
    version = client.get_model_version_by_alias("hydroprobe-salmon_river", "champion")
    assert version.version == "1"
    assert client.get_model_version_by_alias("hydroprobe-salmon_river", "challenger").version == "1"
    record = json.loads((remote / "outputs/salmon_river/models/lstm/train_run.json").read_text())
    assert version.run_id == record["best_run_id"]


def test_killed_worker_is_retried_and_a_failing_unit_leaves_a_failed_run(prepared, tmp_path, monkeypatch,
                                                                         ray_cluster, mlflow_server):
    root = project(prepared, tmp_path / "faults")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    monkeypatch.chdir(root)
    died_once = tmp_path / "seed1-died"

    def faulty(unit, **shared):
        """Seed 1's first worker dies outright; seed 2 always raises; seed 0 trains normally."""
        if 1 in unit.seeds and not died_once.exists():
            died_once.touch()
            os._exit(1)
        if 2 in unit.seeds:
            raise RuntimeError("injected failure for seed 2")
        return train_seeds(unit.seeds, **shared)

    monkeypatch.setattr(distributed, "train_unit", faulty)
    params = yaml.safe_load((root / "params.yaml").read_text())
    model, train = ModelConfig(**params["model"]), TrainConfig(**params["train"])
    execution = ExecutionConfig(engine="ray", max_retries=1, replicates_per_task=1)
    before = {r.info.run_id for r in runs(mlflow_server.uri)} if _has_experiment(mlflow_server.uri) else set()
    with pytest.raises(UnitsFailedError, match="seed 2: RuntimeError: injected failure for seed 2") as caught:
        run_training(root, "salmon_river", model, train, execution=execution)
    assert set(caught.value.failed) == {2}
    assert died_once.exists()  # seed 1's worker was killed once, and the retry finished it

    new = [r for r in runs(mlflow_server.uri) if r.info.run_id not in before]
    (parent,) = by_role(new, "training")
    assert parent.info.status == "FAILED"
    status = {int(r.data.tags["seed"]): r.info.status for r in by_role(new, "replicate")}
    assert status == {0: "FINISHED", 1: "FINISHED", 2: "FAILED"}
    failed = next(r for r in by_role(new, "replicate") if r.data.tags["seed"] == "2")
    assert "injected failure" in failed.data.tags["hydroprobe.error"]

    monkeypatch.undo()  # the real task again: the rerun trains only seed 2
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    monkeypatch.chdir(root)
    record = run_training(root, "salmon_river", model, train, execution=execution)
    rerun = [r for r in runs(mlflow_server.uri) if r.info.run_id in record["replicate_run_ids"].values()]
    assert {int(r.data.tags["seed"]): r.data.tags["reused"] for r in rerun} == {
        0: "true", 1: "true", 2: "false"}


def _has_experiment(uri: str) -> bool:
    return MlflowClient(uri).get_experiment_by_name(EXPERIMENT) is not None
