"""Two Optuna workers (two processes) fill one study on PostgreSQL; every trial a nested run on the server."""

from __future__ import annotations

import os
import subprocess
import sys

import optuna
from mlflow.tracking import MlflowClient

from hydroprobe.tracking.tune_run import STUDY_RUN_ATTR


def test_two_workers_share_one_postgres_study_and_nest_every_trial_on_the_server(
        tune_project, postgres, mlflow_server):
    storage = postgres.create_database("optuna")
    optuna.storages.RDBStorage(storage)  # the schema first: the workers race only for the study
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server.uri, "OMP_NUM_THREADS": "1"}
    workers = [
        subprocess.Popen([sys.executable, "-m", "hydroprobe.cli.main", "tune", "--storage", storage,
                          "--sampler-seed", str(seed)], cwd=tune_project, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for seed in (1, 2)
    ]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], [err[-2000:] for _, err in outputs]
    assert not any("lock" in err.lower() for _, err in outputs), [err[-2000:] for _, err in outputs]

    study = optuna.load_study(study_name="pg-study", storage=storage)
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert {t.state.name for t in study.trials} == {"COMPLETE"}
    client = MlflowClient(mlflow_server.uri)
    experiment = client.get_experiment_by_name("hydroprobe-salmon_river-tune")
    runs = client.search_runs([experiment.experiment_id])
    (study_run,) = [r for r in runs if r.data.tags.get("role") == "study"]
    trials = [r for r in runs if r.data.tags.get("role") == "trial"]
    assert study_run.info.run_id == study.user_attrs[STUDY_RUN_ATTR]
    assert sorted(int(r.data.tags["optuna.trial"]) for r in trials) == [0, 1, 2, 3]
    assert {r.data.tags["mlflow.parentRunId"] for r in trials} == {study_run.info.run_id}
    assert {r.info.status for r in trials} == {"FINISHED"}
