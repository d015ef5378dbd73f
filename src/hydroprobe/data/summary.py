"""A basin's water balance at a glance, to sanity-check data before training on it.

A wrong unit, a missing code read as flow or a wrong area shows up at once
as an absurd runoff ratio or seasonal cycle. Every statistic leaves missing
values out; nothing is filled.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE, BasinSeries
from hydroprobe.data.checks import format_date
from hydroprobe.errors import ConfigError

SECONDS_PER_DAY = 86_400.0
MONTHS = tuple(calendar.month_abbr[1:])  # ("Jan", ..., "Dec")


def discharge_mm_per_day(discharge_m3s: pd.Series | np.ndarray, area_km2: float) -> pd.Series | np.ndarray:
    """m³/s → mm/d over the basin: Q × 86400 s / (area km² × 10⁶ m²) × 10³ mm/m."""
    return discharge_m3s * SECONDS_PER_DAY / (area_km2 * 1e3)


def mm_per_day_to_m3s(flow_mm: np.ndarray | float, area_km2: float) -> np.ndarray:
    """mm/d over the basin → m³/s, the inverse of :func:`discharge_mm_per_day`.

    Loaders of depth-unit files (Caravan) and the depth-unit models share this
    one definition, so that a file read and a model run agree to the last bit.
    """
    return np.asarray(flow_mm) * 1e-3 * area_km2 * 1e6 / SECONDS_PER_DAY


def _month_day(text: object, bound: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{2})-(\d{2})", str(text).strip())
    if match:
        month, day = int(match[1]), int(match[2])
        if 1 <= month <= 12 and 1 <= day <= calendar.monthrange(2000, month)[1]:
            return month, day
    raise ConfigError(f"accumulation_season {bound} must be MM-DD (e.g. 10-15), got {text!r}")


def season_mask(index: pd.DatetimeIndex, season: Sequence[str]) -> np.ndarray:
    """True on days inside the ``(start, end)`` MM-DD window, both ends included.

    A window whose start comes after its end (10-15 → 03-15) wraps over the new year.
    """
    if isinstance(season, str) or len(season) != 2:
        raise ConfigError(f"accumulation_season must be [start, end] as MM-DD, got {season!r}")
    start = _month_day(season[0], "start")
    end = _month_day(season[1], "end")
    key = np.asarray(index.month * 100 + index.day)
    first, last = start[0] * 100 + start[1], end[0] * 100 + end[1]
    if first <= last:
        return (key >= first) & (key <= last)
    return (key >= first) | (key <= last)


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if values.notna().any() else float("nan")


def summarize(series: BasinSeries, accumulation_season: Sequence[str] = ("10-15", "03-15")) -> dict:
    """Period, missing discharge, means, runoff ratio, snow-season P and monthly flow.

    The runoff ratio compares discharge and precipitation volumes over the
    days where both are observed, so a gap in discharge does not count as a
    day without flow.
    """
    frame = series.frame
    area = series.meta.area_km2
    precipitation, discharge = frame[PRECIPITATION], frame[DISCHARGE]
    both = discharge.notna() & precipitation.notna()
    runoff = discharge_mm_per_day(discharge[both], area).sum()
    rain = precipitation[both].sum()
    monthly = discharge.groupby(frame.index.month).mean()
    in_season = season_mask(frame.index, accumulation_season)
    return {
        "basin": series.meta.id,
        "name": series.meta.name,
        "area_km2": area,
        "start": format_date(frame.index[0]),
        "end": format_date(frame.index[-1]),
        "days": int(len(frame)),
        "missing_discharge_days": int(discharge.isna().sum()),
        "mean_precipitation_mm_d": _mean(precipitation),
        "mean_temperature_c": _mean(frame[TEMPERATURE]),
        "mean_discharge_m3s": _mean(discharge),
        "runoff_ratio": float(runoff / rain) if rain > 0 else float("nan"),
        "accumulation_season": [str(bound) for bound in accumulation_season],
        "snow_season_precipitation_mm_d": _mean(precipitation[in_season]),
        "monthly_mean_discharge_m3s": {
            name: float(monthly.get(number, np.nan)) for number, name in enumerate(MONTHS, 1)
        },
    }


def format_summary(summary: dict) -> str:
    """The summary as a few aligned lines for the terminal."""
    monthly = summary["monthly_mean_discharge_m3s"]
    season = "..".join(summary["accumulation_season"])
    lines = [
        f"{summary['basin']}: {summary['name']} ({summary['area_km2']:g} km²)",
        f"  period           {summary['start']} .. {summary['end']} ({summary['days']:,} days)",
        f"  missing Q        {summary['missing_discharge_days']:,} days",
        f"  mean P           {summary['mean_precipitation_mm_d']:.2f} mm/d",
        f"  mean T           {summary['mean_temperature_c']:.2f} °C",
        f"  mean Q           {summary['mean_discharge_m3s']:.2f} m³/s",
        f"  runoff ratio     {summary['runoff_ratio']:.3f}",
        f"  P {season:<14} {summary['snow_season_precipitation_mm_d']:.2f} mm/d",
        "  monthly mean Q (m³/s)",
        "    " + " ".join(f"{name:>6}" for name in monthly),
        "    " + " ".join(f"{value:6.1f}" for value in monthly.values()),
    ]
    return "\n".join(lines)
