"""Where MLflow keeps runs: the project's own store unless MLFLOW_TRACKING_URI says otherwise.

MLflow 3 refuses a plain ``./mlruns`` file store, so the default is a SQLite
database ``mlruns/mlflow.db`` with artifacts under ``mlruns/artifacts``.
Paths are resolved against the *main* repository root so that runs made by
``dvc exp run --temp/--queue`` (which execute in a throw-away copy) land in
the real store instead of vanishing with the copy.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import mlflow

from hydroprobe.config import main_repo_root

# The project never phones home; set before MLflow reads them.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
# per-file download bars flood DVC logs; stage commands print their own summary
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def default_tracking_uri(root: Path | None = None) -> str:
    return f"sqlite:///{main_repo_root(root) / 'mlruns' / 'mlflow.db'}"


def artifact_root(root: Path | None = None) -> Path:
    return main_repo_root(root) / "mlruns" / "artifacts"


def _user_uri() -> str | None:
    """The store the user chose in MLFLOW_TRACKING_URI, not the value MLflow exported for us."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or None
    return None if uri == _EXPORTED_BY_US else uri


_EXPORTED_BY_US: str | None = None


def configure(root: Path | None = None) -> str:
    """Point MLflow at the project store (or the server in MLFLOW_TRACKING_URI); return the URI."""
    uri = _user_uri() or default_tracking_uri(root)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    global _EXPORTED_BY_US
    if _user_uri() is None:
        _EXPORTED_BY_US = uri  # mlflow.set_tracking_uri writes it to MLFLOW_TRACKING_URI
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def experiment(name: str, root: Path | None = None) -> str:
    """Get or create experiment ``name`` with artifacts under the project store; return its id."""
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    # mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI, so ask what the *user* chose: the
    # project store keeps artifacts under mlruns/ of the main repo, never in a DVC temp copy
    location = None if _user_uri() else artifact_root(root).as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


@contextmanager
def probe_run(basin_id: str, stage: str, model_name: str, model_version: str, root: Path | None = None):
    """An MLflow run in the basin's experiment, tagged with the probed model's name and version."""
    configure(root)
    experiment_id = experiment(experiment_name(basin_id), root)
    tags = {"stage": stage, "model_name": model_name, "model_version": str(model_version)}
    name = f"{stage}-v{model_version}"
    with mlflow.start_run(experiment_id=experiment_id, run_name=name, tags=tags) as run:
        yield run


def experiment_name(basin_id: str) -> str:
    return f"hydroprobe-{basin_id}"


def registered_model_name(basin_id: str, reference: str = "") -> str:
    """``hydroprobe-<basin>`` for the model under test, ``hydroprobe-<basin>-<reference>`` for a reference."""
    return f"hydroprobe-{basin_id}-{reference}" if reference else f"hydroprobe-{basin_id}"
