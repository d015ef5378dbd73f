"""Where MLflow keeps runs: the project's own store unless MLFLOW_TRACKING_URI says otherwise.

MLflow 3 refuses a plain ``./mlruns`` file store, so the default is a SQLite
database ``mlruns/mlflow.db`` with artifacts under ``mlruns/artifacts``.
Paths are resolved against the *main* repository root so that runs made by
``dvc exp run --temp/--queue`` (which execute in a throw-away copy) land in
the real store instead of vanishing with the copy.

Several processes may share the SQLite store: MLflow waits up to 20 s for
SQLite's write lock (``PRAGMA busy_timeout``), which two ``hydroprobe``
processes logging side by side never came near (measured: 2 × 150 runs).
What did break was *creating* the database: two processes starting on a fresh
store both ran MLflow's schema migrations and one died with ``duplicate column
name``. :func:`configure` therefore creates the tables under a file lock, and
:func:`locked_store_errors` turns a lock that outlasted the wait into a
:class:`~hydroprobe.errors.TrackingError` that points at a tracking server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from hydroprobe.config import main_repo_root
from hydroprobe.errors import TrackingError
from hydroprobe.tracking.owners import close_abandoned_runs, owner_tags

try:  # POSIX; elsewhere the tables are created unguarded, as MLflow itself does
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

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
    global _EXPORTED_BY_US
    if _user_uri() is None:
        _EXPORTED_BY_US = uri  # mlflow.set_tracking_uri writes it to MLFLOW_TRACKING_URI
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if uri.startswith("sqlite:///"):
        _create_sqlite_tables(uri)
    return uri


def _create_sqlite_tables(uri: str) -> None:
    """Open the store once under an exclusive file lock, so only one process runs the migrations.

    MLflow creates a missing schema on first use with no guard of its own;
    two processes starting together on a fresh store raced and one failed.
    """
    database = Path(uri.removeprefix("sqlite:///"))
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(database.with_name(database.name + ".lock"), "a") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with locked_store_errors(uri):
                MlflowClient(uri).search_experiments(max_results=1)  # builds (or checks) the schema
        finally:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_UN)


def is_locked_error(error: BaseException) -> bool:
    """Whether ``error`` (or one it was raised from) is SQLite's "database is locked"."""
    seen: BaseException | None = error
    while seen is not None:
        if "database is locked" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextmanager
def locked_store_errors(uri: str | None = None) -> Iterator[None]:
    """Re-raise SQLite's "database is locked" as a :class:`TrackingError` naming the fix."""
    try:
        yield
    except Exception as error:
        if not is_locked_error(error):
            raise
        uri = uri or mlflow.get_tracking_uri()
        raise TrackingError(
            f"the MLflow store {uri} stayed locked by another process for longer than MLflow "
            "waits (20 s); SQLite takes one writer at a time. For runs in parallel, start a "
            f"tracking server on it (`mlflow server --backend-store-uri {uri}`) and point every "
            "process at it (`export MLFLOW_TRACKING_URI=http://127.0.0.1:5000`), or run one at a time."
        ) from error


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
def probe_run(basin_id: str, stage: str, model_name: str, model_version: str, root: Path | None = None,
              model_key: str = ""):
    """An MLflow run in the basin's experiment, tagged with the probed model's name and version.

    Its name says which model it probed (``probe_paper-mclstm-v3``): ``model_key`` (params
    ``models``), else the model's name; "-" as version (the comparison) leaves the version out.
    """
    configure(root)
    experiment_id = experiment(experiment_name(basin_id), root)
    close_abandoned_runs(experiment_id, (stage,), "stage")
    tags = {"stage": stage, "model_name": model_name, "model_version": str(model_version), **owner_tags()}
    if model_key:
        tags["model"] = model_key
    version = "" if model_version == "-" else f"-v{model_version}"
    name = f"{stage}-{model_key or model_name}{version}"
    with mlflow.start_run(experiment_id=experiment_id, run_name=name, tags=tags) as run:
        yield run


def experiment_name(basin_id: str) -> str:
    return f"hydroprobe-{basin_id}"


def newest_version(name: str, matches: Callable[[dict[str, str]], bool]) -> str | None:
    """The newest version of registered model ``name`` whose tags satisfy ``matches`` (None if none).

    Registering is idempotent through it: the same recipe, data and seeds give identical
    weights, so an existing version is reused instead of adding a copy.
    """
    try:
        versions = MlflowClient().search_model_versions(f"name = '{name}'")
    except MlflowException:  # no such registered model yet
        return None
    for version in sorted(versions, key=lambda v: int(v.version), reverse=True):
        if matches(version.tags):
            return str(version.version)
    return None
