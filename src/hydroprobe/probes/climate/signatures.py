"""Hydrological signatures of a daily discharge series, per water year (October–September).

Climate responses are judged on annual water balance and seasonality, not on
daily fit: mean annual flow, runoff ratio, centre of timing of annual flow,
mean annual peak and mean annual 7-day low flow. Only complete water years
count, so a partial year never biases a mean.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hydroprobe.errors import DataError
from hydroprobe.probes.volumes import flow_volume_km3, precipitation_volume_km3

WATER_YEAR_START_MONTH = 10
LOW_FLOW_DAYS = 7


def water_years(index: pd.DatetimeIndex) -> np.ndarray:
    """Water year of each day, named by the calendar year it ends in (Oct 1998–Sep 1999 → 1999)."""
    return np.asarray(index.year + (index.month >= WATER_YEAR_START_MONTH))


def complete_water_years(index: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp) -> list[int]:
    """Water years whose every day from 1 Oct to 30 Sep lies in ``index`` and in [start, end]."""
    inside = index[(index >= start) & (index <= end)]
    counts = pd.Series(1, index=water_years(inside)).groupby(level=0).size()
    return [
        int(year)
        for year, days in counts.items()
        if days == (pd.Timestamp(f"{year}-09-30") - pd.Timestamp(f"{year - 1}-10-01")).days + 1
    ]


def centre_of_timing(discharge: np.ndarray) -> float:
    """``Σ tᵢ qᵢ / Σ qᵢ`` with t = 1 on the first day (days after the water year starts)."""
    q = np.asarray(discharge, dtype=np.float64)
    return float(np.sum(np.arange(1, len(q) + 1) * q) / np.sum(q))


def low_flow(discharge: np.ndarray, days: int = LOW_FLOW_DAYS) -> float:
    """Lowest mean flow over ``days`` consecutive days (windows inside the given series only)."""
    q = np.asarray(discharge, dtype=np.float64)
    return float(np.convolve(q, np.ones(days) / days, mode="valid").min())


def by_water_year(values: pd.Series, years: list[int]) -> dict[int, np.ndarray]:
    """The daily values of each of ``years``; missing values are an error (never filled)."""
    labels = water_years(pd.DatetimeIndex(values.index))
    out = {}
    for year in years:
        chunk = values.to_numpy(dtype=np.float64)[labels == year]
        if chunk.size == 0 or np.isnan(chunk).any():
            raise DataError(
                f"water year {year - 1}-10-01..{year}-09-30 has missing or no values in "
                f"'{values.name}'; signatures need complete years"
            )
        out[year] = chunk
    return out


def annual_signatures(
    discharge_m3s: pd.Series, precipitation_mm: pd.Series, area_km2: float, years: list[int]
) -> dict[str, float]:
    """Means over ``years`` of the annual signatures; both series indexed by date."""
    if not years:
        raise DataError("no complete water year (October–September) to compute signatures on")
    flows = by_water_year(discharge_m3s, years)
    rains = by_water_year(precipitation_mm, years)
    flow_km3 = np.array([flow_volume_km3(q) for q in flows.values()])
    rain_km3 = np.array([precipitation_volume_km3(p, area_km2) for p in rains.values()])
    return {
        "mean_annual_flow_km3": float(flow_km3.mean()),
        "mean_annual_precipitation_km3": float(rain_km3.mean()),
        "runoff_ratio": float(flow_km3.sum() / rain_km3.sum()),
        "centre_of_timing_days": float(np.mean([centre_of_timing(q) for q in flows.values()])),
        "mean_annual_peak_m3s": float(np.mean([q.max() for q in flows.values()])),
        "mean_annual_low_flow_7d_m3s": float(np.mean([low_flow(q) for q in flows.values()])),
    }


def mean_annual_hydrograph(discharge_m3s: pd.Series, years: list[int]) -> np.ndarray:
    """Mean flow on each day of the water year (1–365; 30 Sep of leap water years dropped)."""
    return np.mean([q[:365] for q in by_water_year(discharge_m3s, years).values()], axis=0)
