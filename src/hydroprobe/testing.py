"""Test doubles with known physics: the probes' proof that they measure mass correctly.

Not models to study: nothing in ``models/`` imports them. A lossless linear
reservoir and a constant-flow model bracket what a probe must report.

Storage S (mm) fills with precipitation and drains as Q = k·S, so over a
periodic climate every millimetre that falls leaves as flow. Pushed through
the probe machinery it must recover ~100 % of added precipitation; a probe
that reports otherwise is broken, not the model. Temperature is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hydroprobe.data.summary import mm_per_day_to_m3s
from hydroprobe.models.simulator import KeepsNoWaterBalance


@dataclass
class LinearReservoir:
    """``S[t] = S[t-1] + P[t] − Q[t]``, ``Q[t] = k·(S[t-1] + P[t])``, in mm; output in m³/s."""

    area_km2: float
    k: float = 0.05
    name: str = "linear-reservoir"
    initial_storage_mm: float = 0.0

    has_fluxes = True
    spinup_days = 0  # starts empty: one spin-up year of the climate fills it
    scaler = None

    def simulate_fluxes(self, precipitation: np.ndarray, temperature: np.ndarray) -> dict[str, np.ndarray]:
        """Daily flow (mm/d), ET (always 0: the reservoir is lossless) and end-of-day storage (mm)."""
        storage = self.initial_storage_mm
        flow = np.empty(len(precipitation))
        held = np.empty(len(precipitation))
        for t, p in enumerate(np.asarray(precipitation, dtype=np.float64)):
            storage += p
            flow[t] = self.k * storage
            storage -= flow[t]
            held[t] = storage
        return {"flow_mm": flow, "et_mm": np.zeros(len(flow)), "storage_mm": held}

    def simulate(self, precipitation: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        return mm_per_day_to_m3s(self.simulate_fluxes(precipitation, temperature)["flow_mm"], self.area_km2)


@dataclass
class ConstantFlow(KeepsNoWaterBalance):
    """A 'model' that ignores its inputs: the probes must report ~0 % recovery for it."""

    flow_m3s: float
    name: str = "constant-flow"
    spinup_days = 0

    def simulate(self, precipitation: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        return np.full(len(precipitation), self.flow_m3s, dtype=np.float64)
