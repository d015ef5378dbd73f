"""The champion's number beside the distribution over replicates, for any nested result.

A probe finding on one network may be luck of the seed; every number is
therefore reported for the champion and as median and 5–95 % range over all
replicates (percentiles by linear interpolation, as ``numpy.percentile``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hydroprobe.training.metrics import spread

__all__ = ["band", "spread", "spread_tree"]


def spread_tree(champion: Any, replicates: Sequence[Any]) -> Any:
    """Replace each leaf of ``champion`` by ``{"champion", <spread>, "replicates"}``.

    ``replicates`` are trees of the same shape. Numbers get median/p05/p95,
    booleans the fraction of replicates where they hold, other leaves (dates
    as text) only the list of replicate values.
    """
    if isinstance(champion, dict):
        return {key: spread_tree(value, [r[key] for r in replicates]) for key, value in champion.items()}
    values = list(replicates)
    if isinstance(champion, bool | np.bool_):
        fraction = float(np.mean(values)) if values else float("nan")
        return {
            "champion": bool(champion),
            "fraction_true": fraction,
            "replicates": [bool(v) for v in values],
        }
    if isinstance(champion, int | float | np.number):
        return {"champion": float(champion), **spread(values), "replicates": [float(v) for v in values]}
    return {"champion": champion, "replicates": values}


def band(series: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Day-by-day median, 5th and 95th percentile over replicate series of equal length."""
    stacked = np.vstack(series)
    return {
        "median": np.median(stacked, axis=0),
        "p05": np.percentile(stacked, 5, axis=0),
        "p95": np.percentile(stacked, 95, axis=0),
    }
