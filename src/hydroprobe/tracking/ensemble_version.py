"""The replicate ensemble as a registered model version, and which version becomes the challenger.

``register`` registers the selected replicate first (its version numbers
stay what they were) and then the ensemble of every replicate as another
version of the same registered model, alias ``ensemble``: a JSON spec (the
members' model spec plus their seeds) and each member's weights as a
``state_dict`` file under the training run's ``ensemble/`` artifacts. Like
the selected replicate it loads weights-only (``torch.load(weights_only=True)``),
never from a pickle. ``promote.candidate`` decides which of the two becomes
the challenger: ``selected`` (default: the paper's subject is the replicate
selected by validation) or ``best_validation`` (the higher validation NSE).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from mlflow.tracking import MlflowClient

from hydroprobe.config import require
from hydroprobe.models.replicate_ensemble import ReplicateEnsemble
from hydroprobe.models.simulator import DischargeSimulator
from hydroprobe.tracking import store

#: The ensemble's spec (distinct from a single model's ``model_spec.json``, so a loader tells them apart).
ENSEMBLE_SPEC_FILE = "ensemble_spec.json"
MEMBERS_DIR = "members"
ARTIFACT_PATH = "ensemble"
ALIAS = "ensemble"
CANDIDATES = ("selected", "best_validation")

Simulator = Callable[[str, dict, dict], DischargeSimulator]


def member_file(seed: int) -> str:
    return f"{MEMBERS_DIR}/seed_{seed}.pt"


def _same_ensemble_version(name: str, run: dict) -> str | None:
    """A registered ensemble of the same recipe and members, if any (same weights: no new version)."""
    members = ",".join(str(s) for s in run["ensemble"]["seeds"])
    return store.newest_version(name, lambda tags: tags.get("candidate") == ALIAS
                                and tags.get("config_hash") == run["config_hash"]
                                and tags.get("members") == members)


def register_ensemble(name: str, run: dict, download_weights: Callable[[str], dict]) -> str:
    """Log the members' weights and the spec under the training run; register them; alias ``ensemble``."""
    client = MlflowClient()
    existing = _same_ensemble_version(name, run)
    seeds = run["ensemble"]["seeds"]
    if existing is None:
        spec = {**run["model_spec"], "ensemble": {"seeds": seeds, "combination": "mean discharge (m³/s)"}}
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / MEMBERS_DIR).mkdir()
            (folder / ENSEMBLE_SPEC_FILE).write_text(json.dumps(spec, indent=2))
            for seed in seeds:
                state = download_weights(run["replicate_run_ids"][str(seed)])
                torch.save(state, folder / member_file(seed))
            client.log_artifacts(run["parent_run_id"], str(folder), artifact_path=ARTIFACT_PATH)
        version = client.create_model_version(
            name, source=f"runs:/{run['parent_run_id']}/{ARTIFACT_PATH}", run_id=run["parent_run_id"],
            tags={"candidate": ALIAS, "model_type": run["model_spec"]["architecture"]["type"],
                  "validation_nse": f"{run['ensemble']['validation_nse']:.6f}",
                  "members": ",".join(str(s) for s in seeds), "config_hash": run["config_hash"],
                  "training_run_id": run["parent_run_id"]},
        )
        existing = str(version.version)
    client.set_registered_model_alias(name, ALIAS, existing)
    return existing


def challenger_is_ensemble(candidate: str, run: dict) -> bool:
    """Whether ``promote.candidate`` makes the ensemble the challenger for this training run."""
    require(candidate in CANDIDATES, "promote.candidate", f"must be one of {CANDIDATES} (got {candidate!r})")
    return candidate == "best_validation" and run["ensemble"]["validation_nse"] > run["validation_nse"]


def add_ensemble(registered: Path, record: dict, run: dict, candidate: str,
                 download_weights: Callable[[str], dict]) -> dict:
    """Register the ensemble beside the selected ``record``; move ``challenger`` to it if the rule says so.

    ``registered.json`` keeps its fields for the challenger and gains ``selected``,
    ``ensemble`` and ``candidate_rule``. A training run from before the ensemble
    existed (no ``ensemble`` in ``train_run.json``) is left as it was.
    """
    if "ensemble" not in run:
        return record
    name = record["name"]
    version = register_ensemble(name, run, download_weights)
    ensemble = {"version": version, "run_id": run["parent_run_id"], "members": run["ensemble"]["seeds"],
                "validation_nse": run["ensemble"]["validation_nse"], "model_uri": f"models:/{name}/{version}"}
    selected = {key: record[key] for key in ("version", "run_id", "validation_nse", "model_uri")}
    challenger = ensemble if challenger_is_ensemble(candidate, run) else selected
    MlflowClient().set_registered_model_alias(name, "challenger", challenger["version"])
    out = {"name": name, **{k: v for k, v in challenger.items() if k != "members"},
           "candidate_rule": candidate, "selected": selected, "ensemble": ensemble}
    registered.write_text(json.dumps(out, indent=2) + "\n")
    return out


def load_registered_ensemble(
    folder: Path, name: str, simulator: Simulator
) -> tuple[ReplicateEnsemble, dict] | None:
    """The ensemble and its spec from a downloaded version's ``folder``; None if it holds a single model."""
    found = next(folder.rglob(ENSEMBLE_SPEC_FILE), None)
    if found is None:
        return None
    spec = json.loads(found.read_text())
    seeds = spec["ensemble"]["seeds"]
    members = [
        simulator(f"seed {seed}", spec,
                  torch.load(found.parent / member_file(seed), map_location="cpu", weights_only=True))
        for seed in seeds
    ]
    return ReplicateEnsemble(f"{name} (ensemble of {len(seeds)})", members, list(seeds)), spec
