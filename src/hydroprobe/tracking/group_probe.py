"""``group probe`` in MLflow: the group champions and basin models read back, probed basin by basin.

Split from :mod:`hydroprobe.tracking.group_stage` (training): the probes only read what training
registered (group-scope champions) or cached (basin-scope models).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import torch
from mlflow.tracking import MlflowClient

from hydroprobe.data.regional import RegionalData, load_regional, single_basin
from hydroprobe.group import pipeline
from hydroprobe.group.settings import GroupPlan
from hydroprobe.layout import Layout
from hydroprobe.probes.climate import climate_settings
from hydroprobe.probes.paper import probe_settings
from hydroprobe.probes.units import UnitMap, in_process
from hydroprobe.tracking import ensemble_version, registry, store
from hydroprobe.tracking.group_stage import raw_dir_of
from hydroprobe.tracking.training_run import ROLE_TAG
from hydroprobe.training.cache import ReplicateCache


def _download(run_id: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=f"weights/{registry.WEIGHTS_FILE}", dst_path=tmp
        )
        return torch.load(path, map_location="cpu", weights_only=True)


def load_group_champion(
    root: Path, registry_id: str, model_key: str
) -> tuple[str, str, dict, dict | list[dict], dict[int, dict]]:
    """Name, version and group spec of ``@champion``; its weights (a list: the ensemble's members);
    every replicate of its training run."""
    store.configure(root)
    client = MlflowClient()
    name = registry.registered_model_name(registry_id, model_key)
    version = client.get_model_version_by_alias(name, "champion")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(mlflow.artifacts.download_artifacts(f"models:/{name}@champion", dst_path=tmp))
        found = next(folder.rglob(ensemble_version.ENSEMBLE_SPEC_FILE), None)
        if found is not None:
            spec = json.loads(found.read_text())
            champion: dict | list[dict] = [
                torch.load(
                    found.parent / ensemble_version.member_file(s), map_location="cpu", weights_only=True
                )
                for s in spec["ensemble"]["seeds"]
            ]
        else:
            spec = json.loads(next(folder.rglob(registry.SPEC_FILE)).read_text())
            champion = torch.load(
                next(folder.rglob(registry.WEIGHTS_FILE)), map_location="cpu", weights_only=True
            )
    run = client.get_run(version.run_id)
    parent = run.data.tags.get("mlflow.parentRunId") or version.run_id
    siblings = client.search_runs(
        [run.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent}' and tags.`{ROLE_TAG}` = 'replicate' "
        "and attributes.status = 'FINISHED'",
        max_results=10_000,
    )
    replicates = {int(r.data.tags.get("seed", 0)): _download(r.info.run_id) for r in siblings}
    return name, str(version.version), spec, champion, dict(sorted(replicates.items()))


def _cached_states(root: Path, group_id: str, key: str, basin_id: str, record: dict) -> dict[int, dict]:
    """A basin-scope model's replicate weights, read back from the replicate cache."""
    cache = ReplicateCache(Layout(root, group_id).replicate_cache / key / basin_id, record["config_hash"])
    states = {}
    for seed in record["seeds"]:
        result = cache.load(seed)
        if result is None:
            raise FileNotFoundError(
                f"{cache.folder}: no cached replicate seed {seed} of {key} on {basin_id}. "
                "Fix: run `hydroprobe group train` first."
            )
        states[seed] = result.state_dict
    return states


def _probed_models(
    root: Path, plan: GroupPlan, trained: dict, data: RegionalData, champions: dict, basin_id: str
) -> dict[str, pipeline.ProbedModel]:
    """Every model of the bench as the probes' simulators of one basin."""
    models = {}
    for key, (name, version, spec, champion, replicates) in champions.items():
        models[key] = pipeline.probed_model(f"{name} v{version}", spec, champion, replicates, data, basin_id)
    for key in plan.by_scope("basin"):
        record = trained["models"][key]["basins"].get(basin_id)
        if record is None:
            continue
        one = single_basin(data, basin_id)
        states = _cached_states(root, plan.group_id, key, basin_id, record)
        champion = pipeline.champion_states(record, states)
        models[key] = pipeline.probed_model(
            f"{key} {basin_id}", record["model_spec"], champion, states, one, basin_id
        )
    return models


def run_group_probes(root: Path, plan: GroupPlan, params: dict, map_units: UnitMap = in_process) -> dict:
    """Paper and climate probes on every basin for every model; ``group.ungauged`` basins with the
    group-scope champions only, scored against their discharge.

    ``map_units`` runs each model's probes in this process or, from the CLI's Ray engine, as Ray tasks.
    """
    trained = json.loads(pipeline.train_record_path(root, plan.group_id).read_text())
    raw_dir = raw_dir_of(root, params)
    data = load_regional(plan.group_id, plan.specs, raw_dir, plan.static_names)
    champions = {key: load_group_champion(root, plan.registry_id, key) for key in plan.by_scope("group")}
    probed_params = plan.params_with_basins(params)
    basins = {}
    for number, basin_id in enumerate(data.basin_ids, 1):
        models = _probed_models(root, plan, trained, data, champions, basin_id)
        print(f"probing {number}/{len(data.basin_ids)} {basin_id}: {', '.join(models)}", flush=True)
        basins[basin_id] = pipeline.probe_basin(
            models,
            basin_id,
            probe_settings(probed_params, basin_id),
            climate_settings(probed_params, basin_id),
            pipeline.group_dir(root, plan.group_id) / "probes" / basin_id,
            map_units,
        )
    record = {
        "group": plan.group_id,
        "registry_id": plan.registry_id,
        "models": {key: {"name": c[0], "version": c[1]} for key, c in champions.items()},
        "basins": basins,
        "ungauged": _probe_ungauged(root, plan, params, champions, probed_params, map_units),
    }
    pipeline.write_json(pipeline.probe_record_path(root, plan.group_id), record)
    _log_probes(root, plan, record)
    return record


def _probe_ungauged(
    root: Path, plan: GroupPlan, params: dict, champions: dict, probed_params: dict, map_units: UnitMap
) -> dict:
    """Basins from outside the group: forcing and attributes in, their discharge read only to score."""
    if not plan.ungauged:
        return {}
    raw_dir = raw_dir_of(root, params)
    group = load_regional(plan.group_id, plan.specs, raw_dir, plan.static_names)
    outside = load_regional(plan.group_id, plan.ungauged, raw_dir, plan.static_names)
    data = RegionalData(
        plan.group_id,
        outside.series,
        outside.static_raw,
        outside.splits,
        group.scaler,
        group.static,
        f"{group.fingerprint}:outside",
    )
    out = {}
    for basin_id in data.basin_ids:
        models = {
            key: pipeline.probed_model(f"{c[0]} v{c[1]}", c[2], c[3], c[4], data, basin_id)
            for key, c in champions.items()
        }
        print(f"predicting and probing ungauged {basin_id}: {', '.join(models)}", flush=True)
        headline = pipeline.probe_basin(
            models,
            basin_id,
            probe_settings(probed_params, basin_id),
            climate_settings(probed_params, basin_id),
            pipeline.group_dir(root, plan.group_id) / "ungauged" / basin_id,
            map_units,
        )
        out[basin_id] = {
            "gauge": plan.ungauged[basin_id]["gauge_id"],
            "area_km2": data.series[basin_id].meta.area_km2,
            "models": headline,
        }
    return out


def _log_probes(root: Path, plan: GroupPlan, record: dict) -> None:
    store.configure(root)
    with mlflow.start_run(
        experiment_id=store.experiment(f"hydroprobe-group-{plan.group_id}", root),
        run_name=f"group-probe-{plan.group_id}",
        tags={
            "stage": "group_probe",
            "group.definition": plan.definition,
            **{f"model.{k}": f"{v['name']} v{v['version']}" for k, v in record["models"].items()},
        },
    ):
        mlflow.log_metrics(
            {
                f"{b}/{key}/{name}": float(value)
                for b, models in record["basins"].items()
                for key, numbers in models.items()
                for name, value in numbers.items()
                if isinstance(value, int | float) and value is not None and np.isfinite(value)
            }
        )
        mlflow.log_artifact(str(pipeline.probe_record_path(root, plan.group_id)))
