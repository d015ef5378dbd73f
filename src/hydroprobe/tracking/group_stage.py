"""``group train`` and ``group probe`` in MLflow: a parent run per model, nested replicates, the registry.

A group-scope model (``regional_lstm``, ``regional_mclstm``) is registered as
``hydroprobe-<group>-<definition>-<key>`` by the single-basin registry code itself
(:func:`hydroprobe.tracking.registry.register` and :func:`~hydroprobe.tracking.registry.promote`),
so the champion/challenger rule is the same: ``champion`` moves only to a version with a higher
validation NSE, here the median over basins. ``<definition>`` hashes the basins, splits and
attributes (:attr:`~hydroprobe.group.settings.GroupPlan.definition`), so a champion is only ever
compared with models trained on the same basins. Basin-scope models (the single-basin LSTMs) are
not registered; the probes read them back from the replicate cache.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import mlflow
import numpy as np

from hydroprobe.data.loaders.caravan_csv import DEFAULT_ROOT, read_static_attributes
from hydroprobe.data.regional import RegionalData, load_regional, single_basin
from hydroprobe.data.splits import SPLIT_NAMES
from hydroprobe.errors import ConfigError
from hydroprobe.group import pipeline
from hydroprobe.group.settings import GroupModel, GroupPlan
from hydroprobe.layout import Layout
from hydroprobe.tracking import registry, store
from hydroprobe.tracking.owners import owner_tags
from hydroprobe.tracking.training_run import ROLE_TAG, MlflowReplicateObserver, flat_params
from hydroprobe.training import metrics
from hydroprobe.training.device import configure_cpu, resolve_device
from hydroprobe.training.fingerprint import runtime_environment
from hydroprobe.training.progress import ConsoleProgress
from hydroprobe.training.regional import (
    GroupOutcome,
    GroupReplicate,
    median_over_basins,
    train_group_replicates,
)
from hydroprobe.training.replicates import ReplicateOutcome
from hydroprobe.training.ungauged import predict_ungauged


class GroupObserver:
    """Feeds group replicates to a replicate observer (:class:`MlflowReplicateObserver`, or the console's
    progress alone): medians over basins and, for more than one basin, per basin."""

    def __init__(self, inner: MlflowReplicateObserver | ConsoleProgress):
        self.inner = inner

    def replicate_started(self, seed: int, reused: bool, resumed_epoch: int = 0) -> None:
        self.inner.replicate_started(seed, reused, resumed_epoch)

    def epoch_finished(self, seed: int, epoch: int, train_loss: float, validation_loss: float) -> None:
        self.inner.epoch_finished(seed, epoch, train_loss, validation_loss)

    def replicate_finished(self, replicate: GroupReplicate) -> None:
        flat = {
            s: {m: median_over_basins(replicate.metrics, s, m) for m in metrics.METRICS} for s in SPLIT_NAMES
        }
        if len(replicate.metrics) > 1:
            flat |= {
                f"{b}/{s}": scores for b, splits in replicate.metrics.items() for s, scores in splits.items()
            }
        self.inner.replicate_finished(ReplicateOutcome(replicate.result, flat, replicate.reused))


def raw_dir_of(root: Path, params: dict) -> Path:
    return Path(root) / str((params.get("data") or {}).get("raw_dir", "data"))


def _environment(model: GroupModel) -> dict:
    """The machine and code this model trains with: its own kind's fingerprint, not another's."""
    return runtime_environment(resolve_device(model.train.device), "ensemble", model.model.type).to_dict()


def _tags(plan: GroupPlan, model: GroupModel) -> dict[str, str]:
    return {
        "group": plan.group_id,
        "group.definition": plan.definition,
        "model": model.key,
        "model_type": model.model.type,
        **{f"env.{k}": str(v) for k, v in _environment(model).items()},
    }


def _tracked_training(
    data: RegionalData,
    model: GroupModel,
    cache: Path,
    run_name: str,
    experiment_id: str,
    tags: dict,
    params: dict,
) -> tuple[GroupOutcome, dict]:
    """Train ``model`` on ``data`` under one MLflow parent run with nested replicates; the run record.

    Inside an active run (a basin-scope model's) the parent is nested under it.
    """
    nested = mlflow.active_run() is not None
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=run_name, tags=owner_tags(), nested=nested
    ) as parent:
        mlflow.set_tags({**tags, ROLE_TAG: "training"})
        mlflow.log_params({**flat_params(model.model, model.train, data.group_id), **params})
        progress = ConsoleProgress(model.train.replicates, model.train.max_epochs)
        inner = MlflowReplicateObserver(experiment_id, parent.info.run_id, tags, progress)
        try:
            outcome = train_group_replicates(
                data,
                model.model,
                model.train,
                cache,
                resolve_device(model.train.device),
                GroupObserver(inner),
            )
        except BaseException:
            inner.kill_open_runs()
            raise
        best = outcome.best
        spec = pipeline.group_spec(outcome.architecture, model.train, data)
        mlflow.log_dict(spec, "model_spec.json")
        mlflow.set_tags({"best_seed": str(best.seed), "config_hash": outcome.config_hash})
        mlflow.log_metrics(
            {
                "median_validation_nse": best.validation_nse,
                "ensemble_median_validation_nse": outcome.ensemble_validation_nse,
                "train_seconds": outcome.seconds,
            }
        )
        run = {
            "experiment_id": experiment_id,
            "parent_run_id": parent.info.run_id,
            "best_seed": best.seed,
            "best_run_id": inner.run_ids[best.seed],
            "validation_nse": best.validation_nse,
            "config_hash": outcome.config_hash,
            "model_spec": spec,
            "replicate_run_ids": {str(k): v for k, v in inner.run_ids.items()},
            "ensemble": {
                "seeds": [r.seed for r in outcome.replicates],
                "validation_nse": outcome.ensemble_validation_nse,
            },
        }
    return outcome, run


def _summary(outcome: GroupOutcome) -> dict:
    """What group_train.json says about one model's replicates (and their ensemble)."""
    return {
        "config_hash": outcome.config_hash,
        "architecture": outcome.architecture,
        "best_seed": outcome.best.seed,
        "seconds": outcome.seconds,
        "selection": "highest median validation NSE over basins",
        "replicates": [
            {
                "seed": r.seed,
                "best_epoch": r.result.best_epoch,
                "epochs_run": r.result.epochs_run,
                "seconds": r.result.seconds,
                "reused": r.reused,
                "median_validation_nse": r.validation_nse,
                "validation_loss": r.result.validation_loss,
                "metrics": r.metrics,
            }
            for r in outcome.replicates
        ],
        "ensemble": {
            "median_validation_nse": outcome.ensemble_validation_nse,
            "metrics": outcome.ensemble_metrics,
        },
    }


def _train_group_model(
    root: Path, plan: GroupPlan, data: RegionalData, model: GroupModel, experiment_id: str
) -> dict:
    """A group-scope model over every basin: trained, registered, promoted."""
    print(f"{model.key}: {model.kind.label} over {len(data.basin_ids)} basins", flush=True)
    cache = Layout(root, plan.group_id).replicate_cache / model.key
    params = {
        "group.basins": ",".join(data.basin_ids),
        "group.static_attributes": ",".join(plan.static_names),
    }
    outcome, run = _tracked_training(
        data,
        model,
        cache,
        f"group-train-{plan.group_id}-{model.key}",
        experiment_id,
        _tags(plan, model),
        params,
    )
    layout = Layout(root, plan.registry_id, model.key)
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    layout.train_run.write_text(json.dumps(run, indent=2) + "\n")
    registered = registry.register(root, plan.registry_id, model.key, candidate="best_validation")
    promotion = registry.promote(root, plan.registry_id, model_key=model.key)
    return {**_summary(outcome), "scope": "group", "registered": registered, "promotion": promotion}


def _train_basin_model(
    root: Path, plan: GroupPlan, data: RegionalData, model: GroupModel, experiment_id: str
) -> dict:
    """A basin-scope model on each of ``plan.single_ids`` alone, by the same trainer (a group of one)."""
    print(f"{model.key}: a {model.kind.label} on each of {len(plan.single_ids)} basins", flush=True)
    cache = Layout(root, plan.group_id).replicate_cache / model.key
    basins = {}
    # one parent run for the model, a nested run per basin (its replicates nested below): the MLflow UI
    # lists one line per model of the bench, not one per basin
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"group-single-{plan.group_id}-{model.key}", tags=owner_tags()
    ):
        mlflow.set_tags({**_tags(plan, model), ROLE_TAG: "training"})
        for number, basin_id in enumerate(plan.single_ids, 1):
            print(f"{model.key}: basin {number}/{len(plan.single_ids)} {basin_id}", flush=True)
            outcome, run = _tracked_training(
                single_basin(data, basin_id),
                model,
                cache / basin_id,
                f"{model.key}-{basin_id}",
                experiment_id,
                {**_tags(plan, model), "basin": basin_id},
                {},
            )
            basins[basin_id] = {
                **_summary(outcome),
                "model_spec": run["model_spec"],
                "seeds": [r.seed for r in outcome.replicates],
            }
    return {"scope": "basin", "basins": basins}


def _frac_snow(root: Path, params: dict, spec: dict, basin_id: str) -> float:
    """CAMELS frac_snow of the basin, for the report's scatter (whether or not the model reads it)."""
    folder = raw_dir_of(root, params) / str(spec.get("root", DEFAULT_ROOT))
    return read_static_attributes(folder, str(spec["gauge_id"]), basin_id, ("frac_snow",))["frac_snow"]


def _basin_facts(root: Path, params: dict, data: RegionalData, specs: dict[str, dict]) -> dict:
    return {
        b: {
            "gauge": specs[b]["gauge_id"],
            "area_km2": data.series[b].meta.area_km2,
            "name": data.series[b].meta.name,
            "static_raw": data.static_raw[b],
            "frac_snow": _frac_snow(root, params, specs[b], b),
        }
        for b in data.basin_ids
    }


def run_group_training(root: Path, plan: GroupPlan, params: dict) -> dict:
    """Train every model of ``group.models`` (group-scope ones registered and promoted); write the record."""
    configure_cpu(next(iter(plan.models.values())).train.threads)
    store.configure(root)
    experiment_id = store.experiment(f"hydroprobe-group-{plan.group_id}", root)
    data = load_regional(plan.group_id, plan.specs, raw_dir_of(root, params), plan.static_names)
    models = {}
    for key, model in plan.models.items():
        train = _train_group_model if model.kind.scope == "group" else _train_basin_model
        models[key] = {
            **train(root, plan, data, model, experiment_id),
            "kind": model.kind.name,
            "label": model.kind.label,
            "conserving": model.kind.conserving,
            "environment": _environment(model),
        }
    record = {
        "group": plan.group_id,
        "registry_id": plan.registry_id,
        "profile": plan.profile(),
        "basins": _basin_facts(root, params, data, plan.specs),
        "single_basin_ids": plan.single_ids,
        "models": models,
    }
    pipeline.write_json(pipeline.train_record_path(root, plan.group_id), record)
    return record


def run_group_ungauged(root: Path, plan: GroupPlan, params: dict, folds: int) -> dict:
    """k-fold over basins with the subject: each basin scored by the model trained on the other folds.

    Its own command and record (``group_ungauged.json``), so the k-fold never retrains or reprobes the
    group's bench; the report adds it when present.
    """
    subject = plan.models[plan.subject]
    if not 2 <= folds <= len(plan.specs):
        raise ConfigError(
            f"group.ungauged_folds (or --folds) must be between 2 and the {len(plan.specs)} "
            f"basins of group.gauges (got {folds})"
        )
    configure_cpu(subject.train.threads)
    data = load_regional(plan.group_id, plan.specs, raw_dir_of(root, params), plan.static_names)
    print(
        f"prediction in ungauged basins: {folds}-fold over {len(data.basin_ids)} basins "
        f"({subject.kind.label})",
        flush=True,
    )
    store.configure(root)
    experiment_id = store.experiment(f"hydroprobe-group-{plan.group_id}", root)
    cache = Layout(root, plan.group_id).replicate_cache / f"ungauged-{subject.key}"
    began = time.perf_counter()
    run_name = f"group-ungauged-{plan.group_id}-{subject.key}"
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=owner_tags()):
        mlflow.set_tags({**_tags(plan, subject), ROLE_TAG: "ungauged", "folds": str(folds)})
        progress = GroupObserver(ConsoleProgress(subject.train.replicates, subject.train.max_epochs))
        basins = predict_ungauged(
            data, subject.model, subject.train, folds, cache, resolve_device(subject.train.device), progress
        )
        scores = {b: u.metrics["test"]["nse"] for b, u in basins.items()}
        mlflow.log_metrics(
            {
                "median_test_nse": float(np.nanmedian(list(scores.values()))),
                **{f"{b}/test_nse": v for b, v in scores.items()},
            }
        )
    record = {
        "group": plan.group_id,
        "folds": folds,
        "model": subject.key,
        "profile": subject.profile(),
        "environment": _environment(subject),
        "seconds": time.perf_counter() - began,
        "basins": {
            b: {"fold": u.fold, "trained_on": u.trained_on, "metrics": u.metrics} for b, u in basins.items()
        },
    }
    pipeline.write_json(pipeline.ungauged_record_path(root, plan.group_id), record)
    return record
