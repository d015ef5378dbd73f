"""The ``train`` stage: pure training wrapped in an MLflow parent run with nested replicates."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities import RunStatus

from hydroprobe.data.dataset import BasinDataset
from hydroprobe.execution.config import ExecutionConfig
from hydroprobe.layout import Layout
from hydroprobe.models import CONCEPTUAL_TYPES
from hydroprobe.tracking import store
from hydroprobe.tracking.owners import close_abandoned_runs, owner_tags
from hydroprobe.tracking.provenance import dataset_hash, git_commit
from hydroprobe.tracking.training_run import (
    ROLE_TAG,
    MlflowReplicateObserver,
    flat_params,
    log_convergence,
    log_ensemble,
    log_training_summary,
    protocol_tag,
)
from hydroprobe.training import outputs
from hydroprobe.training.calibration import CalibrationConfig, calibrate_replicates, simulate_record
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.convergence import Budget, convergence_summary
from hydroprobe.training.device import configure_cpu, resolve_device
from hydroprobe.training.ensemble_mean import ensemble_metrics
from hydroprobe.training.fingerprint import calibration_environment, resolve_engine, runtime_environment
from hydroprobe.training.progress import ConsoleProgress
from hydroprobe.training.replicates import (
    TrainingOutcome,
    simulate_physical,
    split_samples,
    train_replicates,
)


def _conceptual_test(dataset: BasinDataset, outcome, calibration: CalibrationConfig):
    """Test-split days (row positions in the record) and the selected calibration's discharge on them."""
    best = outcome.best
    simulated = simulate_record(
        dataset, outcome.architecture, best.result.state_dict, calibration.warmup_years
    )
    start, end = dataset.splits["test"]
    index = dataset.series.frame.index
    days = np.flatnonzero((index >= pd.Timestamp(start)) & (index <= pd.Timestamp(end)))
    return days, simulated.reindex(index[days]).to_numpy()


def training_budget(steps: int, conceptual: bool, reference: str) -> Budget:
    """The budget a model trained under and the `dvc exp run` line that doubles it."""
    section = "calibration.evaluations" if conceptual else "train.max_epochs"
    key = f"references.{reference}.{section}" if reference else section
    return Budget(steps, "model run" if conceptual else "epoch", f"dvc exp run -S {key}={2 * steps}")


def model_spec(architecture: dict, window: int, dataset: BasinDataset) -> dict:
    """Everything needed to rebuild and drive the model; stored beside every set of weights."""
    return {
        "architecture": architecture,
        "window": window,
        "scaler": dataset.scaler.to_dict(),
        "basin": dataset.series.meta.to_dict(),
    }


def _fit(dataset: BasinDataset, model: ModelConfig, train: TrainConfig, calibration: CalibrationConfig,
         layout: Layout, device, observer, execution: ExecutionConfig) -> TrainingOutcome:
    """Calibrate, train in-process, or train with each replicate group a Ray task."""
    if model.type in CONCEPTUAL_TYPES:
        return calibrate_replicates(dataset, calibration, layout.replicate_cache, observer)
    if not execution.distributed:
        return train_replicates(dataset, model, train, layout.replicate_cache, device, observer,
                                execution.replicates_per_task)
    from hydroprobe.execution.engine import make_runner  # Ray only on this path
    from hydroprobe.execution.replicates import train_replicates_on

    return train_replicates_on(make_runner(execution, train.threads), dataset, model, train,
                               layout.replicate_cache, device, observer, execution.replicates_per_task)


def _execution_tags(execution: ExecutionConfig, conceptual: bool) -> dict[str, str]:
    """Tags only for a distributed run, so an in-process run's tags stay what they were."""
    if not execution.distributed or conceptual:
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
    reference: str = "",
    execution: ExecutionConfig | None = None,
) -> dict:
    """Train (or, for a conceptual model, calibrate) every replicate, track it, write the stage's outputs.

    With ``execution.engine: ray`` each replicate group is a Ray task (conceptual
    calibrations stay in-process). Returns the run record (``train_run.json``) that
    ``register`` reads.
    """
    layout = Layout(root, basin_id, reference)
    dataset = BasinDataset.load(layout.basin_dir)
    conceptual = model.type in CONCEPTUAL_TYPES
    calibration = calibration or CalibrationConfig()
    execution = execution or ExecutionConfig()
    device = resolve_device(train.device)
    # distributed: the driver runs at the tasks' thread count, so the recorded environment
    # (and the replicate cache key) is the one the replicates trained in
    configure_cpu(execution.task_threads(train.threads) if execution.distributed else train.threads)
    store.configure(root)
    experiment_id = store.experiment(store.experiment_name(basin_id), root)
    protocol = f"calibration-{calibration.algorithm}" if conceptual else protocol_tag(model, train)
    engine = resolve_engine(train.engine, model.type)
    environment = (calibration_environment() if conceptual
                   else runtime_environment(device, engine, model.type).to_dict())
    tags = {"basin": basin_id, "model_type": model.type, "protocol": protocol,
            "reference": reference or "model-under-test",
            **{f"env.{key}": str(value) for key, value in environment.items()},
            **_execution_tags(execution, conceptual)}
    tags.update(owner_tags())  # lets the next invocation tell a dead owner from a live one
    close_abandoned_runs(experiment_id, ("training", "replicate"), ROLE_TAG)
    name = f"{'calibrate' if conceptual else 'train'}-{basin_id}" + (f"-{reference}" if reference else "")
    # owner tags at creation: a kill right after it must not leave an ownerless RUNNING run
    with mlflow.start_run(experiment_id=experiment_id, run_name=name, tags=owner_tags()) as parent:
        mlflow.set_tags({**tags, ROLE_TAG: "training", "git_commit": git_commit(root),
                         "dataset_md5": dataset_hash(root), "dataset_fingerprint": dataset.fingerprint})
        if conceptual:
            mlflow.log_params({"basin": basin_id, "model.type": model.type,
                               **{f"calibration.{k}": v for k, v in asdict(calibration).items()}})
        else:
            mlflow.log_params(flat_params(model, train, basin_id))
        replicates, steps = ((calibration.replicates, calibration.evaluations) if conceptual
                             else (train.replicates, train.max_epochs))
        progress = ConsoleProgress(replicates, steps, step="evaluation" if conceptual else "epoch")
        observer = MlflowReplicateObserver(experiment_id, parent.info.run_id, tags, progress)
        try:
            outcome = _fit(dataset, model, train, calibration, layout, device, observer, execution)
        except BaseException as error:
            observer.kill_open_runs()
            killed = isinstance(error, KeyboardInterrupt | SystemExit)
            mlflow.end_run(RunStatus.to_string(RunStatus.KILLED if killed else RunStatus.FAILED))
            raise
        window = 1 if conceptual else train.window
        spec = model_spec(outcome.architecture, window, dataset)
        log_training_summary(outcome, observer, spec)

        best = outcome.best
        if conceptual:
            test_days, simulated = _conceptual_test(dataset, outcome, calibration)
        else:
            series = dataset.windowed(train.window)
            test_days = split_samples(dataset, series)["test"].days
            simulated = simulate_physical(
                outcome.architecture, best.result.state_dict, dataset, series, test_days,
                train.eval_batch_size, device,
            )
        hydrograph = outputs.test_hydrograph(dataset, test_days, simulated)
        budget = training_budget(steps, conceptual, reference)
        log_convergence(convergence_summary(outcome, budget), observer)
        ensemble = ensemble_metrics(outcome, dataset, conceptual, window, train.eval_batch_size, device,
                                    calibration.warmup_years)
        log_ensemble(ensemble)
        outputs.write_all(
            outcome, environment, budget, hydrograph, dataset.series.meta.name, layout.train_metrics,
            layout.replicates_table, layout.train_plots, layout.figures / "train",
            layout.fragments / "training.md", ensemble,
        )
        for path in (layout.train_metrics, layout.replicates_table):
            mlflow.log_artifact(str(path))
        mlflow.log_artifacts(str(layout.train_plots), "plots")
        mlflow.log_artifacts(str(layout.figures / "train"), "figures")
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
