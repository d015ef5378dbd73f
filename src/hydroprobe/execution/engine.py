"""Map a pure function over independent units, in this process or as Ray tasks.

One small interface (:class:`Runner`) with two implementations, so the
commands that do many independent things (replicate groups, trials) are
written once:

* :class:`LocalRunner` calls the function unit after unit in this process;
  Ray is never imported on this path.
* :class:`RayRunner` submits each unit as a Ray task with declared resources
  (CPUs, a GPU fraction) and a pinned torch thread count. A task whose worker
  dies (killed, out of memory, node lost) is resubmitted by Ray up to
  ``max_retries`` times; an exception raised by the function itself is not
  retried, because the same inputs raise it again.

Both hand every finished unit to ``on_done`` in the driver as it arrives (so
the driver can cache and log it before the next one) and return the units
that failed instead of stopping at the first: one bad unit must not cost the
others' work. Each result carries when and where it ran, so a user (or a
test) can see which units overlapped.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hydroprobe.errors import ConfigError, HydroprobeError


@dataclass(frozen=True)
class Resources:
    """What one task declares to the scheduler; ``threads`` is its torch thread count (0 = leave)."""

    cpus: float = 1.0
    gpus: float = 0.0
    threads: int = 0


@dataclass(frozen=True)
class UnitDone:
    """A finished unit: its position in the input, its value, and when and where it ran."""

    index: int
    value: Any
    started: float  # time.time() in the worker
    finished: float
    worker: str  # host:pid


@dataclass(frozen=True)
class UnitFailed:
    """A unit that failed for good (after Ray's retries), with a one-line reason."""

    index: int
    error: str


@dataclass
class Timed:
    """What a task sends back: the function's value wrapped with its interval and worker."""

    value: Any
    started: float
    finished: float
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


def run_unit(fn: Callable[..., Any], unit: Any, shared: dict[str, Any], threads: int) -> Timed:
    """Run one unit with ``threads`` torch threads; the body of every task, local or remote."""
    if threads > 0:
        import torch

        torch.set_num_threads(threads)
    started = time.time()
    value = fn(unit, **shared)
    return Timed(value, started, time.time())


OnDone = Callable[[UnitDone], None]


class Runner(Protocol):
    """Runs ``fn(unit, **shared)`` for every unit; returns the failures, calls ``on_done`` per success."""

    def map(self, fn: Callable[..., Any], units: Sequence[Any], shared: dict[str, Any],
            on_done: OnDone) -> list[UnitFailed]: ...

    def spans_machines(self) -> bool:
        """Whether units may run on another machine than this one (then local files are not shared)."""
        ...


class LocalRunner:
    """Unit after unit in this process: today's behaviour, no Ray."""

    def __init__(self, threads: int = 0):
        self.threads = threads

    def map(self, fn: Callable[..., Any], units: Sequence[Any], shared: dict[str, Any],
            on_done: OnDone) -> list[UnitFailed]:
        failures = []
        for index, unit in enumerate(units):
            try:
                timed = run_unit(fn, unit, shared, self.threads)
            except Exception as error:  # Ctrl-C (BaseException) still stops the whole map
                failures.append(UnitFailed(index, f"{type(error).__name__}: {error}"))
                continue
            on_done(UnitDone(index, timed.value, timed.started, timed.finished, timed.worker))
        return failures

    def spans_machines(self) -> bool:
        return False


def connect_ray(address: str = "") -> Any:
    """``ray``, connected: as already, to ``address``, to RAY_ADDRESS, or to a new local cluster."""
    try:
        import ray
    except ImportError as error:
        raise ConfigError(
            "execution.engine 'ray' (or --ray-address) needs Ray: "
            "pip install 'hydroprobe[distributed]', or set execution.engine: local"
        ) from error
    if not ray.is_initialized():
        ray.init(address=address or None, include_dashboard=False, logging_level="WARNING")
    return ray


class RayRunner:
    """Each unit a Ray task with declared resources; worker deaths retried ``max_retries`` times."""

    def __init__(self, address: str = "", resources: Resources | None = None, max_retries: int = 2,
                 env: dict[str, str] | None = None):
        self.address = address
        self.resources = resources or Resources()
        self.max_retries = max_retries
        self.env = env or {}

    def map(self, fn: Callable[..., Any], units: Sequence[Any], shared: dict[str, Any],
            on_done: OnDone) -> list[UnitFailed]:
        ray = connect_ray(self.address)
        options: dict[str, Any] = {"num_cpus": self.resources.cpus, "num_gpus": self.resources.gpus,
                                   "max_retries": self.max_retries, "retry_exceptions": False}
        if self.env:
            options["runtime_env"] = {"env_vars": self.env}
        task = ray.remote(run_unit).options(**options)
        shared_ref = ray.put(shared)  # once in the object store, not once per unit
        pending = {task.remote(fn, unit, shared_ref, self.resources.threads): index
                   for index, unit in enumerate(units)}
        failures: list[UnitFailed] = []
        try:
            while pending:
                (ready,), _ = ray.wait(list(pending), num_returns=1)
                index = pending.pop(ready)
                try:
                    timed = ray.get(ready)
                except ray.exceptions.RayError as error:
                    failures.append(UnitFailed(index, describe_ray_error(error, self.max_retries)))
                    continue
                on_done(UnitDone(index, timed.value, timed.started, timed.finished, timed.worker))
        except BaseException:
            for ref in pending:  # an interrupted driver leaves no task running for nobody
                ray.cancel(ref, force=True)
            raise
        return failures

    def spans_machines(self) -> bool:
        """True when any live node of the cluster is not this machine (a remote head, or several nodes)."""
        ray = connect_ray(self.address)
        here = ray.util.get_node_ip_address()
        return any(node["NodeManagerAddress"] != here for node in ray.nodes() if node.get("Alive"))


def describe_ray_error(error: BaseException, max_retries: int) -> str:
    """One line: the function's own exception, or the worker's death after the retries."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    first_line = (str(error).strip().splitlines() or [""])[0]
    return (f"{type(error).__name__} after {max_retries} retr{'y' if max_retries == 1 else 'ies'}: "
            f"{first_line}")


class UnitsFailed(HydroprobeError, RuntimeError):
    """Units of a :func:`map_values` failed for good; ``failures`` says which and why."""

    def __init__(self, message: str, failures: list[UnitFailed]):
        super().__init__(message)
        self.failures = failures


def map_values(runner: Runner, fn: Callable[..., Any], units: Sequence[Any], shared: dict[str, Any],
               what: str = "unit") -> list[Any]:
    """``[fn(unit, **shared) for unit in units]`` through ``runner``, in input order.

    For commands whose units are worthless alone (one probe's numbers without the
    others make no metrics file): every unit still runs, then any failure stops
    the command, naming each failed unit (its ``name``, else ``what`` and its position) and why.
    """
    values: dict[int, Any] = {}
    failures = runner.map(fn, units, shared, lambda done: values.__setitem__(done.index, done.value))
    if failures:
        lines = "; ".join(f"{getattr(units[f.index], 'name', f'{what} {f.index}')}: {f.error}"
                          for f in sorted(failures, key=lambda f: f.index))
        raise UnitsFailed(f"{len(failures)} of {len(units)} {what}s failed ({lines})", failures)
    return [values[index] for index in range(len(units))]


def engine_map(config: Any, pinned_threads: int = 0, what: str = "unit") -> Callable[..., list[Any]]:
    """A ``map_units(fn, units, shared)`` on the runner ``config`` asks for (see :func:`map_values`)."""
    runner = make_runner(config, pinned_threads)

    def map_units(fn: Callable[..., Any], units: Sequence[Any], shared: dict[str, Any]) -> list[Any]:
        return map_values(runner, fn, units, shared, what)

    return map_units


def make_runner(config: Any, pinned_threads: int = 0, env: dict[str, str] | None = None) -> Runner:
    """The runner an :class:`~hydroprobe.execution.config.ExecutionConfig` asks for."""
    if not config.distributed:
        return LocalRunner()
    resources = Resources(config.cpus_per_task, config.gpus_per_task, config.task_threads(pinned_threads))
    return RayRunner(config.address, resources, config.max_retries, env)
