"""``hydroprobe tune`` with the Ray engine: tune.workers Optuna workers as Ray tasks, one study on PostgreSQL.

The workers join the study the driver created, run their share of the trials
(sampler seeds ``sampler_seed + index``), and the driver replays each trial as
a nested run under the study run on the MLflow server, then writes the stage's
outputs from the whole study.
"""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient

from hydroprobe.cli.main import main
from hydroprobe.errors import ConfigError
from hydroprobe.execution.engine import RayRunner
from hydroprobe.execution.trials import workers_for
from hydroprobe.tracking.tune_run import STUDY_RUN_ATTR
from hydroprobe.tuning.best_params import read_best_params
from hydroprobe.tuning.search_space import TuneConfig
from hydroprobe.tuning.study import require_shared_storage


def set_params(root: Path, **sections) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    for name, values in sections.items():
        params[name] = {**params.get(name, {}), **values}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def test_two_ray_workers_fill_one_postgres_study_and_the_driver_writes_the_outputs(
        tune_project, monkeypatch, capsys, ray_cluster, postgres, server_store):
    storage = postgres.create_database("optuna_ray")
    set_params(tune_project, execution={"engine": "ray", "max_retries": 0},
               tune={"n_trials": 4, "workers": 2, "sampler_seed": 1, "study_name": "ray-study",
                     "storage": storage})
    monkeypatch.chdir(tune_project)
    assert main(["tune"]) == 0
    assert "4 trials in 2 ray worker(s) (2, 2)" in capsys.readouterr().out

    study = optuna.load_study(study_name="ray-study", storage=storage)
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert {t.state.name for t in study.trials} == {"COMPLETE"}
    client = MlflowClient(server_store)
    experiment = client.get_experiment_by_name("hydroprobe-salmon_river-tune")
    # the server is shared by the session: only this study's runs
    runs = client.search_runs([experiment.experiment_id], "tags.`optuna.study` = 'ray-study'")
    (study_run,) = [r for r in runs if r.data.tags.get("role") == "study"]
    trials = [r for r in runs if r.data.tags.get("role") == "trial"]
    assert study_run.info.run_id == study.user_attrs[STUDY_RUN_ATTR]
    assert study_run.info.status == "FINISHED" and study_run.data.params["tune.workers"] == "2"
    assert sorted(int(r.data.tags["optuna.trial"]) for r in trials) == [0, 1, 2, 3]
    assert {r.data.tags["mlflow.parentRunId"] for r in trials} == {study_run.info.run_id}
    assert {(r.data.tags["state"], r.info.status) for r in trials} == {("COMPLETE", "FINISHED")}
    for run in trials:
        trial = study.trials[int(run.data.tags["optuna.trial"])]
        assert run.data.metrics["validation_nse"] == trial.value
        assert run.data.params["train.window"] == str(trial.params["train.window"])
        assert len(client.get_metric_history(run.info.run_id, "validation_nse/seed_0")) == 2  # each epoch
        assert float(run.data.tags["execution.started"]) <= float(run.data.tags["execution.finished"])

    out = tune_project / "outputs" / "salmon_river" / "tune"
    assert read_best_params(out / "best_params.yaml") == study.best_params
    metrics = json.loads((tune_project / "metrics" / "tune.json").read_text())
    assert (metrics["trials"]["complete"], metrics["best_trial"]) == (4, study.best_trial.number)
    assert sorted(a.path for a in client.list_artifacts(study_run.info.run_id)) == [
        "best_params.yaml", "history.png", "importance.png"]


def test_workers_share_the_trials_and_take_consecutive_sampler_seeds():
    tune = TuneConfig(n_trials=5, workers=3, sampler_seed=7)
    shares = [(w.index, w.n_trials, w.sampler_seed) for w in workers_for(tune)]
    assert shares == [(0, 2, 7), (1, 2, 8), (2, 1, 9)]
    assert [w.sampler_seed for w in workers_for(TuneConfig(n_trials=2, workers=4))] == [None, None]


def test_sqlite_storage_is_refused_when_the_cluster_spans_machines(tune_project, monkeypatch, capsys):
    set_params(tune_project, execution={"engine": "ray", "address": "10.0.0.7:6379"}, tune={"workers": 2})
    monkeypatch.setattr(RayRunner, "spans_machines", lambda self: True)  # no second machine in a test
    monkeypatch.chdir(tune_project)
    assert main(["tune"]) != 0
    assert "a SQLite file, but the Ray cluster spans several machines" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="journal:///PATH"):
        require_shared_storage("sqlite:///shared/study.db", spans_machines=True)
    require_shared_storage("sqlite:///study.db", spans_machines=False)  # one machine: fine
    require_shared_storage("postgresql+psycopg://u@db/optuna", spans_machines=True)
    assert not (tune_project / "metrics" / "tune.json").exists()


def test_a_local_ray_cluster_is_one_machine(ray_cluster):
    assert RayRunner().spans_machines() is False
