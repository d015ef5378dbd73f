"""Training, MLflow tracking and the registry, end to end on a tiny real-data project."""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from hydroprobe.cli.main import main
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.tracking import store
from hydroprobe.tracking.registry import load_probe_models, promote
from hydroprobe.training import metrics


def _runs(root):
    store.configure(root)
    exp = mlflow.get_experiment_by_name("hydroprobe-salmon_river")
    return mlflow.search_runs([exp.experiment_id], output_format="list")


def test_one_parent_and_three_children_with_metrics_and_weights(in_project):
    runs = _runs(in_project)
    parents = [r for r in runs if r.data.tags.get("hydroprobe.role") == "training"]
    children = [r for r in runs if r.data.tags.get("hydroprobe.role") == "replicate"]
    assert len(parents) == 1 and len(children) == 3
    parent = parents[0]
    assert parent.data.params["train.replicates"] == "3"
    assert parent.data.tags["basin"] == "salmon_river"
    assert parent.data.tags["protocol"] == "custom"
    assert len(parent.data.tags["git_commit"]) > 0
    client = MlflowClient()
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.status == "FINISHED"
        assert {"validation_nse", "test_nse", "train_rmse", "best_epoch"} <= set(child.data.metrics)
        history = client.get_metric_history(child.info.run_id, "validation_loss")
        assert [m.step for m in history] == [1, 2]
        assert [a.path for a in client.list_artifacts(child.info.run_id, "weights")] == [
            "weights/state_dict.pt"
        ]


def test_selection_is_highest_validation_nse_and_metrics_file_agrees(in_project):
    table = pd.read_csv(in_project / "outputs/salmon_river/models/lstm/replicates.csv")
    summary = json.loads((in_project / "models/lstm/metrics/train.json").read_text())
    best = table.loc[table["validation_nse"].idxmax()]
    assert summary["selected"]["seed"] == int(best["seed"])
    assert summary["selected"]["test"]["nse"] == pytest.approx(best["test_nse"], rel=1e-5)
    assert summary["distribution"]["validation"]["nse"]["median"] == pytest.approx(
        table["validation_nse"].median(), rel=1e-5
    )


def test_champion_reproduces_logged_validation_nse(in_project):
    models = load_probe_models("salmon_river", root=in_project)
    assert models.model_version == "1"
    assert len(models.replicates) == 3
    dataset = BasinDataset.load(in_project / "outputs/salmon_river")
    days = dataset.windowed(30).sample_index(*dataset.splits["validation"]).days
    frame = dataset.series.frame
    simulated = models.champion.simulate(
        frame["precipitation"].to_numpy(), frame["temperature"].to_numpy()
    )[days]
    nse = metrics.nse(dataset.observed(days), simulated)
    record = json.loads((in_project / "outputs/salmon_river/models/lstm/train_run.json").read_text())
    assert nse == pytest.approx(record["validation_nse"], abs=1e-6)


def test_registered_version_has_challenger_and_champion(in_project):
    client = MlflowClient()
    version = client.get_model_version_by_alias("hydroprobe-salmon_river", "challenger")
    assert str(version.version) == "1"
    assert client.get_model_version_by_alias("hydroprobe-salmon_river", "champion").version == 1
    assert version.tags["promotion"] == "no champion yet"


def test_register_is_idempotent_for_the_same_recipe_and_seed(in_project):
    assert main(["register"]) == 0
    record = json.loads((in_project / "outputs/salmon_river/models/lstm/registered.json").read_text())
    assert record["version"] == "1"
    # the selected replicate (v1) and the replicate ensemble (v2), each registered once
    assert len(MlflowClient().search_model_versions("name = 'hydroprobe-salmon_river'")) == 2


def test_promote_keeps_champion_unless_beaten_or_forced(in_project):
    first = promote(in_project, "salmon_river")
    assert not first["promoted"]
    assert "already the champion" in first["reason"]
    client = MlflowClient()
    champion = client.get_model_version("hydroprobe-salmon_river", "1")
    weaker = client.create_model_version(
        "hydroprobe-salmon_river", source=champion.source, run_id=champion.run_id,
        tags={**champion.tags, "validation_nse": str(float(champion.tags["validation_nse"]) - 0.1)},
    )
    kept = promote(in_project, "salmon_river", version=str(weaker.version))
    assert not kept["promoted"] and "does not beat" in kept["reason"]
    champion_file = json.loads((in_project / "outputs/salmon_river/models/lstm/champion.json").read_text())
    assert champion_file["champion_version"] == "1"
    forced = promote(in_project, "salmon_river", version=str(weaker.version), force=True)
    assert forced["promoted"] and forced["champion_version"] == str(weaker.version)
    assert client.get_model_version("hydroprobe-salmon_river", weaker.version).tags["promotion"].startswith(
        "forced"
    )


def test_second_training_reuses_every_finished_replicate(in_project, capsys):
    assert main(["train"]) == 0
    table = pd.read_csv(in_project / "outputs/salmon_river/models/lstm/replicates.csv")
    assert table["reused"].all()
    assert "reused from cache" in capsys.readouterr().err


def test_artifacts_live_under_the_project_store(in_project):
    store.configure(in_project)
    location = mlflow.get_experiment_by_name("hydroprobe-salmon_river").artifact_location
    assert location == (in_project / "mlruns" / "artifacts").resolve().as_uri()


def test_test_hydrograph_is_daily_with_gaps_left_empty(in_project):
    table = pd.read_csv(in_project / "models/lstm/plots/train/hydrograph_test.csv", parse_dates=["date"])
    assert (table["date"].diff().dropna() == pd.Timedelta(days=1)).all()
    summary = json.loads((in_project / "models/lstm/metrics/train.json").read_text())
    samples = summary["samples"]["test"]["samples"]
    assert table["simulated"].notna().sum() == samples
    assert table.loc[table["observed"].isna(), "simulated"].isna().all()
