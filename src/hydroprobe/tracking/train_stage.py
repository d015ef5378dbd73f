"""The ``train`` stage: pure training wrapped in an MLflow parent run with nested replicates."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
from mlflow.entities import RunStatus

from hydroprobe.data.dataset import BasinDataset
from hydroprobe.execution.config import ExecutionConfig
from hydroprobe.layout import FRAGMENTS, Layout
from hydroprobe.tracking import store
from hydroprobe.tracking.fits import Fit, FitInputs, fit_for
from hydroprobe.tracking.fits import budget as fit_budget
from hydroprobe.tracking.owners import close_abandoned_runs, owner_tags
from hydroprobe.tracking.provenance import dataset_hash, git_commit
from hydroprobe.tracking.training_run import (
    ROLE_TAG,
    MlflowReplicateObserver,
    log_convergence,
    log_ensemble,
    log_training_summary,
)
from hydroprobe.training import outputs
from hydroprobe.training.calibration import CalibrationConfig
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.convergence import convergence_summary
from hydroprobe.training.device import configure_cpu, resolve_device
from hydroprobe.training.ensemble_mean import ensemble_scores
from hydroprobe.training.progress import ConsoleProgress
from hydroprobe.training.replicates import TrainingOutcome


def model_spec(architecture: dict, window: int, dataset: BasinDataset) -> dict:
    """Everything needed to rebuild and drive the model; stored beside every set of weights."""
    return {
        "architecture": architecture,
        "window": window,
        "scaler": dataset.scaler.to_dict(),
        "basin": dataset.series.meta.to_dict(),
    }


def _execution_tags(execution: ExecutionConfig, fit: Fit) -> dict[str, str]:
    """Tags only for a distributed run, so an in-process run's tags stay what they were."""
    if not execution.distributed or not fit.distributes:
        return {}
    return {"execution.engine": execution.engine, "execution.address": execution.address or "local",
            "execution.cpus_per_task": str(execution.cpus_per_task),
            "execution.gpus_per_task": str(execution.gpus_per_task)}


def run_training(
    root: Path,
    basin_id: str,
    model: ModelConfig,
    train: TrainConfig,
    calibration: CalibrationConfig | None = None,
    model_key: str = "",
    execution: ExecutionConfig | None = None,
    budget_key: str = "",
) -> dict:
    """Train (or, for a conceptual model, calibrate) every replicate, track it, write the stage's outputs.

    With ``execution.engine: ray`` each replicate group is a Ray task (conceptual
    calibrations stay in-process). Returns the run record (``train_run.json``) that
    ``register`` reads.
    """
    layout = Layout(root, basin_id, model_key or model.type)
    execution = execution or ExecutionConfig()
    inputs = FitInputs(BasinDataset.load(layout.basin_dir), model, train, calibration or CalibrationConfig(),
                       layout, resolve_device(train.device), execution)
    fit = fit_for(model)
    # distributed: the driver runs at the tasks' thread count, so the recorded environment
    # (and the replicate cache key) is the one the replicates trained in
    configure_cpu(execution.task_threads(train.threads) if execution.distributed else train.threads)
    store.configure(root)
    experiment_id = store.experiment(store.experiment_name(basin_id), root)
    environment = fit.environment(inputs)
    tags = _run_tags(basin_id, layout.model, fit, inputs, environment)
    close_abandoned_runs(experiment_id, ("training", "replicate"), ROLE_TAG)
    name = f"{fit.verb}-{basin_id}-{layout.model}"
    # owner tags at creation: a kill right after it must not leave an ownerless RUNNING run
    with mlflow.start_run(experiment_id=experiment_id, run_name=name, tags=owner_tags()) as parent:
        mlflow.set_tags({**tags, ROLE_TAG: "training", "git_commit": git_commit(root),
                         "dataset_md5": dataset_hash(root),
                         "dataset_fingerprint": inputs.dataset.fingerprint})
        mlflow.log_params(fit.params(inputs, basin_id))
        progress = ConsoleProgress(fit.replicates(inputs), fit.steps(inputs), step=fit.step)
        observer = MlflowReplicateObserver(experiment_id, parent.info.run_id, tags, progress)
        outcome = _fit_tracked(fit, inputs, observer)
        spec = model_spec(outcome.architecture, fit.window(inputs), inputs.dataset)
        log_training_summary(outcome, observer, spec)
        ensemble = _write_outputs(fit, inputs, outcome, environment, budget_key, observer)
        best = outcome.best
        record = {
            "experiment_id": experiment_id,
            "parent_run_id": parent.info.run_id,
            "best_seed": best.seed,
            "best_run_id": observer.run_ids[best.seed],
            "replicate_run_ids": {str(k): v for k, v in observer.run_ids.items()},
            "validation_nse": best.metrics["validation"]["nse"],
            "config_hash": outcome.config_hash,
            "model_spec": spec,
            "ensemble": {"seeds": ensemble["seeds"], "validation_nse": ensemble["validation"]["nse"]},
        }
    layout.train_run.write_text(json.dumps(record, indent=2) + "\n")
    return record


def _run_tags(basin_id: str, model_key: str, fit: Fit, inputs: FitInputs, environment: dict) -> dict:
    """The parent run's and every replicate's tags: what was trained, where, by whom."""
    tags = {"basin": basin_id, "model_type": inputs.model.type, "protocol": fit.protocol(inputs),
            "model": model_key,
            **{f"env.{key}": str(value) for key, value in environment.items()},
            **_execution_tags(inputs.execution, fit)}
    return {**tags, **owner_tags()}  # lets the next invocation tell a dead owner from a live one


def _fit_tracked(fit: Fit, inputs: FitInputs, observer: MlflowReplicateObserver) -> TrainingOutcome:
    """Fit every replicate; on any failure close the open runs (KILLED on a kill, else FAILED)."""
    try:
        return fit.fit(inputs, observer)
    except BaseException as error:
        observer.kill_open_runs()
        killed = isinstance(error, KeyboardInterrupt | SystemExit)
        mlflow.end_run(RunStatus.to_string(RunStatus.KILLED if killed else RunStatus.FAILED))
        raise


def _write_outputs(fit: Fit, inputs: FitInputs, outcome: TrainingOutcome, environment: dict,
                   budget_key: str, observer: MlflowReplicateObserver) -> dict:
    """Convergence, the replicate ensemble and the stage's files, each logged too; returns the ensemble."""
    layout, dataset = inputs.layout, inputs.dataset
    hydrograph = outputs.test_hydrograph(dataset, *fit.test_discharge(inputs, outcome))
    budget = fit_budget(fit, fit.steps(inputs), budget_key)
    log_convergence(convergence_summary(outcome, budget), observer)
    seeds = [o.seed for o in outcome.replicates]
    ensemble = ensemble_scores(*fit.member_discharge(inputs, outcome), seeds)
    log_ensemble(ensemble)
    outputs.write_all(
        outcome, environment, budget, hydrograph, dataset.series.meta.name, layout.train_metrics,
        layout.replicates_table, layout.train_plots, layout.figures / "train",
        layout.fragments / FRAGMENTS["training"], ensemble, fit.recipe(inputs),
    )
    for path in (layout.train_metrics, layout.replicates_table):
        mlflow.log_artifact(str(path))
    mlflow.log_artifacts(str(layout.train_plots), "plots")
    mlflow.log_artifacts(str(layout.figures / "train"), "figures")
    return ensemble
