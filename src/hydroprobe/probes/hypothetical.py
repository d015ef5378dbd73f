"""Hypothetical climates on a 365-day year, and running a model through them.

Probes feed a model one idealised year, repeated: a day-of-year climatology,
a sinusoid fitted to it, constant precipitation inside a season. Every year
has 365 days (29 February is dropped from observations before averaging), so
day ``d`` of every simulated year is the same calendar day and the input is
exactly periodic. Each run is preceded by a spin-up of the same climate,
which is then discarded: one 365-day year, or as many whole years as a
sequence model's input window needs (a window longer than 366 days), since a
sequence model needs a full input window before its first answer and a
storage model needs to forget its initial state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hydroprobe.data.basin import PRECIPITATION, TEMPERATURE
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.data.summary import season_mask
from hydroprobe.errors import ConfigError
from hydroprobe.models.simulator import DischargeSimulator

DAYS_PER_YEAR = 365
#: The calendar of the hypothetical year (a non-leap year; only month and day matter).
YEAR = pd.date_range("2001-01-01", periods=DAYS_PER_YEAR, freq="D")
MONTH_DAYS = tuple(YEAR.strftime("%m-%d"))


def day_of_year_365(index: pd.DatetimeIndex) -> np.ndarray:
    """Day of a 365-day year (1…365) for each date; 29 February maps to 0 (to be dropped)."""
    leap_after_feb = index.is_leap_year & (index.month > 2)
    day = np.asarray(index.day_of_year) - np.asarray(leap_after_feb, dtype=int)
    day[np.asarray((index.month == 2) & (index.day == 29))] = 0
    return day


def daily_climatology(values: pd.Series) -> np.ndarray:
    """Mean of ``values`` per day of a 365-day year (29 February dropped); NaNs ignored."""
    day = day_of_year_365(pd.DatetimeIndex(values.index))
    means = values[day > 0].groupby(day[day > 0]).mean()
    if len(means) != DAYS_PER_YEAR or means.isna().any():
        raise ValueError("a daily climatology needs at least one value on every day of the year")
    return means.to_numpy(dtype=np.float64)


@dataclass(frozen=True)
class Sinusoid:
    """``mean + amplitude · cos(2π (d − warmest_day) / 365)`` on days d = 1…365."""

    mean: float
    amplitude: float
    warmest_day: float

    @classmethod
    def fit(cls, annual: np.ndarray) -> Sinusoid:
        """Least-squares fit of a 365-day harmonic to a daily annual cycle."""
        days = np.arange(1, DAYS_PER_YEAR + 1)
        omega = 2 * np.pi * days / DAYS_PER_YEAR
        design = np.column_stack([np.ones(DAYS_PER_YEAR), np.cos(omega), np.sin(omega)])
        (mean, a, b), *_ = np.linalg.lstsq(design, np.asarray(annual, dtype=np.float64), rcond=None)
        warmest = (np.arctan2(b, a) * DAYS_PER_YEAR / (2 * np.pi)) % DAYS_PER_YEAR
        return cls(float(mean), float(np.hypot(a, b)), float(warmest))

    def values(self) -> np.ndarray:
        days = np.arange(1, DAYS_PER_YEAR + 1)
        return self.mean + self.amplitude * np.cos(2 * np.pi * (days - self.warmest_day) / DAYS_PER_YEAR)

    @property
    def coldest_day(self) -> float:
        return (self.warmest_day + DAYS_PER_YEAR / 2) % DAYS_PER_YEAR


def season_days(season: Sequence[str], key: str) -> np.ndarray:
    """Boolean mask over the 365-day year for an inclusive ``[MM-DD, MM-DD]`` window (wraps the new year)."""
    try:
        return season_mask(YEAR, season)
    except ConfigError as error:
        raise ConfigError(f"params.yaml: '{key}': {error}") from error


@dataclass(frozen=True)
class Scenario:
    """One hypothetical year of daily inputs in physical units, repeated for every simulated year."""

    name: str
    precipitation: np.ndarray  # mm/d, 365 values
    temperature: np.ndarray  # °C, 365 values

    def out_of_range(self, scaler: MinMaxScaler) -> dict[str, int]:
        """Days of the year whose inputs fall outside the scaler's training range (extrapolation)."""
        frame = pd.DataFrame({PRECIPITATION: self.precipitation, TEMPERATURE: self.temperature})
        return scaler.out_of_range(frame)


def spinup_years(simulator: DischargeSimulator) -> int:
    """Whole years that cover the simulator's ``spinup_days`` (its input window or its stores); at least one.

    A sequence model needs a full window before its first answer; a storage
    model (``spinup_days``) needs time to forget its initial stores.
    """
    needed = simulator.spinup_days
    return max(1, -(-needed // DAYS_PER_YEAR))


def simulate_years(simulator: DischargeSimulator, scenario: Scenario, years: int) -> np.ndarray:
    """Discharge (m³/s) as ``(years, 365)`` after a discarded spin-up of the same climate."""
    spinup = spinup_years(simulator)
    precipitation = np.tile(scenario.precipitation, years + spinup)
    temperature = np.tile(scenario.temperature, years + spinup)
    flow = np.asarray(simulator.simulate(precipitation, temperature), dtype=np.float64)
    flow = flow[spinup * DAYS_PER_YEAR :]
    if np.isnan(flow).any():
        raise ValueError(
            f"{simulator.name} returned NaN after a {spinup}-year spin-up of scenario '{scenario.name}': "
            "a simulator with an input window must expose it as `window`"
        )
    return flow.reshape(years, DAYS_PER_YEAR)
