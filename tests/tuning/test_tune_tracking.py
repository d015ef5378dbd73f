"""MLflow side of tuning: trial states as tags and run statuses, and the shared study run."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from hydroprobe.tracking import store
from hydroprobe.tracking.tune_run import STUDY_RUN_ATTR, TrialTracker, attach_study_run, tuning_experiment


class FakeStudy:
    """The two study features attach_study_run uses, without a storage."""

    study_name = "tune-test"

    def __init__(self, attrs: dict | None = None) -> None:
        self.user_attrs = dict(attrs or {})

    def set_user_attr(self, key, value) -> None:
        self.user_attrs[key] = value


@pytest.fixture
def experiment_id(project: Path) -> str:
    store.configure(project)
    return tuning_experiment("salmon_river")


def test_trial_states_become_tags_and_run_statuses(experiment_id: str) -> None:
    client = mlflow.MlflowClient()
    parent = attach_study_run(FakeStudy(), True, experiment_id, {"tune.seeds": 1})
    tracker = TrialTracker(experiment_id, parent, "tune-test", {"tune.seeds": 1})
    outcomes = [("COMPLETE", 0.5, {"validation_nse": 0.5}), ("PRUNED", None, {}), ("FAIL", None, {})]
    for number, (state, value, summary) in enumerate(outcomes):
        tracker.trial_started(number, {"model.hidden_size": 4 + number})
        tracker.epoch_finished(number, 0, 1, 0.02, 0.25)
        tracker.trial_finished(number, state, value, summary)
    runs = {
        r.data.tags["optuna.trial"]: r for r in client.search_runs([experiment_id], "tags.role = 'trial'")
    }
    assert {n: (r.data.tags["state"], r.info.status) for n, r in runs.items()} == {
        "0": ("COMPLETE", "FINISHED"),
        "1": ("PRUNED", "KILLED"),
        "2": ("FAIL", "FAILED"),
    }
    assert {r.data.tags["mlflow.parentRunId"] for r in runs.values()} == {parent}
    assert runs["1"].data.params == {"tune.seeds": "1", "model.hidden_size": "5"}
    assert runs["0"].data.metrics == {
        "validation_nse": 0.5,
        "train_loss/seed_0": 0.02,
        "validation_nse/seed_0": 0.25,
    }
    assert client.get_run(parent).data.params == {"tune.seeds": "1"}


def test_joining_worker_uses_the_published_study_run(experiment_id: str) -> None:
    creator = FakeStudy()
    parent = attach_study_run(creator, True, experiment_id, {})
    assert creator.user_attrs == {STUDY_RUN_ATTR: parent}
    assert attach_study_run(FakeStudy(creator.user_attrs), False, experiment_id, {}, wait_s=0) == parent


def test_study_without_a_published_run_gets_one_after_the_wait(experiment_id: str) -> None:
    foreign = FakeStudy()  # e.g. made with `optuna create-study`
    run_id = attach_study_run(foreign, False, experiment_id, {}, wait_s=0)
    assert foreign.user_attrs == {STUDY_RUN_ATTR: run_id}
    assert mlflow.MlflowClient().get_run(run_id).data.tags["role"] == "study"
