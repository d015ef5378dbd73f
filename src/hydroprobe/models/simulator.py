"""The one interface the probes drive: physical forcing in, discharge (m³/s) out.

Probes build hypothetical climates in mm/d and °C; every model — a trained
LSTM, a mass-conserving reference, a conceptual model — answers through
:class:`DischargeSimulator`, so every probe runs on every model unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.models import build_model


@runtime_checkable
class DischargeSimulator(Protocol):
    """A model the probes can run."""

    name: str

    def simulate(self, precipitation: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        """Daily discharge in m³/s for each input day.

        Days without a full input window (the first ``window - 1`` for a
        sequence model) are NaN: a probe must spin up before it measures.
        """
        ...


@dataclass
class SequenceModelSimulator:
    """A trained sequence-to-one network behind its fitted scaler, windows slid one day at a time."""

    name: str
    architecture: dict
    state_dict: dict
    scaler: MinMaxScaler
    window: int
    batch_size: int = 1024
    device: str = "cpu"

    def __post_init__(self) -> None:
        self._model = build_model(self.architecture)
        self._model.load_state_dict(self.state_dict)
        self._model.to(self.device).eval()

    def normalized_inputs(self, precipitation: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        return np.stack(
            [
                self.scaler.transform(precipitation, PRECIPITATION),
                self.scaler.transform(temperature, TEMPERATURE),
            ],
            axis=1,
        ).astype(np.float32)

    @torch.no_grad()
    def simulate(self, precipitation: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        inputs = torch.as_tensor(self.normalized_inputs(precipitation, temperature))
        n = len(inputs)
        out = np.full(n, np.nan)
        if n < self.window:
            return out
        offsets = torch.arange(-self.window + 1, 1)
        days = torch.arange(self.window - 1, n)
        predicted = []
        for start in range(0, len(days), self.batch_size):
            chunk = days[start : start + self.batch_size]
            predicted.append(self._model(inputs[chunk[:, None] + offsets].to(self.device)).float().cpu())
        out[self.window - 1 :] = self.scaler.inverse(torch.cat(predicted).numpy(), DISCHARGE)
        return out
