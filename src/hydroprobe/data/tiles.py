"""Tiles: a whole record evaluated a few long windows at a time, each window scoring its last days.

A model trained sequence-to-sequence on ``window``-day windows scored on their last ``span``
days (:mod:`hydroprobe.training.sequence`) is evaluated the way it was trained: windows whose
scored spans tile the record from its start, so every day after the first ``window − span`` is
predicted exactly once, by a window that warmed its states up on at least ``window − span`` days
before it. The last window ends on the record's last day and scores only the days its
predecessors left. With ``span = 1`` the tiles are the sequence-to-one sliding windows.

Why not one pass over the whole record: the states would then reach back further than any
training window did (decades instead of ``window`` days), a regime the model never saw; tiles keep
evaluation and training alike and cost ``window / span`` times one pass (2 for 730/365).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tiles:
    """Which window predicts each day: ``ends`` (unique window ends), and per predicted day its row,
    the tile predicting it (an index into ``ends``) and its position in that tile's scored span."""

    ends: np.ndarray
    days: np.ndarray
    tile: np.ndarray
    position: np.ndarray

    def gather(self, scored: np.ndarray) -> np.ndarray:
        """``(..., len(ends), span)`` scored outputs → ``(..., len(days))`` one value per day."""
        return scored[..., self.tile, self.position]


def tiles(days: np.ndarray, length: int, window: int, span: int, offset: int = 0) -> Tiles:
    """The tiles predicting ``days`` (rows ``0 … length − 1`` of one record, which starts at ``offset``).

    Days before ``window − span`` have no window and are left out; ``ends`` and ``days`` are
    returned as rows of the concatenated series (``offset`` added).
    """
    if not 1 <= span <= window:
        raise ValueError(f"span must be between 1 and the window ({window}), got {span}")
    if length < window:
        raise ValueError(f"a record of {length} days is shorter than one {window}-day window")
    days = np.asarray(days, dtype=np.int64)
    days = days[days >= window - span]
    k = (days - (window - span)) // span
    ends = np.minimum(window - 1 + k * span, length - 1)
    unique, tile = np.unique(ends, return_inverse=True)
    position = span - 1 - (ends - days)
    return Tiles(unique + offset, days + offset, tile.reshape(-1), position)
