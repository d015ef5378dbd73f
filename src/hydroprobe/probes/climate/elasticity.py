"""The basin's own precipitation elasticity of streamflow, from observed water years.

Non-parametric estimator of Sankarasubramanian, Vogel & Limbrunner (2001,
WRR): the median over years of ``(Qₜ − Q̄)/(Pₜ − P̄) · P̄/Q̄``. It needs no
model, so it is the yardstick a model's simulated elasticity is held to; its
spread comes from a bootstrap over years.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, BasinSeries
from hydroprobe.data.summary import discharge_mm_per_day
from hydroprobe.errors import DataError
from hydroprobe.probes.climate.signatures import complete_water_years, water_years

QUANTILES = (0.05, 0.95)


def observed_water_years(series: BasinSeries) -> pd.DataFrame:
    """Annual precipitation and flow (mm) of complete water years with every day observed."""
    frame = series.frame
    index = pd.DatetimeIndex(frame.index)
    years = complete_water_years(index, index[0], index[-1])
    totals = pd.DataFrame(
        {
            "precipitation_mm": frame[PRECIPITATION],
            "flow_mm": discharge_mm_per_day(frame[DISCHARGE], series.meta.area_km2),
        }
    ).groupby(water_years(index))
    observed = totals.count().min(axis=1) == totals.size()
    sums = totals.sum()
    keep = [year for year in years if observed.get(year, False)]
    return sums.loc[keep]


def elasticity_estimate(precipitation: np.ndarray, flow: np.ndarray) -> float:
    """Median over years of ``(Qₜ − Q̄)/(Pₜ − P̄) · P̄/Q̄`` (annual totals, any consistent unit).

    A year whose precipitation equals the mean has no defined term and is left
    out (in practice only bootstrap resamples that repeat one year hit this);
    NaN when no year is left.
    """
    p, q = np.asarray(precipitation, dtype=np.float64), np.asarray(flow, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (q - q.mean()) / (p - p.mean()) * p.mean() / q.mean()
    terms = terms[np.isfinite(terms)]
    return float(np.median(terms)) if terms.size else float("nan")


def observed_elasticity(series: BasinSeries, bootstrap: int = 1000, seed: int = 0) -> dict:
    """The estimate with its 5–95 % band from resampling whole water years with replacement."""
    annual = observed_water_years(series)
    if len(annual) < 3:
        raise DataError(
            f"basin '{series.meta.id}' has {len(annual)} complete observed water years; "
            "the elasticity estimator needs at least 3"
        )
    p, q = annual["precipitation_mm"].to_numpy(), annual["flow_mm"].to_numpy()
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(p), size=(bootstrap, len(p)))
    resampled = np.array([elasticity_estimate(p[d], q[d]) for d in draws])
    low, high = np.nanquantile(resampled, QUANTILES)
    return {
        "median": elasticity_estimate(p, q),
        "p05": float(low),
        "p95": float(high),
        "water_years": [int(y) for y in annual.index],
        "bootstrap": bootstrap,
        "seed": seed,
    }
