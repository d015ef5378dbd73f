"""Open (or join) a study in shared storage, run its trials, and summarise it.

Storage is any database URL Optuna accepts; the default is a SQLite file
``optuna/study.db`` at the main repository root, so a ``dvc exp run --temp``
copy and a plain run share one study. Several workers (processes or
machines) pointed at the same storage and study name add trials to the same
study; each runs its own ``n_trials``. Workers on several machines need a
storage they all reach and that locks across machines: a PostgreSQL (or
MySQL) URL, or ``journal:///path`` (Optuna's JournalStorage) on a file system
every machine mounts. SQLite is for one machine only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from hydroprobe.config import main_repo_root
from hydroprobe.errors import ConfigError
from hydroprobe.tuning.search_space import TuneConfig

#: Trial failures that are recorded as FAIL while the study goes on (out of memory, diverged loss).
RECOVERABLE = (RuntimeError, ValueError, FloatingPointError)


def default_storage(root: Path | None = None) -> str:
    return f"sqlite:///{main_repo_root(root) / 'optuna' / 'study.db'}"


def resolve_storage(storage: str, root: Path | None = None) -> str:
    """``storage`` (``--storage``/``tune.storage``), else the project default; makes a SQLite folder."""
    storage = storage or default_storage(root)
    if storage.startswith("sqlite:///"):
        Path(storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return storage


JOURNAL = "journal:///"


def storage_backend(storage: str) -> str | optuna.storages.BaseStorage:
    """What Optuna opens for a storage URL: the URL itself, or a JournalStorage for ``journal:///PATH``.

    Optuna takes database URLs as strings but a journal file only as an object;
    keeping both as URLs lets a Ray task receive the storage as plain text.
    """
    if not storage.startswith(JOURNAL):
        return storage
    from optuna.storages.journal import JournalFileBackend

    path = Path("/" + storage.removeprefix(JOURNAL))
    path.parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def require_shared_storage(storage: str, spans_machines: bool) -> None:
    """Refuse SQLite when the workers run on other machines: each would open its own file there.

    (A SQLite file on a network file system is no better: its locking is not
    reliable across machines.)
    """
    if spans_machines and storage.startswith("sqlite"):
        raise ConfigError(
            f"tune.storage is {storage}, a SQLite file, but the Ray cluster spans several machines: "
            "their workers cannot share it. Set tune.storage (or --storage) to a PostgreSQL URL "
            "(postgresql+psycopg://USER:PASSWORD@HOST/optuna) or to journal:///PATH on a file system "
            "every machine mounts (docs/distributed.md)"
        )


def default_study_name(basin_id: str) -> str:
    return f"tune-{basin_id}"


def make_pruner(config: TuneConfig, epochs: int) -> optuna.pruners.BasePruner:
    """``tune.pruner``; a step is one epoch of one seed, so a trial has ``seeds * epochs`` steps."""
    if config.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=config.startup_trials, n_warmup_steps=config.warmup_epochs
        )
    if config.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=max(1, config.warmup_epochs), max_resource=config.seeds * epochs
        )
    return optuna.pruners.NopPruner()


def open_study(
    name: str, storage: str, pruner: optuna.pruners.BasePruner, sampler_seed: int | None
) -> tuple[optuna.Study, bool]:
    """Create the study, or join it if it exists; also say whether this call created it.

    Only one of several workers starting at once gets ``created=True`` (the
    storage refuses a second study of the same name), which lets exactly one
    of them set up shared bookkeeping such as the MLflow study run.
    """
    sampler = optuna.samplers.TPESampler(seed=sampler_seed)
    try:
        study = optuna.create_study(
            study_name=name, storage=storage_backend(storage), sampler=sampler, pruner=pruner,
            direction="maximize",
        )
        return study, True
    except optuna.exceptions.DuplicatedStudyError:
        joined = optuna.load_study(study_name=name, storage=storage_backend(storage), sampler=sampler,
                                   pruner=pruner)
        return joined, False


def run_trials(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    n_trials: int,
    timeout_s: float = 0.0,
) -> None:
    """Run this worker's trials; a recoverable failure marks its trial FAIL and the study goes on."""
    study.optimize(objective, n_trials=n_trials, timeout=timeout_s or None, catch=RECOVERABLE)


@dataclass(frozen=True)
class StudySummary:
    """Counts by state and the best complete trial, if any."""

    name: str
    counts: dict[str, int]
    best_number: int | None
    best_value: float | None
    best_params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "study": self.name,
            "trials": self.counts,
            "best_trial": self.best_number,
            "best_validation_nse": self.best_value,
            "best_params": self.best_params,
        }


def summarize(study: optuna.Study) -> StudySummary:
    trials = study.get_trials(deepcopy=False)
    counts = {state.name.lower(): 0 for state in optuna.trial.TrialState}
    for trial in trials:
        counts[trial.state.name.lower()] += 1
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        return StudySummary(study.study_name, counts, None, None, {})
    best = study.best_trial
    return StudySummary(study.study_name, counts, best.number, best.value, dict(best.params))
