"""Flow and precipitation as volumes (km³), the unit in which mass balance is judged.

A probe compares what a model lets out (m³/s, daily) with what it was given
(mm/d over the basin); both become km³ here so that the comparison is one
division. A constant 1 m³/s for 365 days is 86 400 × 365 m³ = 0.031536 km³.
"""

from __future__ import annotations

import numpy as np

from hydroprobe.data.summary import SECONDS_PER_DAY

M3_PER_KM3 = 1e9


def flow_volume_km3(discharge_m3s: np.ndarray) -> float:
    """Total volume (km³) of a daily discharge series in m³/s; NaN days are an error, not zero."""
    values = np.asarray(discharge_m3s, dtype=np.float64)
    if np.isnan(values).any():
        raise ValueError("discharge contains NaN: a volume needs every day simulated (spin up first)")
    return float(values.sum() * SECONDS_PER_DAY / M3_PER_KM3)


def precipitation_volume_km3(precipitation_mm_d: np.ndarray, area_km2: float) -> float:
    """Total volume (km³) of daily basin-mean precipitation (mm/d) over ``area_km2``.

    1 mm over 1 km² is 10⁻⁶ km³.
    """
    return float(np.sum(np.asarray(precipitation_mm_d, dtype=np.float64)) * area_km2 * 1e-6)
