"""Sequence-to-one samples by index: no copy of all windows is ever made.

Sample for day *i* = inputs of days *i − IDL + 1 … i*, target = discharge on
day *i* (paper §2.1). A window may reach back before its split's start; a
sample whose target is missing, whose window runs off the start of the
record, or whose window contains a missing forcing value is dropped and
counted, never filled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch


@dataclass(frozen=True)
class SampleIndex:
    """Day indices usable as targets, and why the others were dropped."""

    days: np.ndarray
    missing_target: int
    short_history: int
    missing_forcing: int

    def report(self) -> dict[str, int]:
        return {
            "samples": int(self.days.size),
            "dropped_missing_target": self.missing_target,
            "dropped_short_history": self.short_history,
            "dropped_missing_forcing": self.missing_forcing,
        }


class WindowedSeries:
    """Normalised inputs and target as tensors, sliced into windows on demand."""

    def __init__(self, inputs: np.ndarray, target: np.ndarray, dates: pd.DatetimeIndex, window: int):
        if window < 1:
            raise ValueError("window must be >= 1")
        self.inputs = torch.as_tensor(np.asarray(inputs, dtype=np.float32))
        self.target = torch.as_tensor(np.asarray(target, dtype=np.float32))
        self.dates = dates
        self.window = window
        self._offsets = torch.arange(-window + 1, 1)
        bad = np.isnan(np.asarray(inputs, dtype=np.float64)).any(axis=1)
        # cumulative count of days with missing forcing, to test a window in O(1)
        self._bad_cumsum = np.concatenate([[0], np.cumsum(bad)])

    def sample_index(self, start: pd.Timestamp, end: pd.Timestamp) -> SampleIndex:
        """Usable target days within [start, end]."""
        in_split = np.flatnonzero((self.dates >= start) & (self.dates <= end))
        has_target = ~np.isnan(self.target.numpy()[in_split])
        days = in_split[has_target]
        long_enough = days >= self.window - 1
        short = int((~long_enough).sum())
        days = days[long_enough]
        bad_in_window = self._bad_cumsum[days + 1] - self._bad_cumsum[days + 1 - self.window]
        clean = bad_in_window == 0
        return SampleIndex(
            days=days[clean],
            missing_target=int((~has_target).sum()),
            short_history=short,
            missing_forcing=int((~clean).sum()),
        )

    def complete(self, days: np.ndarray) -> np.ndarray:
        """Whether the window ending on each of ``days`` lies in the record with no missing forcing."""
        days = np.asarray(days)
        inside = days >= self.window - 1
        start = np.where(inside, days + 1 - self.window, 0)
        return inside & (self._bad_cumsum[days + 1] - self._bad_cumsum[start] == 0)

    def windows(self, days: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Input windows ``(len(days), window, n_inputs)`` ending on ``days``."""
        days = torch.as_tensor(days)
        return self.inputs[days[:, None] + self._offsets]

    def batch(self, days: torch.Tensor | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        days = torch.as_tensor(days)
        return self.windows(days), self.target[days]
