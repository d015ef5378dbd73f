"""Two worker processes on one SQLite storage: one study, one MLflow study run, all trials in both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
from tune_helpers import STUDY, mlflow_runs, storage, tracking_env

from hydroprobe.tracking.tune_run import STUDY_RUN_ATTR
from hydroprobe.tuning.study import resolve_storage

WORKER = (
    "import argparse, sys\n"
    "from hydroprobe.cli import tune_cmd\n"
    "parser = argparse.ArgumentParser()\n"
    "tune_cmd.register(parser.add_subparsers(dest='command', required=True))\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.func(args))\n"
)


def test_two_workers_share_one_study_and_one_mlflow_study_run(project: Path) -> None:
    # Make the schema first, so that the workers race only to create the study.
    optuna.storages.RDBStorage(resolve_storage(storage(project)))
    env = {**os.environ, **tracking_env(project)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, "tune", "--n-trials", "2", "--sampler-seed", str(seed)],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], [err[-2000:] for _, err in outputs]
    roles = sorted("created" if f"'{STUDY}' (created)" in out else "joined" for out, _ in outputs)
    assert roles == ["created", "joined"]

    study = optuna.load_study(study_name=STUDY, storage=storage(project))
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert {t.state.name for t in study.trials} == {"COMPLETE"}
    (study_run,), trial_runs = mlflow_runs(project)
    assert study_run.info.run_id == study.user_attrs[STUDY_RUN_ATTR]
    assert sorted(int(r.data.tags["optuna.trial"]) for r in trial_runs) == [0, 1, 2, 3]
    assert {r.data.tags["mlflow.parentRunId"] for r in trial_runs} == {study_run.info.run_id}


def test_a_journal_storage_url_opens_a_journal_file_study(tmp_path: Path) -> None:
    from hydroprobe.tuning.study import open_study, storage_backend

    url = f"journal://{tmp_path / 'shared' / 'study.log'}"
    assert isinstance(storage_backend(url), optuna.storages.JournalStorage)
    assert storage_backend("sqlite:///x.db") == "sqlite:///x.db"
    _, created = open_study("journal-study", url, optuna.pruners.NopPruner(), 0)
    _, joined = open_study("journal-study", url, optuna.pruners.NopPruner(), 1)
    assert (created, joined) == (True, False)
    assert (tmp_path / "shared" / "study.log").is_file()
