"""Optuna workers as units of a :class:`~hydroprobe.execution.engine.Runner` (``tune`` on Ray).

The driver creates (or joins) the study and its MLflow study run; each unit is
one Optuna worker that joins the study on the shared storage, runs its share of
trials with its own sampler seed and reports to the storage as any worker does
(so pruning compares it with every other worker's trials). What it would have
told MLflow it records instead (:class:`TrialRecorder`) and sends back; the
driver replays those events into the tracker, so every trial becomes a nested
run under the study run, with the same params, curves and state as in-process.

Why the driver logs rather than the tasks: the tasks stay free of MLflow and of
its credentials, and the default MLflow store (a SQLite file on the driver's
machine) is out of a remote worker's reach. The price: a worker's trial runs
appear when that worker finishes, not live; a worker Ray reruns after its
process died runs its share again, and the trials of the dead attempt stay in
the study without an MLflow run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from hydroprobe.data.dataset import BasinDataset
from hydroprobe.errors import HydroprobeError
from hydroprobe.execution.engine import Runner, UnitDone, UnitFailed
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.tuning.objective import Objective, TrialObserver
from hydroprobe.tuning.search_space import TuneConfig


class WorkersFailedError(HydroprobeError, RuntimeError):
    """Some Optuna workers stopped on an error; the trials they finished are in the study and logged."""


@dataclass(frozen=True)
class Worker:
    """One Optuna worker: its index, how many trials it runs and its sampler seed."""

    index: int
    n_trials: int
    sampler_seed: int | None


@dataclass
class TrialRecorder:
    """A :class:`~hydroprobe.tuning.objective.TrialObserver` that keeps each call for the driver to replay."""

    events: list[tuple[str, tuple, float]] = field(default_factory=list)

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        self.events.append(("trial_started", (number, params), time.time()))

    def epoch_finished(self, number: int, seed: int, epoch: int, train_loss: float,
                       validation_nse: float) -> None:
        self.events.append(("epoch_finished", (number, seed, epoch, train_loss, validation_nse), time.time()))

    def trial_finished(self, number: int, state: str, value: float | None, summary: dict[str, float]) -> None:
        self.events.append(("trial_finished", (number, state, value, summary), time.time()))


@dataclass
class WorkerResult:
    """What a worker sends back: the observer calls of its trials, and the error that stopped it, if any."""

    events: list[tuple[str, tuple, float]]
    error: str = ""


def workers_for(tune: TuneConfig) -> list[Worker]:
    """``tune.workers`` workers sharing ``tune.n_trials``; seeds ``sampler_seed + index`` when set."""
    return [Worker(index, n, tune.worker_sampler_seed(index)) for index, n in enumerate(tune.worker_trials())]


def tune_worker(worker: Worker, dataset: BasinDataset, model: ModelConfig, train: TrainConfig,
                tune: TuneConfig, study_name: str, storage: str) -> WorkerResult:
    """The task body: join the study and run this worker's trials (module level, so Ray imports it).

    An error that stops the worker (one Optuna does not record as a FAIL trial
    and go on) is returned with the events so far, so its finished trials are
    still logged by the driver.
    """
    from hydroprobe.training.device import configure_cpu, resolve_device
    from hydroprobe.tuning import study

    configure_cpu(0)  # flush denormals as in-process; the thread count is pinned by the runner
    epochs = tune.epochs(train)
    shared, _ = study.open_study(study_name, storage, study.make_pruner(tune, epochs), worker.sampler_seed)
    recorder = TrialRecorder()
    objective = Objective(dataset, model, train, tune, resolve_device(train.device), recorder)
    try:
        study.run_trials(shared, objective, worker.n_trials, tune.timeout_s)
    except Exception as error:
        return WorkerResult(recorder.events, f"{type(error).__name__}: {error}")
    return WorkerResult(recorder.events)


def replay(result: WorkerResult, observer: TrialObserver, done: UnitDone) -> None:
    """The worker's observer calls in order, plus where and when each trial ran (if the observer notes it)."""
    place = getattr(observer, "trial_placed", None)
    started: dict[int, float] = {}
    for name, args, at in result.events:
        if name == "trial_started":
            started[args[0]] = at
        if name == "trial_finished" and place is not None:
            place(args[0], done.worker, started.get(args[0], done.started), at)
        getattr(observer, name)(*args)


def run_workers_on(runner: Runner, workers: list[Worker], observer: TrialObserver,
                   **shared: Any) -> None:
    """Run ``workers`` through ``runner``, replaying each one's trials into ``observer`` as it finishes.

    Raises :class:`WorkersFailedError` after every worker ended if any stopped on an
    error or died past its retries; the trials that finished are logged either way.
    """
    errors: dict[int, str] = {}

    def done(result: UnitDone) -> None:
        replay(result.value, observer, result)
        if result.value.error:
            errors[workers[result.index].index] = result.value.error

    failures: list[UnitFailed] = runner.map(tune_worker, workers, shared, done)
    errors |= {workers[f.index].index: f.error for f in failures}
    if errors:
        lines = "; ".join(f"worker {index}: {reason}" for index, reason in sorted(errors.items()))
        raise WorkersFailedError(
            f"{len(errors)} of {len(workers)} Optuna worker(s) failed ({lines}); "
            "their finished trials are in the study: rerun `hydroprobe tune` to add more"
        )
