"""Water-balance plausibility: catch a column in the wrong unit that no range check sees.

Discharge in cubic feet per second written where m³/s belongs is 35 times too
large, yet every value is positive and finite, so the value checks pass and a
model trains on it without complaint. The basin's runoff ratio (mean discharge
as mm/d over the basin area, divided by mean precipitation) exposes it: a basin
cannot return much more water than falls on it. Real data can exceed 1 a
little where the precipitation product under-catches mountain snow (two of the
35 Caravan basins in the shared data do, at 1.05 and 1.18), so a ratio between
1 and 2 only warns; above 2 it is an error that names the likely mix-up.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION
from hydroprobe.errors import ConfigError, DataError, DataWarning

#: Days with both precipitation and discharge needed before the ratio is judged: one
#: season alone (a snowmelt May) can release far more water than fell in it.
MIN_OVERLAP_DAYS = 365
#: Above this runoff ratio the data are an error, above WARN_RATIO a warning.
ERROR_RATIO = 2.0
WARN_RATIO = 1.0
#: Mean precipitation below this (mm/d, about 18 mm a year) is drier than any basin
#: with a river: the column is in metres or centimetres.
MIN_MEAN_PRECIPITATION = 0.05
#: m³/s → mm/d over a basin of 1 km²: 86 400 s / 10⁶ m² × 10³ mm/m.
MM_PER_DAY_PER_M3S_KM2 = 86.4
CUBIC_FEET_PER_CUBIC_METRE = 35.315
#: A typical runoff ratio, to rank the unit mix-ups by how ordinary a ratio they restore.
TYPICAL_RATIO = 0.4
#: A mix-up is offered as an explanation only when its fix gives a ratio in this range.
PLAUSIBLE_RATIO = (0.02, WARN_RATIO)


@dataclass(frozen=True)
class WaterBalance:
    """Mean precipitation and discharge (both mm/d) over the days where both exist."""

    precipitation_mm_d: float
    discharge_mm_d: float
    days: int
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def ratio(self) -> float:
        if self.precipitation_mm_d <= 0:
            return math.inf if self.discharge_mm_d > 0 else math.nan
        return self.discharge_mm_d / self.precipitation_mm_d

    def describe(self, area_km2: float) -> str:
        """The numbers behind the ratio, so the user can redo the arithmetic."""
        return (
            f"mean discharge {self.discharge_mm_d:.3g} mm/d (m³/s spread over area_km2 "
            f"{area_km2:g}) against mean precipitation {self.precipitation_mm_d:.3g} mm/d, over "
            f"the {self.days} days with both ({self.start:%Y-%m-%d} to {self.end:%Y-%m-%d})"
        )


def water_balance(frame: pd.DataFrame, area_km2: float) -> WaterBalance | None:
    """The balance over days with both values; None when fewer than a year of them."""
    precipitation = frame[PRECIPITATION].to_numpy(dtype=float, na_value=np.nan)
    discharge = frame[DISCHARGE].to_numpy(dtype=float, na_value=np.nan)
    both = np.isfinite(precipitation) & np.isfinite(discharge)
    days = int(both.sum())
    if days < MIN_OVERLAP_DAYS:
        return None
    dates = frame.index[both]
    return WaterBalance(
        precipitation_mm_d=float(precipitation[both].mean()),
        discharge_mm_d=float(discharge[both].mean() * MM_PER_DAY_PER_M3S_KM2 / area_km2),
        days=days,
        start=dates[0],
        end=dates[-1],
    )


def _mix_ups(area_km2: float) -> list[tuple[str, str, str, float]]:
    """(column, unit written, fix, factor the fix applies to the ratio)."""
    to_m3s = area_km2 / MM_PER_DAY_PER_M3S_KM2
    return [
        (DISCHARGE, "cubic feet per second", f"divide it by {CUBIC_FEET_PER_CUBIC_METRE}",
         1 / CUBIC_FEET_PER_CUBIC_METRE),
        (DISCHARGE, "litres per second", "divide it by 1000", 1e-3),
        (DISCHARGE, "mm/d", f"multiply it by area_km2 / 86.4 = {to_m3s:.4g}", to_m3s),
        (PRECIPITATION, "centimetres", "multiply it by 10", 0.1),
    ]  # fmt: skip


def likely_mix_ups(ratio: float, area_km2: float) -> list[tuple[str, str]]:
    """(column, explanation) of the unit mix-ups whose fix gives a plausible ratio, likeliest first.

    Precipitation in metres is not offered: it is caught before, by its mean.
    """
    found = []
    for column, unit, fix, factor in _mix_ups(area_km2):
        fixed = ratio * factor
        if PLAUSIBLE_RATIO[0] <= fixed <= PLAUSIBLE_RATIO[1]:
            distance = abs(math.log(fixed / TYPICAL_RATIO))
            found.append((distance, column, f"{column} in {unit} ({fix}: runoff ratio {fixed:.3g})"))
    return [(column, text) for _, column, text in sorted(found)]


def _too_high(file: str, balance: WaterBalance, area_km2: float) -> DataError:
    ratio = balance.ratio
    mix_ups = likely_mix_ups(ratio, area_km2)
    column = mix_ups[0][0] if mix_ups else DISCHARGE
    if mix_ups:
        guess = f"Likeliest: {mix_ups[0][1]}."
        if len(mix_ups) > 1:
            guess += " Also possible: " + "; ".join(text for _, text in mix_ups[1:]) + "."
    else:
        guess = "No single unit mix-up explains it; check both columns and area_km2."
    return DataError(
        f"{file}: column '{column}': runoff ratio {ratio:.3g} is above {ERROR_RATIO:g}: "
        f"{balance.describe(area_km2)}. A basin cannot return twice the water that falls on it, "
        f"so a unit is wrong. {guess} Fix: write discharge in m³/s (cfs: divide by "
        f"{CUBIC_FEET_PER_CUBIC_METRE}; l/s: divide by 1000; mm/d: multiply by area_km2 / 86.4) "
        "and precipitation in mm/d (cm: multiply by 10; m: by 1000), and check that area_km2 "
        "in params.yaml is the drainage area in km²."
    )


def check_precipitation_mean(frame: pd.DataFrame, file: str) -> None:
    """Mean precipitation of a year or more is not implausibly small (metres or centimetres)."""
    values = frame[PRECIPITATION].dropna()
    if len(values) < MIN_OVERLAP_DAYS:
        return
    mean = float(values.mean())
    if mean >= MIN_MEAN_PRECIPITATION:
        return
    raise DataError(
        f"{file}: column '{PRECIPITATION}': mean precipitation {mean:.3g} mm/d "
        f"({mean * 365.25:.3g} mm a year over {len(values)} days) is implausibly small for a "
        "basin with a river: precipitation looks like metres or centimetres. Fix: write it in "
        f"mm/d: multiply metres by 1000 (mean {mean * 1000:.3g} mm/d) or centimetres by 10 "
        f"(mean {mean * 10:.3g} mm/d)."
    )


def check_water_balance(frame: pd.DataFrame, file: str, area_km2: float) -> None:
    """Precipitation and discharge agree with each other and the basin area.

    Raises a :class:`DataError` for mean precipitation under
    :data:`MIN_MEAN_PRECIPITATION` mm/d or a runoff ratio above
    :data:`ERROR_RATIO`, and warns (:class:`DataWarning`) for a ratio between
    :data:`WARN_RATIO` and :data:`ERROR_RATIO`. Short records are not judged:
    each test needs at least :data:`MIN_OVERLAP_DAYS` days of data (for the
    ratio, days with both precipitation and discharge), because a single
    season can drain snow and groundwater stored long before it.
    """
    if not area_km2 > 0:
        raise ConfigError(
            f"{file}: area_km2 is {area_km2!r}. Fix: give the basin's drainage area in km² "
            "(area_km2 in its block of params.yaml)."
        )
    check_precipitation_mean(frame, file)
    balance = water_balance(frame, area_km2)
    if balance is None or not balance.ratio > WARN_RATIO:
        return
    if balance.ratio > ERROR_RATIO:
        raise _too_high(file, balance, area_km2)
    warnings.warn(
        f"{file}: column '{DISCHARGE}': runoff ratio {balance.ratio:.3g} is above {WARN_RATIO:g}: "
        f"{balance.describe(area_km2)}. The basin returns more water than the precipitation it "
        "receives. Real data do this where precipitation under-catches "
        "mountain snow; otherwise check that discharge is in m³/s, precipitation in mm/d and "
        "area_km2 is the drainage area in km².",
        DataWarning,
        stacklevel=2,
    )
