"""Unfinished replicates saved at epoch boundaries, so a killed run resumes instead of starting over.

The finished-replicate cache (:class:`~hydroprobe.training.cache.ReplicateCache`)
only helps once a replicate is done; the ensemble engine trains all replicates
of a group together, so a ``kill -9`` before the first one finishes used to lose
every epoch. A checkpoint holds everything the rest of the run depends on --
weights, Adam state, each replicate's shuffling generator, curves and
early-stopping bookkeeping -- so the resumed run ends with the same numbers,
bit for bit, as one that was never interrupted.

Checkpoints live beside the cached replicates of the same recipe
(``<cache>/<recipe hash>/checkpoint_*.pt``), are written atomically (temporary
file, then ``os.replace``) and are saved with ``torch.save`` and read with
``torch.load(weights_only=True)``: plain tensors, numbers, strings, lists and
dicts only, never pickled objects.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

FORMAT = 1  # bump when the layout of a checkpoint changes; other formats are ignored


def generator_state(generator: torch.Generator) -> torch.Tensor:
    """A generator's state as a uint8 tensor (``weights_only`` loads it; a Generator object it would not)."""
    return generator.get_state().clone()


def restore_generator(state: torch.Tensor) -> torch.Generator:
    generator = torch.Generator()
    generator.set_state(state.to(torch.uint8).cpu())
    return generator


def seeds_label(seeds: Sequence[int]) -> str:
    """A short, filename-safe name for a set of seeds: ``0-3`` when contiguous, else with a hash."""
    ordered = sorted(seeds)
    label = f"{ordered[0]}-{ordered[-1]}"
    if ordered == list(range(ordered[0], ordered[-1] + 1)):
        return label
    digest = hashlib.sha256(",".join(map(str, ordered)).encode()).hexdigest()[:8]
    return f"{label}_{digest}"


class Checkpoints:
    """The checkpoint files of one recipe, and the clock deciding when the next one is due.

    ``minutes`` is the least time between two saves of the same file; 0 turns
    checkpointing off (nothing is written, nothing is resumed). The interval
    only decides *when* state is saved, never what is computed, which is why
    ``train.checkpoint_minutes`` is not part of the recipe hash.
    """

    def __init__(self, folder: Path, minutes: float, clock: Callable[[], float] = time.monotonic):
        self.folder = folder
        self.interval = minutes * 60.0
        self.clock = clock
        self._last_saved: dict[str, float] = {}

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    def path(self, name: str) -> Path:
        return self.folder / f"checkpoint_{name}.pt"

    def start(self, name: str) -> None:
        """Start the interval of checkpoint ``name`` now (the first save comes one interval later)."""
        self._last_saved[name] = self.clock()

    def due(self, name: str) -> bool:
        if not self.enabled:
            return False
        return self.clock() - self._last_saved.get(name, float("-inf")) >= self.interval

    def save(self, name: str, state: dict[str, Any]) -> Path:
        """Write ``state`` atomically: a reader sees the previous checkpoint or this one, never half."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(name)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        torch.save({"format": FORMAT, **state}, tmp)
        os.replace(tmp, path)
        self._last_saved[name] = self.clock()
        return path

    def load(self, name: str) -> dict[str, Any] | None:
        """The checkpoint ``name``, or None when there is none (or checkpointing is off)."""
        path = self.path(name)
        if not self.enabled or not path.is_file():
            return None
        return self._read(path)

    def find(self, prefix: str) -> list[tuple[str, dict[str, Any]]]:
        """Every readable checkpoint whose name starts with ``prefix``, as ``(name, state)``."""
        if not self.enabled or not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.glob(f"checkpoint_{prefix}*.pt")):
            state = self._read(path)
            if state is not None:
                found.append((path.stem.removeprefix("checkpoint_"), state))
        return found

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)
        self._last_saved.pop(name, None)

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | None:
        """Load a checkpoint; an unreadable one or one of another format is ignored (training
        starts over, results unchanged) rather than blocking every rerun."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, EOFError, RuntimeError, pickle.UnpicklingError):
            return None
        return state if isinstance(state, dict) and state.get("format") == FORMAT else None
