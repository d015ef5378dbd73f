"""MLflow record of an Optuna study: one study run, one nested run per trial.

Several workers may share a study. The worker whose call created the study
creates the study run and stores its id in the study's user attributes;
the others read it from there, so all trials, whichever machine ran them,
nest under one parent. Trial runs carry the trial's knobs as params, the
per-epoch curves, the final validation metrics and their state
(``COMPLETE``, ``PRUNED``, ``FAIL``) as the tag ``state``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from hydroprobe.tracking.store import experiment, experiment_name

STUDY_RUN_ATTR = "mlflow_study_run_id"
RUN_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}


class SharedStudy(Protocol):
    """The part of ``optuna.Study`` used here (keeps this module free of Optuna)."""

    study_name: str

    @property
    def user_attrs(self) -> dict[str, Any]: ...

    def set_user_attr(self, key: str, value: Any) -> None: ...


def tuning_experiment(basin_id: str) -> str:
    """Id of the basin's tuning experiment, apart from its training runs; safe when workers race."""
    name = f"{experiment_name(basin_id)}-tune"
    try:
        return experiment(name)
    except MlflowException:  # another worker created it between our lookup and our create
        return experiment(name)


def attach_study_run(
    study: SharedStudy, created: bool, experiment_id: str, params: dict[str, Any], wait_s: float = 60.0
) -> str:
    """The study run's id: created (with ``params``) by the study's creator, looked up by the others.

    A joining worker waits up to ``wait_s`` for the creator to publish the id;
    a study created outside hydroprobe never gets one, so it then makes its own.
    """
    client = MlflowClient()
    deadline = time.monotonic() + (0.0 if created else wait_s)
    while (run_id := study.user_attrs.get(STUDY_RUN_ATTR)) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    if run_id is None:
        run = client.create_run(
            experiment_id, run_name=study.study_name, tags={"optuna.study": study.study_name, "role": "study"}
        )
        run_id = run.info.run_id
        client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
        study.set_user_attr(STUDY_RUN_ATTR, run_id)
    else:
        client.update_run(run_id, status="RUNNING")
    return run_id


class TrialTracker:
    """A :class:`hydroprobe.tuning.objective.TrialObserver` that writes nested MLflow runs."""

    def __init__(self, experiment_id: str, study_run_id: str, study_name: str, fixed: dict[str, Any]):
        self.client = MlflowClient()
        self.experiment_id = experiment_id
        self.study_run_id = study_run_id
        self.study_name = study_name
        self.fixed = fixed
        self.runs: dict[int, str] = {}

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"trial-{number}",
            tags={
                MLFLOW_PARENT_RUN_ID: self.study_run_id,
                "optuna.study": self.study_name,
                "optuna.trial": str(number),
                "role": "trial",
            },
        )
        self.runs[number] = run.info.run_id
        values = {**self.fixed, **params}
        self.client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in values.items()])

    def epoch_finished(
        self, number: int, seed: int, epoch: int, train_loss: float, validation_nse: float
    ) -> None:
        now = int(time.time() * 1000)
        self.client.log_batch(
            self.runs[number],
            metrics=[
                Metric(f"train_loss/seed_{seed}", train_loss, now, epoch),
                Metric(f"validation_nse/seed_{seed}", validation_nse, now, epoch),
            ],
        )

    def trial_placed(self, number: int, worker: str, started: float, finished: float) -> None:
        """Where and when a trial ran, for trials run by a worker elsewhere (tags, as on Ray replicates)."""
        tags = {"worker": worker, "started": started, "finished": finished}
        self.client.log_batch(self.runs[number], tags=[RunTag(f"execution.{k}", str(v))
                                                       for k, v in tags.items()])

    def trial_finished(self, number: int, state: str, value: float | None, summary: dict[str, float]) -> None:
        run_id = self.runs.pop(number)
        now = int(time.time() * 1000)
        self.client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in summary.items()])
        self.client.set_tag(run_id, "state", state)
        self.client.set_terminated(run_id, status=RUN_STATUS[state])


def log_study_outputs(study_run_id: str, summary: dict[str, Any], files: list[Path]) -> None:
    """Counts, best value and tags on the study run, figures and the best-params file as artifacts."""
    client = MlflowClient()
    _retrying(lambda: client.log_batch(study_run_id, metrics=summary_metrics(summary),
                                       tags=summary_tags(summary)))
    for path in files:
        client.log_artifact(study_run_id, str(path))
    client.set_terminated(study_run_id, status="FINISHED")


def summary_metrics(summary: dict[str, Any]) -> list[Metric]:
    """Trials per state and the best validation NSE, at step = trials finished, stamped now."""
    counts = summary["trials"]
    finished, now = sum(counts.values()), int(time.time() * 1000)
    metrics = [Metric(f"trials_{state}", n, now, finished) for state, n in counts.items()]
    if summary["best_validation_nse"] is not None:
        metrics.append(Metric("best_validation_nse", summary["best_validation_nse"], now, finished))
    return metrics


def summary_tags(summary: dict[str, Any]) -> list[RunTag]:
    """The best trial's number, once there is one."""
    if summary["best_validation_nse"] is None:
        return []
    return [RunTag("best_trial", str(summary["best_trial"]))]


def _retrying(write, attempts: int = 4) -> None:
    """One write to the shared study run, retried when another worker writes the same keys at once.

    Workers sharing a study finish together and each logs the summary on the one study run; the
    tracking store inserts a key's first row (latest metric, tag) after looking for it, without
    a lock, so two first writes can collide (seen once in tests as an IntegrityError from the
    server). A retry (``write`` builds fresh timestamps) finds the row and updates it.
    """
    for attempt in range(attempts):
        try:
            write()
            return
        except MlflowException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
