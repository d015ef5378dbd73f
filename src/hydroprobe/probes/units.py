"""How a probe runs its models: one after another here, or handed to an execution engine.

Every model a probe drives (the champion, each replicate) meets the same
scenarios independently, so the probes write that part as a pure function of
one model and let the caller choose where the calls run: :func:`in_process`
(the default), or a map built on :mod:`hydroprobe.execution` that makes each
model a Ray task. The probes themselves never import the engine (nor Ray), and
they assemble the answers in input order either way, so the files they write
do not depend on where the models ran.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

#: ``map_units(fn, units, shared)`` → ``[fn(unit, **shared) for unit in units]``, wherever it runs.
UnitMap = Callable[[Callable[..., Any], Sequence[Any], dict[str, Any]], list[Any]]


def in_process(fn: Callable[..., Any], units: Sequence[Any], shared: dict[str, Any]) -> list[Any]:
    """Each unit in turn in this process: the probes' behaviour before the engine existed."""
    return [fn(unit, **shared) for unit in units]
