"""A model's ``metrics/train.json`` and its climate-probe entry as the comparison reads them.

The train and climate stages (and an imported model's skill) write these
files; the comparison, the ensemble table and the headline all need the same
few numbers from them — a split's score for the selected replicate, its
spread over replicates, the ensemble mean's score, the convergence evidence,
the mean precipitation elasticity. Typed here once, at the file's edge, a
missing block is ``None`` in one place (an imported model has no replicates,
an old file no convergence) instead of a ``.get(...).get(...)`` chain at
every use.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hydroprobe.layout import CLIMATE_METRICS
from hydroprobe.probes.climate.ensemble import mean_elasticity

#: The spread over replicates that the train stage writes per split and score.
SPREAD = ("median", "p05", "p95")


def finite(value: Any) -> float | None:
    """A finite float, or None: JSON has no NaN and a missing term must not read as zero."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Convergence:
    """The selected replicate's (or calibration's) best step against its budget."""

    converged: bool | None = None
    best: int | None = None
    budget: int | None = None
    unit: str | None = None
    train_further: str | None = None

    @classmethod
    def from_json(cls, block: Mapping | None) -> Convergence | None:
        if not block:
            return None
        selected = block.get("selected") or {}
        return cls(selected.get("converged"), selected.get("best"), block.get("budget"), block.get("unit"),
                   block.get("train_further"))


@dataclass(frozen=True)
class TrainSummary:
    """Scores per split (``train``/``validation``/``test``) and score name (``nse``, ``kge``, …).

    ``selected``: the selected replicate's; ``distribution``: ``{median, p05, p95}``
    over replicates; ``ensemble``: the replicate ensemble mean's (empty without
    replicates), ``members`` its size.
    """

    selected: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    distribution: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    ensemble: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    members: int | None = None
    convergence: Convergence | None = None

    @classmethod
    def from_json(cls, data: Mapping) -> TrainSummary:
        ensemble = dict(data.get("ensemble") or {})
        members = ensemble.pop("members", None)
        return cls(data.get("selected") or {}, data.get("distribution") or {},
                   {split: block for split, block in ensemble.items() if isinstance(block, Mapping)},
                   members, Convergence.from_json(data.get("convergence")))

    def score(self, split: str, score: str = "nse") -> float | None:
        """The selected replicate's ``score`` on ``split``."""
        return finite((self.selected.get(split) or {}).get(score))

    def spread(self, split: str, score: str = "nse") -> dict[str, float | None]:
        """``{median, p05, p95}`` of ``score`` on ``split`` over replicates (None where absent)."""
        node = (self.distribution.get(split) or {}).get(score) or {}
        return {key: finite(node.get(key)) for key in SPREAD}

    def ensemble_score(self, split: str, score: str = "nse") -> float | None:
        """The replicate ensemble mean's ``score`` on ``split`` (None for a model without one)."""
        return finite((self.ensemble.get(split) or {}).get(score))

    @property
    def has_ensemble(self) -> bool:
        return bool(self.ensemble)


@dataclass(frozen=True)
class ClimateEntry:
    """One model's entry of ``metrics/probes_climate.json`` and the basin's observed elasticity band.

    ``rules``: the champion's plausibility rules; ``ensemble_rules``: the
    replicate ensemble mean's (empty without one); ``scenarios``: per
    scenario, the response and its spread over replicates; ``band``: the
    observed elasticity's ``{p05, median, p95}`` (None where not computed).
    """

    rules: Mapping = field(default_factory=dict)
    ensemble_rules: Mapping = field(default_factory=dict)
    scenarios: Mapping = field(default_factory=dict)
    band: Mapping | None = None

    @classmethod
    def read(cls, base: Path, key: str) -> ClimateEntry | None:
        """Model ``key``'s entry in ``base``'s climate metrics; None if the climate probe did not run."""
        path = Path(base) / CLIMATE_METRICS
        if not path.is_file():
            return None
        climate = json.loads(path.read_text())
        entry = (climate.get("models") or {}).get(key) or {}
        return cls(entry.get("rules") or {}, (entry.get("ensemble") or {}).get("rules") or {},
                   entry.get("scenarios") or {}, climate.get("observed_elasticity"))

    @property
    def elasticity(self) -> float | None:
        """The champion's mean elasticity over the whole-year precipitation scenarios."""
        return mean_elasticity(self.rules)

    @property
    def ensemble_elasticity(self) -> float | None:
        return mean_elasticity(self.ensemble_rules)

    @property
    def median_elasticity(self) -> float | None:
        """The median member's elasticity, averaged over the same scenarios."""
        names = (self.rules.get("elasticity_in_observed_band") or {}).get("scenarios", [])
        values = [finite(self.scenarios[name]["spread"]["elasticity"]["median"]) for name in names]
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None
