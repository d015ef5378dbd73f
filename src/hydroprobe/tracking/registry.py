"""The MLflow model registry: register the selected replicate, promote it, load it back.

Promotion is a rule, not a copy: ``champion`` moves to a version only when
it beats the current champion on validation NSE (or on ``--force``), and the
reason is stored as a tag on the version. Loading never unpickles: weights
come from a ``state_dict`` file read with ``torch.load(weights_only=True)``
and the architecture from a JSON spec stored beside them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import torch
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from hydroprobe.config import find_repo_root
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.errors import HydroprobeError
from hydroprobe.layout import Layout
from hydroprobe.models import build_model, kind_of
from hydroprobe.models.simulator import DischargeSimulator
from hydroprobe.tracking import ensemble_version, store

SPEC_FILE = "model_spec.json"
WEIGHTS_FILE = "state_dict.pt"

#: The model key whose registered name carries no suffix: the paper's LSTM was registered as
#: ``hydroprobe-<basin>`` before models became peers, and stores made then must keep loading.
UNSUFFIXED_MODEL = "lstm"


def registered_model_name(basin_id: str, model_key: str = "") -> str:
    """``hydroprobe-<basin>-<model_key>``; ``hydroprobe-<basin>`` for the paper's LSTM (or no key)."""
    if model_key in ("", UNSUFFIXED_MODEL):
        return f"hydroprobe-{basin_id}"
    return f"hydroprobe-{basin_id}-{model_key}"


def _read_train_run(path: Path, model_key: str) -> dict:
    if not path.is_file():
        raise HydroprobeError(f"{path} is missing; train the model first: `hydroprobe train --model "
                              f"{model_key}` (or `dvc repro model_train@{model_key}`)")
    return json.loads(path.read_text())


def _download_weights(run_id: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=f"weights/{WEIGHTS_FILE}", dst_path=tmp
        )
        return torch.load(path, map_location="cpu", weights_only=True)


def register(
    root: Path, basin_id: str, model_key: str = UNSUFFIXED_MODEL, candidate: str = "selected"
) -> dict:
    """Log the selected replicate as an MLflow model, register it, alias ``challenger``.

    The replicate ensemble is then registered as the next version (alias ``ensemble``,
    :mod:`.ensemble_version`); ``candidate`` (``promote.candidate``) picks the challenger.
    A network is logged as an MLflow pytorch model (signature, input example);
    a conceptual model as its JSON spec and parameter file, which is all that
    rebuilds it (Raven runs it; there is nothing to pickle).
    """
    layout = Layout(root, basin_id, model_key)
    run = _read_train_run(layout.train_run, model_key)
    store.configure(root)
    name = registered_model_name(basin_id, model_key)
    existing = _same_recipe_version(name, run)
    if existing is not None:  # same recipe, data and seed: identical weights, no new version
        return _with_ensemble(layout, _record_registration(layout, name, existing, run), run, candidate)
    spec = run["model_spec"]
    state = _download_weights(run["best_run_id"])
    log = _LOGGERS[kind_of(spec["architecture"]["type"]).logged_as]
    model_uri = log(run["best_run_id"], spec, state)
    client = MlflowClient()
    with contextlib.suppress(MlflowException):  # raised when it already exists
        client.create_registered_model(
            name, tags={"basin": basin_id, "model": model_key}
        )
    # a logged model's source is models:/<model id>; a tracking server (unlike the SQLite store)
    # refuses it unless the request names that model id too
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/") else None
    version = client.create_model_version(
        name,
        source=model_uri,
        run_id=run["best_run_id"],
        model_id=model_id,
        tags={
            "validation_nse": f"{run['validation_nse']:.6f}",
            "seed": str(run["best_seed"]),
            "training_run_id": run["parent_run_id"],
            "config_hash": run["config_hash"],
            "model_type": spec["architecture"]["type"],
            "candidate": "selected",
        },
    )
    return _with_ensemble(layout, _record_registration(layout, name, version.version, run), run, candidate)


def _with_ensemble(layout: Layout, record: dict, run: dict, candidate: str) -> dict:
    return ensemble_version.add_ensemble(layout.registered, record, run, candidate, _download_weights)


def _spec_files(folder: Path, spec: dict, state: dict) -> list[str]:
    spec_path, weights_path = folder / SPEC_FILE, folder / WEIGHTS_FILE
    spec_path.write_text(json.dumps(spec, indent=2))
    torch.save(state, weights_path)
    return [str(spec_path), str(weights_path)]


def _log_spec_model(run_id: str, spec: dict, state: dict) -> str:
    """Spec and parameters under the run's ``model/`` artifacts; the registry points there."""
    with tempfile.TemporaryDirectory() as tmp:
        files = _spec_files(Path(tmp), spec, state)
        client = MlflowClient()
        for path in files:
            client.log_artifact(run_id, path, artifact_path="model")
    return f"runs:/{run_id}/model"


def _log_torch_model(run_id: str, spec: dict, state: dict, serialization: str = "pt2") -> str:
    model = build_model(spec["architecture"])
    model.load_state_dict(state)
    model.eval()
    # two windows, not one: MLflow exports the model with torch.export, which fixes a size-1 batch
    # dimension to 1, so a one-window example would register a model that takes one window only
    example = np.zeros((2, spec["window"], spec["architecture"]["n_inputs"]), dtype=np.float32)
    with torch.no_grad():
        signature = infer_signature(example, model(torch.as_tensor(example)).numpy())
    with tempfile.TemporaryDirectory() as tmp:
        files = _spec_files(Path(tmp), spec, state)
        with mlflow.start_run(run_id=run_id):
            info = mlflow.pytorch.log_model(
                model,
                name="model",
                signature=signature,
                input_example=example,
                extra_files=files,
                serialization_format=serialization,
                pip_requirements=[f"torch=={torch.__version__.split('+')[0]}"],
            )
    return info.model_uri


#: How each ``ModelKind.logged_as`` is written to the run's artifacts; returns the model URI.
_LOGGERS = {"pytorch": _log_torch_model, "spec": _log_spec_model,
            "pytorch_pickle": functools.partial(_log_torch_model, serialization="pickle")}


def _same_recipe_version(name: str, run: dict) -> str | None:
    """A registered version trained from the same recipe hash and seed, if any."""
    return store.newest_version(name, lambda tags: tags.get("config_hash") == run["config_hash"]
                                and tags.get("seed") == str(run["best_seed"]))


def _record_registration(layout: Layout, name: str, version: str | int, run: dict) -> dict:
    MlflowClient().set_registered_model_alias(name, "challenger", str(version))
    record = {"name": name, "version": str(version), "run_id": run["best_run_id"],
              "validation_nse": run["validation_nse"], "model_uri": f"models:/{name}/{version}"}
    layout.registered.write_text(json.dumps(record, indent=2) + "\n")
    return record


def _version_nse(version) -> float:
    return float(version.tags.get("validation_nse", "nan"))


def promote(
    root: Path, basin_id: str, version: str | None = None, force: bool = False,
    model_key: str = UNSUFFIXED_MODEL,
) -> dict:
    """Move ``champion`` to ``version`` (default: the challenger) if it beats the champion."""
    store.configure(root)
    client = MlflowClient()
    name = registered_model_name(basin_id, model_key)
    try:
        candidate = (client.get_model_version(name, version) if version
                     else client.get_model_version_by_alias(name, "challenger"))
    except MlflowException as error:
        raise HydroprobeError(
            f"no model version {version or '@challenger'} of '{name}' in the registry; "
            "run 'hydroprobe register' first (DVC stage model_train)"
        ) from error
    try:
        champion = client.get_model_version_by_alias(name, "champion")
    except MlflowException:
        champion = None
    new, old = _version_nse(candidate), _version_nse(champion) if champion else float("nan")
    if champion is None:
        promoted, reason = True, "no champion yet"
    elif champion.version == candidate.version:
        promoted, reason = False, f"version {candidate.version} is already the champion"
    elif new > old:
        promoted, reason = True, f"validation NSE {new:.4f} beats champion v{champion.version} ({old:.4f})"
    elif force:
        promoted, reason = True, f"forced over champion v{champion.version} ({new:.4f} vs {old:.4f})"
    else:
        promoted, reason = False, (f"validation NSE {new:.4f} does not beat champion "
                                   f"v{champion.version} ({old:.4f}); use --force to override")
    client.set_model_version_tag(name, candidate.version, "promotion", reason)
    if promoted:
        client.set_registered_model_alias(name, "champion", candidate.version)
        champion = client.get_model_version(name, candidate.version)
    # champion.json names only the champion: probes rerun when it changes, not on every decision
    current = {"name": name, "champion_version": str(champion.version), "champion_run_id": champion.run_id,
               "validation_nse": _version_nse(champion)}
    Layout(root, basin_id, model_key).champion.write_text(json.dumps(current, indent=2) + "\n")
    return {**current, "candidate_version": str(candidate.version), "promoted": promoted, "reason": reason}


@dataclass
class ProbeModels:
    """A registered model and every replicate of the training run that produced it."""

    model_name: str
    model_version: str
    champion: DischargeSimulator
    replicates: list[DischargeSimulator]
    dataset: BasinDataset
    model_type: str = "lstm"


def _simulator(name: str, spec: dict, state: dict) -> DischargeSimulator:
    """The probes' simulator for a stored spec and weights, built as the model-kind table says."""
    return kind_of(spec["architecture"]["type"]).build_simulator(name, spec, state)


def load_probe_models(
    basin_id: str, alias: str = "champion", root: Path | None = None, model_key: str = UNSUFFIXED_MODEL
) -> ProbeModels:
    """Load ``models:/<registered name>@<alias>`` and its sibling replicates, weights-only."""
    store.configure(root)
    client = MlflowClient()
    name = registered_model_name(basin_id, model_key)
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException as error:
        raise HydroprobeError(
            f"no '{alias}' alias on registered model '{name}'; run 'hydroprobe promote' first"
        ) from error
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(mlflow.artifacts.download_artifacts(f"models:/{name}@{alias}", dst_path=tmp))
        ensemble = ensemble_version.load_registered_ensemble(folder, f"{name} v{version.version}", _simulator)
        if ensemble is None:
            spec = json.loads(next(folder.rglob(SPEC_FILE)).read_text())
            state = torch.load(next(folder.rglob(WEIGHTS_FILE)), map_location="cpu", weights_only=True)
    if ensemble is not None:  # its members are the replicates
        champion, spec = ensemble
        dataset = BasinDataset.load(Layout(root or find_repo_root(), basin_id).basin_dir)
        kind = spec["architecture"]["type"]
        return ProbeModels(name, str(version.version), champion, list(champion.members), dataset, kind)
    champion = _simulator(f"{name} v{version.version}", spec, state)
    parent = client.get_run(version.run_id).data.tags.get("mlflow.parentRunId")
    siblings = client.search_runs(
        [client.get_run(version.run_id).info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent}' and tags.`hydroprobe.role` = 'replicate' "
        "and attributes.status = 'FINISHED'",
        max_results=10_000,
    )
    replicates = [
        _simulator(f"seed {r.data.tags.get('seed')}", spec, _download_weights(r.info.run_id))
        for r in sorted(siblings, key=lambda r: int(r.data.tags.get("seed", 0)))
    ]
    dataset = BasinDataset.load(Layout(root or find_repo_root(), basin_id).basin_dir)
    model_type = spec["architecture"]["type"]
    return ProbeModels(name, str(version.version), champion, replicates, dataset, model_type)
