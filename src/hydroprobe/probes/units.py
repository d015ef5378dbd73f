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

import copy
import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

#: ``map_units(fn, units, shared)`` → ``[fn(unit, **shared) for unit in units]``, wherever it runs.
UnitMap = Callable[[Callable[..., Any], Sequence[Any], dict[str, Any]], list[Any]]


def in_process(fn: Callable[..., Any], units: Sequence[Any], shared: dict[str, Any]) -> list[Any]:
    """Each unit in turn in this process: the probes' behaviour before the engine existed."""
    return [fn(unit, **shared) for unit in units]


def content_key(model: Any) -> str | None:
    """A digest of what a simulator computes from: its class and every field but its name.

    Weights, architecture, scaler, window and parameters go in; two simulators with equal keys
    give equal flows. ``None`` (never merged) for anything that is not a dataclass or holds a
    value this cannot digest exactly.
    """
    if not dataclasses.is_dataclass(model):
        return None
    digest = hashlib.sha256(type(model).__qualname__.encode())
    try:
        for field in dataclasses.fields(model):
            if field.name != "name":
                digest.update(field.name.encode())
                _digest(digest, getattr(model, field.name))
    except TypeError:
        return None
    return digest.hexdigest()


def _digest(digest: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        digest.update(f"{value.dtype}{value.shape}".encode() + np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            digest.update(repr(key).encode())
            _digest(digest, value[key])
    elif isinstance(value, list | tuple):
        digest.update(f"{type(value).__name__}{len(value)}".encode())
        for item in value:
            _digest(digest, item)
    elif dataclasses.is_dataclass(value):
        _digest(digest, {f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    elif value is None or isinstance(value, bool | int | float | str):
        digest.update(repr(value).encode())
    else:
        raise TypeError(f"cannot digest {type(value).__name__}")


def once_per_model(map_units: UnitMap, model_of: Callable[[Any], Any] = lambda unit: unit) -> UnitMap:
    """``map_units`` that runs each distinct model once and copies its answer to the same model again.

    The champion is one of the replicates (the one promotion chose), so probing "the champion and
    every replicate" would run that model twice; this runs it once (by :func:`content_key`).
    Answers are deep copies, so no caller can change another's.
    """

    def mapped(fn: Callable[..., Any], units: Sequence[Any], shared: dict[str, Any]) -> list[Any]:
        keys = [content_key(model_of(unit)) for unit in units]
        first: dict[str, int] = {}
        for index, key in enumerate(keys):
            if key is not None:
                first.setdefault(key, index)
        runs = [i for i, key in enumerate(keys) if key is None or first[key] == i]
        answers = dict(zip(runs, map_units(fn, [units[i] for i in runs], shared), strict=True))
        return [answers[i] if i in answers else copy.deepcopy(answers[first[key]])
                for i, key in enumerate(keys)]

    return mapped
