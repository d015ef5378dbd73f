"""A model's ``metrics/probes_paper.json`` as the comparison reads it: typed once, at the file's edge.

The paper-probe stage writes each number as a spread leaf — the champion's
value, the median and 5–95 % over replicates, every replicate's value.
The comparison needs Case 1's observed-climatology scenario, each Case 2
level above zero with its balance terms, and a few observed yardsticks.
Parsed here into :class:`Spread`, :class:`Case2Level` and
:class:`PaperSummary`, an absent leaf is an empty :class:`Spread` (every
number None), never a zero, and the readers downstream name fields instead
of walking nested dicts. ``raw`` keeps the file for what is not typed (and
for the ensemble view, which swaps the ensemble mean's values into the
champion's places).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hydroprobe.probes.compare.summaries import finite

#: The summary statistics of a spread leaf, in table order.
STATS = ("champion", "median", "p05", "p95")


@dataclass(frozen=True)
class Spread:
    """One probe number: the champion's value and its spread over the replicates."""

    champion: Any = None  # a number, or a date string / flag for the leaves that hold one
    median: Any = None
    p05: Any = None
    p95: Any = None
    replicates: tuple = ()

    @classmethod
    def from_json(cls, node: Mapping | None) -> Spread:
        node = node or {}
        return cls(*(node.get(key) for key in STATS), tuple(node.get("replicates") or ()))

    def stats(self, scale: float = 1.0) -> dict[str, float | None]:
        """``{champion, median, p05, p95}`` as finite floats (None where absent), times ``scale``."""
        values = {key: finite(getattr(self, key)) for key in STATS}
        return {key: None if value is None else value * scale for key, value in values.items()}


@dataclass(frozen=True)
class Case2Level:
    """One Case 2 level above zero: the added precipitation it stands for and what came back."""

    key: str
    value: float | None
    precipitation_mm_d: float | None
    mass_recovered: Spread
    volume_increase_km3: Spread
    balance: Mapping[str, Spread] = field(default_factory=dict)  # "flow_mm", "added_km3", …; empty: none

    def term(self, name: str) -> Spread:
        """Balance term ``name`` (e.g. ``et_mm``); an empty spread where the model cannot report it."""
        return self.balance.get(name, Spread())


@dataclass(frozen=True)
class PaperSummary:
    """What the comparison reads from one model's paper probes."""

    basin: str | None
    runoff_ratio: float | None
    melt_flow_m3s: float | None
    area_km2: float | None
    level_units: str
    case1: Mapping[str, Mapping[str, Spread]]  # scenario -> metric -> spread
    levels: tuple[Case2Level, ...]  # above zero, with a recovered fraction, in the file's order
    peak_grows: bool | None  # does the champion's melt peak grow with every level
    peak_grows_fraction: float | None  # the share of replicates whose peak does
    raw: Mapping = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping) -> PaperSummary:
        observed, case2 = data.get("observed") or {}, data.get("case2") or {}
        case1 = {scenario: {metric: Spread.from_json(leaf) for metric, leaf in node.items()
                            if isinstance(leaf, Mapping)}
                 for scenario, node in (data.get("case1") or {}).items()}
        peak = case2.get("peak_grows_monotonically") or {}
        return cls(
            data.get("basin"), finite(observed.get("runoff_ratio")),
            finite(observed.get("melt_flow_excluding_peaks_m3s")), finite(observed.get("area_km2")),
            str((data.get("settings") or {}).get("level_units", "")), case1,
            _levels(data.get("levels") or {}, case2),
            peak.get("champion"), finite(peak.get("fraction_true")),
            data,
        )

    @property
    def level_keys(self) -> list[str]:
        return [level.key for level in self.levels]

    @property
    def has_ensemble(self) -> bool:
        return bool(self.raw.get("ensemble"))


def _levels(levels: Mapping, case2: Mapping) -> tuple[Case2Level, ...]:
    """Case 2 levels above zero that have a recovered fraction, in the file's order."""
    out = []
    for key, level in levels.items():
        entry = case2.get(key) or {}
        if not level.get("value", 0) > 0 or "mass_recovered" not in entry:
            continue
        balance = {name: Spread.from_json(leaf) for name, leaf in (entry.get("water_balance") or {}).items()}
        out.append(Case2Level(key, finite(level.get("value")), finite(level.get("precipitation_mm_d")),
                              Spread.from_json(entry["mass_recovered"]),
                              Spread.from_json(entry.get("volume_increase_km3")), balance))
    return tuple(out)
