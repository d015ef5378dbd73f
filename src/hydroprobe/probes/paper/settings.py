"""The ``probes`` section of params.yaml, typed and checked, plus the basin's snow season.

The snow-accumulation window belongs to the basin (``basins.<id>.accumulation_season``),
not to the probe, so :func:`probe_settings` takes it from there and refuses it
in the ``probes`` section, where it would silently disagree with the basin.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from hydroprobe.config import build, require, section
from hydroprobe.probes.hypothetical import season_days

LEVEL_UNITS = ("observed_fraction", "normalized", "mm_per_day")


@dataclass(frozen=True)
class ProbeSettings:
    """``probes.*``: what the Case 1 and Case 2 experiments simulate and how they summarise it.

    ``levels`` are the Case 2 precipitation levels besides the zero baseline, in
    ``level_units``: ``observed_fraction`` (× the observed training-period mean
    precipitation of the accumulation window), ``normalized`` (scaler units, the
    paper's 0.01…0.05) or ``mm_per_day``.
    """

    years: int = 2
    melt_season: tuple[str, ...] = ("04-01", "07-31")
    winter_months: tuple[int, ...] = (1, 2)
    peak_exclusion_percentile: float = 95.0
    temperature_shift: float = 0.05
    levels: tuple[float, ...] = (0.3, 0.6, 0.9, 1.2, 1.5)
    level_units: str = "observed_fraction"
    accumulation_season: tuple[str, ...] = ("10-15", "03-15")

    def __post_init__(self) -> None:
        require(self.years >= 1, "probes.years", f"must be >= 1 (got {self.years})")
        season_days(self.melt_season, "probes.melt_season")
        require(
            len(self.winter_months) > 0 and all(1 <= m <= 12 for m in self.winter_months),
            "probes.winter_months",
            f"must be a non-empty list of months 1-12 (got {list(self.winter_months)})",
        )
        require(
            0 < self.peak_exclusion_percentile <= 100,
            "probes.peak_exclusion_percentile",
            f"must be in (0, 100] (got {self.peak_exclusion_percentile})",
        )
        require(self.temperature_shift > 0, "probes.temperature_shift", "must be > 0 (normalised units)")
        require(
            len(self.levels) > 0 and all(level > 0 for level in self.levels),
            "probes.levels",
            "must be a non-empty list of levels > 0 (the zero baseline is always run)",
        )
        require(
            list(self.levels) == sorted(set(self.levels)),
            "probes.levels",
            f"must be increasing without repeats (got {list(self.levels)})",
        )
        require(self.level_units in LEVEL_UNITS, "probes.level_units", f"must be one of {LEVEL_UNITS}")


def probe_settings(params: dict[str, Any], basin_id: str) -> ProbeSettings:
    """:class:`ProbeSettings` from ``params['probes']`` and ``basins.<basin_id>.accumulation_season``."""
    values = dict(section(params, "probes"))
    require(
        "accumulation_season" not in values,
        "probes.accumulation_season",
        f"is a property of the basin: set basins.{basin_id}.accumulation_season instead",
    )
    basin = section(params, "basins").get(basin_id)
    require(isinstance(basin, dict), f"basins.{basin_id}", "is missing or not a mapping")
    season = basin.get("accumulation_season")
    require(season is not None, f"basins.{basin_id}.accumulation_season", "is required by the paper probes")
    season_days(season, f"basins.{basin_id}.accumulation_season")
    values["accumulation_season"] = tuple(str(bound) for bound in season)
    return build(ProbeSettings, values, "probes")


def settings_to_dict(settings: ProbeSettings) -> dict[str, Any]:
    return {key: list(v) if isinstance(v, tuple) else v for key, v in dataclasses.asdict(settings).items()}
