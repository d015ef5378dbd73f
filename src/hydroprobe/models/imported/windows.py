"""A model known only as a function of daily forcing windows, as a probe simulator.

Whatever serves the model (an MLflow pyfunc, a web service, a script) only has
to answer: given ``n`` windows of the last ``window`` days of precipitation
(mm/d) and temperature (°C), oldest day first, what is the discharge (m³/s) on
each window's last day? Sliding those windows one day at a time over a forcing
series is the same for every such model, so it lives here once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hydroprobe.models.simulator import KeepsNoWaterBalance

#: ``predict(precipitation_windows, temperature_windows)`` → discharge, each window array ``(n, window)``.
WindowPredictor = Callable[[np.ndarray, np.ndarray], np.ndarray]


def sliding_windows(values: np.ndarray, window: int) -> np.ndarray:
    """``(len(values) - window + 1, window)``: the window ending on each day from day ``window - 1`` on."""
    values = np.asarray(values, dtype=np.float32)
    if len(values) < window:
        return np.empty((0, window), dtype=np.float32)
    return np.lib.stride_tricks.sliding_window_view(values, window)


@dataclass
class WindowedForcingSimulator(KeepsNoWaterBalance):
    """Discharge from ``predict`` on every full window; NaN for the first ``window - 1`` days (spin-up)."""

    name: str
    predict: WindowPredictor
    window: int
    batch_size: int = 4096

    @property
    def spinup_days(self) -> int:
        return self.window - 1

    def simulate(self, precipitation: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        out = np.full(len(precipitation), np.nan)
        p_windows = sliding_windows(precipitation, self.window)
        t_windows = sliding_windows(temperature, self.window)
        parts = []
        for start in range(0, len(p_windows), self.batch_size):
            batch = slice(start, start + self.batch_size)
            p_batch, t_batch = p_windows[batch], t_windows[batch]
            predicted = np.asarray(self.predict(p_batch, t_batch), dtype=np.float64)
            if predicted.size != len(p_batch):
                raise ValueError(
                    f"{self.name}: {len(p_batch)} windows in, {predicted.size} values out; the model must "
                    "return one discharge per window"
                )
            parts.append(predicted.reshape(len(p_batch)))
        if parts:
            out[self.window - 1 :] = np.concatenate(parts)
        return out
