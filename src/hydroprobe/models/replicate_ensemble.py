"""The replicate ensemble as a model: the mean of its members' discharge (m³/s).

A single replicate is fragile (the one selected by validation NSE is often
not the best on test, and float-level differences between CPUs grow into a
different network); the field's answer is the mean of the replicates
(Kratzert et al. 2019). This module makes that mean a
:class:`~hydroprobe.models.simulator.DischargeSimulator` of its own, for any
member kind (LSTM, MC-LSTM, GR4J-CemaNeige), so every probe runs on it
unchanged. Averaging is linear, so when every member accounts for its water
(``simulate_fluxes``) the mean fluxes close the same balance the members do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.models.simulator import FLUX_NAMES, DischargeSimulator


def mean_of(series: Sequence[np.ndarray]) -> np.ndarray:
    """Element-wise mean of equal-shape arrays; NaN wherever any member is NaN (no partial means)."""
    if not series:
        raise ValueError("an ensemble needs at least one member")
    return np.mean(np.stack([np.asarray(s, dtype=np.float64) for s in series]), axis=0)


@dataclass
class ReplicateEnsemble:
    """Members' mean discharge; ``spinup_days`` is the longest any member needs."""

    name: str
    members: list[DischargeSimulator]
    seeds: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError(f"{self.name}: an ensemble needs at least one member")

    @property
    def spinup_days(self) -> int:
        return max(m.spinup_days for m in self.members)

    @property
    def scaler(self) -> MinMaxScaler | None:
        """The members' scaler (they share the training data's); None for conceptual members."""
        return self.members[0].scaler

    def simulate(self, precipitation: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        return mean_of([m.simulate(precipitation, temperature) for m in self.members])

    @property
    def has_fluxes(self) -> bool:
        """Only when every member keeps a water balance: a mean of some members' fluxes would not close."""
        return all(m.has_fluxes for m in self.members)

    def simulate_fluxes(self, precipitation: np.ndarray, temperature: np.ndarray) -> dict[str, np.ndarray]:
        """Members' mean ``flow_mm``, ``et_mm`` and ``storage_mm``: the mean of closed balances is closed."""
        if not self.has_fluxes:
            raise TypeError(f"{self.name}: not every member keeps a water balance")
        runs = [m.simulate_fluxes(precipitation, temperature) for m in self.members]
        return {name: mean_of([run[name] for run in runs]) for name in FLUX_NAMES}
