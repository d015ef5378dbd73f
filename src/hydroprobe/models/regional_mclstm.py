"""The MC-LSTM over a basin group: precipitation is the mass, temperature and attributes steer the gates.

The conserving peer of :class:`~hydroprobe.models.regional_lstm.RegionalLSTM`: the same inputs
(normalised precipitation and temperature followed by a basin's z-scored static attributes), the
same shared scaler with discharge in **mm/d**. The mass path is :class:`MassConservingLSTM`'s,
unchanged: input 0 in mm/d is split over the stores, and what leaves them is discharge or
loss. Only the output unit differs: over a group discharge stays a depth (mm/d), so the
millimetres leave the network as they came, with no basin area to convert them by.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE
from hydroprobe.models.mclstm import MassConservingLSTM

if TYPE_CHECKING:
    from hydroprobe.data.regional import RegionalData

#: 1 mm/d over 86.4 km² is 1 m³/s; only a placeholder for the parent's area check, the
#: conversion factor itself is set to exactly 1 (mm/d in, mm/d out).
DEPTH_AREA_KM2 = 86.4


class RegionalMCLSTM(MassConservingLSTM):
    """:class:`MassConservingLSTM` whose last ``n_static`` inputs are a basin's attributes, in mm/d."""

    model_type = "regional_mclstm"

    def __init__(
        self,
        n_inputs: int = 8,
        hidden_size: int = 16,
        *,
        precipitation_range: Sequence[float],
        discharge_range: Sequence[float],
        temperature_range: Sequence[float] | None = None,
        standardization: dict | None = None,
        n_static: int = 6,
    ):
        if not 0 <= n_static < n_inputs - 1:
            raise ValueError(f"n_static must leave precipitation and temperature (got {n_static} of "
                             f"{n_inputs} inputs)")
        super().__init__(n_inputs, hidden_size, precipitation_range=precipitation_range,
                         discharge_range=discharge_range, area_km2=DEPTH_AREA_KM2,
                         temperature_range=temperature_range, standardization=standardization)
        self.m3s_per_mm_day = 1.0  # the group's discharge is a depth: mass leaves in mm/d
        self.n_static = n_static

    def architecture(self) -> dict:
        architecture = super().architecture()
        architecture.pop("area_km2")
        return {**architecture, "n_static": self.n_static}


def group_extras(data: RegionalData, options: dict) -> dict:
    """The model-kind table's hook over a group: the shared scaler's ranges (mm/d) and attributes."""
    scaler = data.scaler
    extras = {
        "precipitation_range": [scaler.minimum[PRECIPITATION], scaler.maximum[PRECIPITATION]],
        "discharge_range": [scaler.minimum[DISCHARGE], scaler.maximum[DISCHARGE]],
        "temperature_range": [scaler.minimum[TEMPERATURE], scaler.maximum[TEMPERATURE]],
        "n_static": len(data.static.names),
    }
    if options.get("standardize"):
        statistics = data.training_statistics()
        extras["standardization"] = {key: statistics[key] for key in ("input_mean", "input_std")}
    return extras
