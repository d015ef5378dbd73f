"""Finished replicates on disk, so that an interrupted run loses no finished work.

Each replicate is a weights-only ``state_dict`` and a JSON record under
``<cache>/<recipe hash>/``, written atomically (weights first, record last), so
a record only ever exists beside complete weights and a rerun trains only what
is missing. The recipe hash covers everything that changes a replicate's numbers
(:func:`hydroprobe.training.config.config_hash`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from hydroprobe.training.trainer import ReplicateResult


class ReplicateCache:
    """Finished replicates on disk, keyed by recipe hash and seed."""

    def __init__(self, root: Path, recipe_hash: str):
        self.folder = root / recipe_hash

    def _paths(self, seed: int) -> tuple[Path, Path]:
        return self.folder / f"seed_{seed}.pt", self.folder / f"seed_{seed}.json"

    def load(self, seed: int) -> ReplicateResult | None:
        weights, record = self._paths(seed)
        if not (weights.is_file() and record.is_file()):
            return None
        info = json.loads(record.read_text())
        state = torch.load(weights, map_location="cpu", weights_only=True)
        return ReplicateResult(
            seed=seed,
            state_dict=state,
            train_loss=info["train_loss"],
            validation_loss=info["validation_loss"],
            best_epoch=info["best_epoch"],
            seconds=info["seconds"],
        )

    def save(self, result: ReplicateResult) -> None:
        """Weights first, record last: a record only ever exists beside complete weights."""
        self.folder.mkdir(parents=True, exist_ok=True)
        weights, record = self._paths(result.seed)
        _atomic(weights, lambda p: torch.save(result.state_dict, p))
        info = {
            "seed": result.seed,
            "train_loss": result.train_loss,
            "validation_loss": result.validation_loss,
            "best_epoch": result.best_epoch,
            "seconds": result.seconds,
        }
        _atomic(record, lambda p: p.write_text(json.dumps(info)))


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)
