"""Goodness-of-fit in physical units, missing observations excluded.

Each function takes observed and simulated arrays of equal length, drops
pairs where either is NaN, and returns a float. Definitions follow the
hydrological literature (Nash & Sutcliffe 1970; Gupta et al. 2009 for KGE).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _valid(observed: np.ndarray, simulated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    observed = np.asarray(observed, dtype=np.float64)
    simulated = np.asarray(simulated, dtype=np.float64)
    if observed.shape != simulated.shape:
        raise ValueError(f"observed {observed.shape} and simulated {simulated.shape} differ in shape")
    keep = ~(np.isnan(observed) | np.isnan(simulated))
    if keep.sum() < 2:
        raise ValueError("fewer than two valid observation/simulation pairs")
    return observed[keep], simulated[keep]


def rmse(observed: np.ndarray, simulated: np.ndarray) -> float:
    """Root mean square error, in the units of the inputs (m³/s)."""
    obs, sim = _valid(observed, simulated)
    return float(np.sqrt(np.mean((sim - obs) ** 2)))


def pearson_r(observed: np.ndarray, simulated: np.ndarray) -> float:
    """Pearson correlation coefficient."""
    obs, sim = _valid(observed, simulated)
    return float(np.corrcoef(obs, sim)[0, 1])


def nse(observed: np.ndarray, simulated: np.ndarray) -> float:
    """Nash–Sutcliffe efficiency: 1 − SSE / variance of the observations about their mean."""
    obs, sim = _valid(observed, simulated)
    return float(1.0 - np.sum((sim - obs) ** 2) / np.sum((obs - obs.mean()) ** 2))


def kge(observed: np.ndarray, simulated: np.ndarray) -> float:
    """Kling–Gupta efficiency: 1 − √((r−1)² + (α−1)² + (β−1)²), α = σₛ/σₒ, β = μₛ/μₒ."""
    obs, sim = _valid(observed, simulated)
    r = np.corrcoef(obs, sim)[0, 1]
    alpha = sim.std() / obs.std()
    beta = sim.mean() / obs.mean()
    return float(1.0 - np.sqrt((r - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2))


METRICS = {"nse": nse, "kge": kge, "rmse": rmse, "r": pearson_r}


def all_metrics(observed: np.ndarray, simulated: np.ndarray) -> dict[str, float]:
    return {name: fn(observed, simulated) for name, fn in METRICS.items()}


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, 5th and 95th percentile over replicates (linear interpolation; NaN for no values).

    One seed's number may be luck; every replicated number is reported as this spread.
    """
    if len(values) == 0:
        return {"median": float("nan"), "p05": float("nan"), "p95": float("nan")}
    array = np.asarray(values, dtype=np.float64)
    return {
        "median": float(np.median(array)),
        "p05": float(np.percentile(array, 5)),
        "p95": float(np.percentile(array, 95)),
    }
