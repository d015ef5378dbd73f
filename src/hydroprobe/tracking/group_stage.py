"""``group train`` and ``group probe`` in MLflow: parent runs per group, nested replicate runs, the registry.

The regional model is registered as ``hydroprobe-<group>-regional-lstm`` by
the single-basin registry code itself (:func:`hydroprobe.tracking.registry.register`
and :func:`~hydroprobe.tracking.registry.promote`, basin = the group id,
model key ``regional-lstm``), so the champion/challenger rule is the same:
``champion`` moves only to a version with a higher validation NSE, here the
median over basins. Its run records live under
``outputs/<group>/models/regional-lstm/`` (:class:`~hydroprobe.layout.Layout`).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import torch
from mlflow.tracking import MlflowClient

from hydroprobe.data.loaders.caravan_csv import DEFAULT_ROOT, read_static_attributes
from hydroprobe.data.regional import RegionalData, load_regional
from hydroprobe.data.splits import SPLIT_NAMES
from hydroprobe.execution.config import ExecutionConfig
from hydroprobe.group import pipeline
from hydroprobe.group.settings import GroupPlan
from hydroprobe.layout import Layout
from hydroprobe.probes.climate import climate_settings
from hydroprobe.probes.paper import probe_settings
from hydroprobe.probes.units import UnitMap, in_process
from hydroprobe.tracking import registry, store
from hydroprobe.tracking.owners import owner_tags
from hydroprobe.tracking.training_run import ROLE_TAG, MlflowReplicateObserver, flat_params
from hydroprobe.training import metrics
from hydroprobe.training.device import configure_cpu, resolve_device
from hydroprobe.training.fingerprint import runtime_environment
from hydroprobe.training.progress import ConsoleProgress
from hydroprobe.training.regional import RegionalReplicate, median_over_basins, train_regional_replicates
from hydroprobe.training.replicates import ReplicateOutcome
from hydroprobe.training.ungauged import predict_ungauged

MODEL_KEY = "regional-lstm"


class RegionalObserver:
    """Feeds regional replicates to :class:`MlflowReplicateObserver`: medians over basins and per basin."""

    def __init__(self, inner: MlflowReplicateObserver):
        self.inner = inner

    def replicate_started(self, seed: int, reused: bool, resumed_epoch: int = 0) -> None:
        self.inner.replicate_started(seed, reused, resumed_epoch)

    def epoch_finished(self, seed: int, epoch: int, train_loss: float, validation_loss: float) -> None:
        self.inner.epoch_finished(seed, epoch, train_loss, validation_loss)

    def replicate_finished(self, replicate: RegionalReplicate) -> None:
        flat = {
            s: {m: median_over_basins(replicate.metrics, s, m) for m in metrics.METRICS} for s in SPLIT_NAMES
        }
        flat |= {
            f"{b}/{s}": scores for b, splits in replicate.metrics.items() for s, scores in splits.items()
        }
        self.inner.replicate_finished(ReplicateOutcome(replicate.result, flat, replicate.reused))


def _raw_dir(root: Path, params: dict) -> Path:
    return Path(root) / str((params.get("data") or {}).get("raw_dir", "data"))


def _train_regional(root: Path, plan: GroupPlan, data: RegionalData, experiment_id: str, tags: dict) -> dict:
    """Train the regional replicates under one MLflow parent run, then register and promote."""
    outcome, run = _tracked_regional_training(root, plan, data, experiment_id, tags)
    layout = Layout(root, plan.group_id, MODEL_KEY)
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    layout.train_run.write_text(json.dumps(run, indent=2) + "\n")
    registered = registry.register(root, plan.group_id, MODEL_KEY)
    promotion = registry.promote(root, plan.group_id, model_key=MODEL_KEY)
    return {**_regional_summary(outcome), "registered": registered, "promotion": promotion}


def _tracked_regional_training(root: Path, plan: GroupPlan, data: RegionalData, experiment_id: str,
                               tags: dict) -> tuple:
    """The replicates as nested runs of ``group-train-<group>``; the run record register reads."""
    cache = Layout(root, plan.group_id).replicate_cache / "regional"
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"group-train-{plan.group_id}", tags=owner_tags()
    ) as parent:
        mlflow.set_tags({**tags, ROLE_TAG: "training", "model_type": "regional_lstm"})
        mlflow.log_params({
            **flat_params(plan.model, plan.train, plan.group_id),
            "group.basins": ",".join(data.basin_ids),
            "group.static_attributes": ",".join(plan.static_names),
        })
        progress = ConsoleProgress(plan.train.replicates, plan.train.max_epochs)
        inner = MlflowReplicateObserver(
            experiment_id, parent.info.run_id, {**tags, "model_type": "regional_lstm"}, progress
        )
        try:
            outcome = train_regional_replicates(data, plan.model, plan.train, cache,
                                                resolve_device(plan.train.device), RegionalObserver(inner))
        except BaseException:
            inner.kill_open_runs()
            raise
        best = outcome.best
        spec = pipeline.regional_spec(outcome.architecture, plan.train.window, data)
        mlflow.log_dict(spec, "model_spec.json")
        mlflow.set_tags({"best_seed": str(best.seed), "config_hash": outcome.config_hash})
        mlflow.log_metric("median_validation_nse", best.validation_nse)
        run = {
            "experiment_id": experiment_id,
            "parent_run_id": parent.info.run_id,
            "best_seed": best.seed,
            "best_run_id": inner.run_ids[best.seed],
            "validation_nse": best.validation_nse,
            "config_hash": outcome.config_hash,
            "model_spec": spec,
            "replicate_run_ids": {str(k): v for k, v in inner.run_ids.items()},
        }
    return outcome, run


def _regional_summary(outcome) -> dict:
    """What group_train.json says about the regional replicates."""
    return {
        "config_hash": outcome.config_hash,
        "architecture": outcome.architecture,
        "best_seed": outcome.best.seed,
        "selection": "highest median validation NSE over basins",
        "samples": outcome.samples,
        "replicates": [
            {
                "seed": r.seed,
                "best_epoch": r.result.best_epoch,
                "epochs_run": r.result.epochs_run,
                "seconds": r.result.seconds,
                "reused": r.reused,
                "median_validation_nse": r.validation_nse,
                "metrics": r.metrics,
            }
            for r in outcome.replicates
        ],
    }


def _train_single(dataset, plan: GroupPlan, cache: Path, device, observer, execution: ExecutionConfig):
    """One basin's single-basin LSTM: in this process, or each replicate group a Ray task."""
    if not execution.distributed:
        return pipeline.train_single_baselines({dataset.basin_id: dataset}, plan, cache.parent, device,
                                               {dataset.basin_id: observer})[dataset.basin_id]
    from hydroprobe.execution.engine import make_runner  # Ray only on this path
    from hydroprobe.execution.replicates import train_replicates_on

    return train_replicates_on(make_runner(execution, plan.train.threads), dataset, plan.model, plan.train,
                               cache, device, observer, execution.replicates_per_task)


def _train_singles(root: Path, plan: GroupPlan, params: dict, experiment_id: str, tags: dict,
                   execution: ExecutionConfig) -> dict:
    device = resolve_device(plan.train.device)
    datasets = {b: pipeline.single_dataset(root, plan, b, _raw_dir(root, params)) for b in plan.single_ids}
    cache = Layout(root, plan.group_id).replicate_cache / "single"
    records = {}
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"group-single-{plan.group_id}", tags=owner_tags()
    ) as parent:
        mlflow.set_tags({**tags, ROLE_TAG: "training", "model_type": "lstm"})
        mlflow.log_params(flat_params(plan.model, plan.train, plan.group_id))
        for basin_id, dataset in datasets.items():
            progress = ConsoleProgress(plan.train.replicates, plan.train.max_epochs)
            observer = MlflowReplicateObserver(
                experiment_id, parent.info.run_id, {**tags, "basin": basin_id, "model_type": "lstm"}, progress
            )
            try:
                outcome = _train_single(dataset, plan, cache / basin_id, device, observer, execution)
            except BaseException:
                observer.kill_open_runs()
                raise
            records[basin_id] = {
                "config_hash": outcome.config_hash,
                "architecture": outcome.architecture,
                "window": plan.train.window,
                "best_seed": outcome.best.seed,
                "seeds": [o.seed for o in outcome.replicates],
                "replicates": [
                    {
                        "seed": o.seed,
                        "best_epoch": o.result.best_epoch,
                        "reused": o.reused,
                        "metrics": o.metrics,
                    }
                    for o in outcome.replicates
                ],
                "selected": outcome.best.metrics,
            }
            mlflow.log_metric(f"{basin_id}/test_nse", outcome.best.metrics["test"]["nse"])
    return records


def _frac_snow(root: Path, params: dict, spec: dict, basin_id: str) -> float:
    """CAMELS frac_snow of the basin, for the report's scatter (whether or not the model reads it)."""
    folder = _raw_dir(root, params) / str(spec.get("root", DEFAULT_ROOT))
    return read_static_attributes(folder, str(spec["gauge_id"]), basin_id, ("frac_snow",))["frac_snow"]


def run_group_training(
    root: Path, plan: GroupPlan, params: dict, execution: ExecutionConfig | None = None
) -> dict:
    """Train the regional model (registered, promoted) and the single-basin baselines; write the record."""
    configure_cpu(plan.train.threads)
    store.configure(root)
    experiment_id = store.experiment(f"hydroprobe-group-{plan.group_id}", root)
    device = resolve_device(plan.train.device)
    environment = runtime_environment(device, "sequential", "regional_lstm").to_dict()
    tags = {"group": plan.group_id, **{f"env.{k}": str(v) for k, v in environment.items()}}
    data = load_regional(plan.group_id, plan.specs, _raw_dir(root, params), plan.static_names)
    regional = _train_regional(root, plan, data, experiment_id, tags)
    singles = _train_singles(root, plan, params, experiment_id, tags, execution or ExecutionConfig())
    ungauged = _predict_ungauged(root, plan, data) if plan.ungauged_folds else None
    record = {
        "group": plan.group_id,
        "profile": plan.profile(),
        "environment": environment,
        "basins": {
            b: {
                "gauge": plan.specs[b]["gauge_id"],
                "area_km2": data.series[b].meta.area_km2,
                "name": data.series[b].meta.name,
                "static_raw": data.static_raw[b],
                "frac_snow": _frac_snow(root, params, plan.specs[b], b),
            }
            for b in data.basin_ids
        },
        "single_basin_ids": plan.single_ids,
        "regional": regional,
        "single": singles,
        "ungauged": ungauged,
    }
    pipeline.write_json(pipeline.train_record_path(root, plan.group_id), record)
    return record


def _predict_ungauged(root: Path, plan: GroupPlan, data: RegionalData) -> dict:
    """k-fold over basins: each basin's scores from the model trained on the other folds (not registered)."""
    print(f"prediction in ungauged basins: {plan.ungauged_folds}-fold over {len(data.basin_ids)} basins",
          flush=True)
    device = resolve_device(plan.train.device)
    cache = Layout(root, plan.group_id).replicate_cache / "ungauged"
    basins = predict_ungauged(data, plan.model, plan.train, plan.ungauged_folds, cache, device)
    return {"folds": plan.ungauged_folds,
            "basins": {b: {"fold": u.fold, "trained_on": u.trained_on, "metrics": u.metrics}
                       for b, u in basins.items()}}


def _download(run_id: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=f"weights/{registry.WEIGHTS_FILE}", dst_path=tmp
        )
        return torch.load(path, map_location="cpu", weights_only=True)


def load_regional_champion(root: Path, group_id: str) -> tuple[str, str, dict, dict, list[tuple[int, dict]]]:
    """Name, version, spec and weights of ``@champion``, and every replicate of its training run."""
    store.configure(root)
    client = MlflowClient()
    name = registry.registered_model_name(group_id, MODEL_KEY)
    version = client.get_model_version_by_alias(name, "champion")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(mlflow.artifacts.download_artifacts(f"models:/{name}@champion", dst_path=tmp))
        spec = json.loads(next(folder.rglob(registry.SPEC_FILE)).read_text())
        state = torch.load(next(folder.rglob(registry.WEIGHTS_FILE)), map_location="cpu", weights_only=True)
    run = client.get_run(version.run_id)
    parent = run.data.tags.get("mlflow.parentRunId")
    siblings = client.search_runs(
        [run.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent}' and tags.`{ROLE_TAG}` = 'replicate' "
        "and attributes.status = 'FINISHED'",
        max_results=10_000,
    )
    replicates = sorted((int(r.data.tags.get("seed", 0)), _download(r.info.run_id)) for r in siblings)
    return name, str(version.version), spec, state, [(seed, weights) for seed, weights in replicates]


def run_group_probes(root: Path, plan: GroupPlan, params: dict, map_units: UnitMap = in_process) -> dict:
    """Paper and climate probes on every basin: the regional champion and the basin's single-basin model.

    ``map_units`` runs each model's probes in this process or, from the CLI's Ray engine, as Ray tasks.
    """
    trained = json.loads(pipeline.train_record_path(root, plan.group_id).read_text())
    data = load_regional(plan.group_id, plan.specs, _raw_dir(root, params), plan.static_names)
    name, version, spec, state, replicates = load_regional_champion(root, plan.group_id)
    cache = Layout(root, plan.group_id).replicate_cache / "single"
    probed_params = plan.params_with_basins(params)
    basins = {}
    for basin_id in data.basin_ids:
        champion = pipeline.regional_simulator(f"{name} v{version}", spec, state, data, basin_id)
        members = [
            pipeline.regional_simulator(f"regional seed {s}", spec, w, data, basin_id) for s, w in replicates
        ]
        models = {"regional": (champion, members, data.basin_dataset(basin_id))}
        if basin_id in trained["single"]:
            dataset = pipeline.BasinDataset.load(
                pipeline.group_dir(root, plan.group_id) / "basins" / basin_id
            )
            models["single"] = (
                *pipeline.single_simulators(trained["single"][basin_id], dataset, cache),
                dataset,
            )
        print(f"probing {basin_id}: {', '.join(models)}", flush=True)
        basins[basin_id] = pipeline.probe_basin(
            models,
            probe_settings(probed_params, basin_id),
            climate_settings(probed_params, basin_id),
            pipeline.group_dir(root, plan.group_id) / "probes" / basin_id,
            map_units,
        )
    record = {"group": plan.group_id, "regional_model": {"name": name, "version": version}, "basins": basins}
    pipeline.write_json(pipeline.probe_record_path(root, plan.group_id), record)
    store.configure(root)
    with mlflow.start_run(
        experiment_id=store.experiment(f"hydroprobe-group-{plan.group_id}", root),
        run_name=f"group-probe-{plan.group_id}",
        tags={"stage": "group_probe", "model_name": name, "model_version": version},
    ):
        mlflow.log_metrics(
            {
                f"{b}/{kind}/{key}": float(value)
                for b, kinds in basins.items()
                for kind, numbers in kinds.items()
                for key, value in numbers.items()
                if isinstance(value, int | float) and value is not None and np.isfinite(value)
            }
        )
        mlflow.log_artifact(str(pipeline.probe_record_path(root, plan.group_id)))
    return record
