"""The ``train`` stage: pure training wrapped in an MLflow parent run with nested replicates."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
from mlflow.entities import RunStatus

from hydroprobe.data.dataset import BasinDataset
from hydroprobe.layout import Layout
from hydroprobe.tracking import store
from hydroprobe.tracking.provenance import dataset_hash, git_commit
from hydroprobe.tracking.training_run import (
    ROLE_TAG,
    MlflowReplicateObserver,
    flat_params,
    log_training_summary,
    protocol_tag,
)
from hydroprobe.training import outputs
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.device import configure_cpu, resolve_device
from hydroprobe.training.progress import ConsoleProgress
from hydroprobe.training.replicates import simulate_physical, split_samples, train_replicates


def model_spec(architecture: dict, window: int, dataset: BasinDataset) -> dict:
    """Everything needed to rebuild and drive the model; stored beside every set of weights."""
    return {
        "architecture": architecture,
        "window": window,
        "scaler": dataset.scaler.to_dict(),
        "basin": dataset.series.meta.to_dict(),
    }


def run_training(root: Path, basin_id: str, model: ModelConfig, train: TrainConfig) -> dict:
    """Train every replicate, track it, write the stage's outputs; return the run record."""
    layout = Layout(root, basin_id)
    dataset = BasinDataset.load(layout.basin_dir)
    device = resolve_device(train.device)
    configure_cpu(train.threads)
    store.configure(root)
    experiment_id = store.experiment(store.experiment_name(basin_id), root)
    tags = {"basin": basin_id, "model_type": model.type, "protocol": protocol_tag(model, train)}
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"train-{basin_id}") as parent:
        mlflow.set_tags({**tags, ROLE_TAG: "training", "git_commit": git_commit(root),
                         "dataset_md5": dataset_hash(root), "dataset_fingerprint": dataset.fingerprint})
        mlflow.log_params(flat_params(model, train, basin_id))
        progress = ConsoleProgress(train.replicates, train.max_epochs)
        observer = MlflowReplicateObserver(experiment_id, parent.info.run_id, tags, progress)
        try:
            outcome = train_replicates(
                dataset, model, train, layout.replicate_cache, device, observer
            )
        except BaseException as error:
            observer.kill_open_runs()
            killed = isinstance(error, KeyboardInterrupt | SystemExit)
            mlflow.end_run(RunStatus.to_string(RunStatus.KILLED if killed else RunStatus.FAILED))
            raise
        spec = model_spec(outcome.architecture, train.window, dataset)
        log_training_summary(outcome, observer, spec)

        best = outcome.best
        series = dataset.windowed(train.window)
        test_days = split_samples(dataset, series)["test"].days
        simulated = simulate_physical(
            outcome.architecture, best.result.state_dict, dataset, series, test_days,
            train.eval_batch_size, device,
        )
        hydrograph = outputs.test_hydrograph(dataset, test_days, simulated)
        outputs.write_all(
            outcome, hydrograph, dataset.series.meta.name, layout.train_metrics,
            layout.replicates_table, layout.train_plots, layout.figures / "train",
            root / "reports" / "fragments" / "training.md",
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
        }
    layout.train_run.write_text(json.dumps(record, indent=2) + "\n")
    return record
