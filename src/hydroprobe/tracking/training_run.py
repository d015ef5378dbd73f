"""Training in MLflow: one parent run per invocation, one nested run per replicate.

Replicate runs are driven through :class:`MlflowClient` rather than the
fluent API because the ensemble engine trains replicates side by side and
several child runs are open at once. An interrupted invocation marks its
open runs KILLED; finished replicates stay FINISHED (and cached on disk, so
the rerun reuses them). A process killed outright cannot mark anything: its
runs carry their owner's pid and host (:mod:`hydroprobe.tracking.owners`) so
the next invocation closes them as KILLED. A replicate resumed from a
checkpoint gets a new run that repeats the epochs its killed run logged.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import mlflow
import torch
from mlflow.entities import Metric, RunStatus
from mlflow.tracking import MlflowClient

from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.replicates import ReplicateOutcome, TrainingOutcome

ROLE_TAG = "hydroprobe.role"


def flat_params(model: ModelConfig, train: TrainConfig, basin_id: str) -> dict[str, str]:
    params = {f"model.{k}": v for k, v in dataclasses.asdict(model).items()}
    params.update({f"train.{k}": v for k, v in dataclasses.asdict(train).items()})
    params["data.basin"] = basin_id
    return {k: str(v) for k, v in params.items()}


#: The paper's protocol (§2.3; ``profiles/paper.yaml`` on top of params.yaml): a run is tagged
#: ``protocol: paper`` only when every one of these knobs is the paper's. The quick defaults differ
#: in more than replicates and clipping: a forget-gate bias of 3, standardized signals inside the
#: network, a 30-epoch cap and a minimum number of updates.
PAPER_PROTOCOL = {
    "model": {"type": "lstm", "hidden_size": 50, "initial_forget_bias": None, "standardize": False},
    "train": {"window": 365, "batch_size": 256, "max_epochs": 500, "min_updates": 0, "patience": 30,
              "replicates": 100, "grad_clip": 0, "mode": "seq2one"},
}


def protocol_tag(model: ModelConfig, train: TrainConfig) -> str:
    """``paper`` when the run follows the paper's protocol exactly (every knob of
    :data:`PAPER_PROTOCOL`), else ``custom``."""
    blocks = {"model": model, "train": train}
    paper = all(getattr(blocks[block], key) == value
                for block, keys in PAPER_PROTOCOL.items() for key, value in keys.items())
    return "paper" if paper else "custom"


class MlflowReplicateObserver:
    """Mirrors replicate training into nested MLflow runs under ``parent_run_id``."""

    def __init__(self, experiment_id: str, parent_run_id: str, tags: dict[str, str], progress=None):
        self.client = MlflowClient()
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.tags = tags
        self.progress = progress
        self.open_runs: dict[int, str] = {}
        self.run_ids: dict[int, str] = {}
        self.resumed: dict[int, int] = {}  # seed → epochs the checkpoint held

    def replicate_started(self, seed: int, reused: bool, resumed_epoch: int = 0) -> None:
        tags = {
            **self.tags,
            "mlflow.parentRunId": self.parent_run_id,
            ROLE_TAG: "replicate",
            "seed": str(seed),
            "reused": str(reused).lower(),
        }
        if resumed_epoch:
            tags["resumed_from_epoch"] = str(resumed_epoch)
            self.resumed[seed] = resumed_epoch
        run = self.client.create_run(self.experiment_id, run_name=f"replicate-seed{seed}", tags=tags)
        self.client.log_param(run.info.run_id, "seed", seed)
        self.open_runs[seed] = self.run_ids[seed] = run.info.run_id
        if self.progress:
            self.progress.replicate_started(seed, reused, resumed_epoch)

    def epoch_finished(self, seed: int, epoch: int, train_loss: float, validation_loss: float) -> None:
        self.client.log_batch(
            self.open_runs[seed],
            metrics=[
                Metric("train_loss", train_loss, 0, epoch),
                Metric("validation_loss", validation_loss, 0, epoch),
            ],
        )
        if self.progress:
            self.progress.epoch_finished(seed, epoch, train_loss, validation_loss)

    def replicate_finished(self, outcome: ReplicateOutcome) -> None:
        run_id = self.open_runs.pop(outcome.seed)
        result = outcome.result
        metrics = [Metric("best_epoch", result.best_epoch, 0, 0),
                   Metric("epochs_run", result.epochs_run, 0, 0),
                   Metric("train_seconds", result.seconds, 0, 0)]
        # the interrupted run logged the curve (reused) or its start (resumed); repeat it here
        repeated = result.epochs_run if outcome.reused else self.resumed.pop(outcome.seed, 0)
        curve = zip(result.train_loss[:repeated], result.validation_loss[:repeated], strict=True)
        for epoch, (tl, vl) in enumerate(curve, 1):
            metrics += [Metric("train_loss", tl, 0, epoch), Metric("validation_loss", vl, 0, epoch)]
        for split, scores in outcome.metrics.items():
            metrics += [Metric(f"{split}_{name}", value, 0, 0) for name, value in scores.items()]
        for start in range(0, len(metrics), 900):
            self.client.log_batch(run_id, metrics=metrics[start : start + 900])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "state_dict.pt"
            torch.save(result.state_dict, path)
            self.client.log_artifact(run_id, str(path), artifact_path="weights")
        self.client.set_terminated(run_id, "FINISHED")
        if self.progress:
            self.progress.replicate_finished(outcome)

    def replicate_placed(self, seed: int, worker: str, started: float, finished: float) -> None:
        """Where and when a distributed unit trained ``seed`` (host:pid, Unix times), as tags."""
        run_id = self.run_ids[seed]
        tags = {"worker": worker, "started": f"{started:.6f}", "finished": f"{finished:.6f}"}
        for key, value in tags.items():
            self.client.set_tag(run_id, f"execution.{key}", value)

    def replicate_failed(self, seed: int, reason: str) -> None:
        """A replicate whose unit failed for good: FAILED, with the reason as a tag."""
        run_id = self.open_runs.pop(seed, None)
        if run_id is None:
            return
        self.client.set_tag(run_id, "hydroprobe.error", reason[:5000])
        self.client.set_terminated(run_id, RunStatus.to_string(RunStatus.FAILED))

    def kill_open_runs(self) -> None:
        for run_id in self.open_runs.values():
            self.client.set_terminated(run_id, RunStatus.to_string(RunStatus.KILLED))
        self.open_runs.clear()


def log_training_summary(outcome: TrainingOutcome, observer: MlflowReplicateObserver, spec: dict) -> None:
    """Parent-run summary: selected replicate, distribution, and the model spec as an artifact."""
    best = outcome.best
    mlflow.set_tag("best_seed", str(best.seed))
    mlflow.set_tag("best_run_id", observer.run_ids[best.seed])
    mlflow.set_tag("config_hash", outcome.config_hash)
    mlflow.log_metrics({f"best_{s}_{m}": v for s, scores in best.metrics.items() for m, v in scores.items()})
    for split, metrics in outcome.distribution().items():
        for name, stats in metrics.items():
            mlflow.log_metrics({f"{split}_{name}_{k}": v for k, v in stats.items()})
    mlflow.log_dict(spec, "model_spec.json")
    mlflow.log_text(json.dumps(outcome.samples, indent=2), "samples.json")


def log_convergence(convergence: dict, observer: MlflowReplicateObserver) -> None:
    """``converged`` true/false on the parent (the selected replicate) and on every replicate run.

    A run whose best epoch fell in the last tenth of its budget is tagged false, so
    the MLflow UI can filter out models whose numbers are still provisional.
    """
    mlflow.set_tag("converged", str(convergence["selected"]["converged"]).lower())
    mlflow.set_tag("train_further", convergence["train_further"])
    for seed, row in convergence["replicates"].items():
        observer.client.set_tag(observer.run_ids[int(seed)], "converged", str(row["converged"]).lower())


def log_ensemble(ensemble: dict) -> None:
    """The ensemble mean's scores on the parent run: ``ensemble_<split>_<metric>``, ``ensemble_members``."""
    scores = {f"ensemble_{split}_{name}": value for split, block in ensemble.items()
              if isinstance(block, dict) for name, value in block.items()}
    mlflow.log_metrics({**scores, "ensemble_members": ensemble["members"]})
