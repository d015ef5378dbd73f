"""Climate scenarios as perturbations of the *observed* forcing, and their settings.

A what-if ("2 °C warmer", "winters 20 % wetter") is applied to the whole
observed series, so every input window a model reads lies in the perturbed
climate; the model's answer is then compared with its own unperturbed run.
The scenario list lives in the ``climate`` section of params.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hydroprobe.config import build, require, section
from hydroprobe.data.basin import PRECIPITATION, TEMPERATURE
from hydroprobe.data.splits import SPLIT_NAMES
from hydroprobe.data.summary import season_mask


@dataclass(frozen=True)
class ClimateScenario:
    """+``temperature_shift`` °C every day; precipitation × ``precipitation_scale`` every day
    and additionally × ``accumulation_scale`` inside the snow-accumulation window."""

    temperature_shift: float = 0.0
    precipitation_scale: float = 1.0
    accumulation_scale: float = 1.0

    @property
    def warming_only(self) -> bool:
        return self.temperature_shift != 0 and self.precipitation_scale == self.accumulation_scale == 1

    @property
    def precipitation_only(self) -> bool:
        return self.temperature_shift == 0 and not self.precipitation_scale == self.accumulation_scale == 1

    @property
    def kind(self) -> str:
        """``warming``, ``precipitation`` (all year), ``snow_season`` (window only), ``combined``
        or ``baseline`` (no change)."""
        if self.name == "baseline":
            return "baseline"
        if self.warming_only:
            return "warming"
        if self.precipitation_only and self.accumulation_scale == 1:
            return "precipitation"
        if self.precipitation_only and self.precipitation_scale == 1:
            return "snow_season"
        return "combined"

    @property
    def name(self) -> str:
        """Identifier safe for file names and MLflow metric keys, e.g. ``warm2_pall1.1``."""
        parts = []
        if self.temperature_shift:
            parts.append(f"warm{self.temperature_shift:g}")
        if self.precipitation_scale != 1:
            parts.append(f"pall{self.precipitation_scale:g}")
        if self.accumulation_scale != 1:
            parts.append(f"pacc{self.accumulation_scale:g}")
        return "_".join(parts) or "baseline"

    @property
    def label(self) -> str:
        """Human-readable, e.g. ``+2 °C, P ×1.1``."""
        parts = []
        if self.temperature_shift:
            parts.append(f"{self.temperature_shift:+g} °C")
        if self.precipitation_scale != 1:
            parts.append(f"P ×{self.precipitation_scale:g}")
        if self.accumulation_scale != 1:
            parts.append(f"snow-season P ×{self.accumulation_scale:g}")
        return ", ".join(parts) or "observed forcing"

    def apply(self, forcing: pd.DataFrame, accumulation_season: list[str] | None) -> pd.DataFrame:
        """A perturbed copy of ``forcing`` (columns precipitation mm/d, temperature °C)."""
        out = forcing.copy()
        factor = np.full(len(out), self.precipitation_scale)
        if self.accumulation_scale != 1:
            require(
                accumulation_season is not None,
                "climate.accumulation_season",
                "is needed for snow-season scenarios (set basins.<id>.accumulation_season)",
            )
            factor[season_mask(pd.DatetimeIndex(out.index), accumulation_season)] *= self.accumulation_scale
        out[PRECIPITATION] = out[PRECIPITATION].to_numpy() * factor
        out[TEMPERATURE] = out[TEMPERATURE].to_numpy() + self.temperature_shift
        return out


@dataclass(frozen=True)
class ClimateSettings:
    """``climate.*`` of params.yaml.

    ``mass_tolerance`` is the slack of the mass-conservation rule: storage carried
    across the ends of the evaluation period lets even a lossless model return
    slightly more than 100 %. ``accumulation_season`` is normally left out: :func:`climate_settings`
    takes it from ``basins.<id>.accumulation_season`` so that one basin
    definition drives data summary and probes alike.
    """

    split: str = "test"
    temperature_shifts: list[float] = field(default_factory=lambda: [1.0, 2.0, 4.0])
    precipitation_scales: list[float] = field(default_factory=lambda: [0.8, 0.9, 1.1, 1.2])
    accumulation_scales: list[float] = field(default_factory=lambda: [1.1, 1.2, 1.5])
    combinations: list[Any] = field(
        default_factory=lambda: [{"temperature_shift": 2, "precipitation_scale": 1.1}]
    )
    spinup_days: int = 730
    mass_tolerance: float = 0.02
    bootstrap: int = 1000
    seed: int = 0
    accumulation_season: list[str] | None = None

    def __post_init__(self) -> None:
        require(self.split in SPLIT_NAMES, "climate.split", f"must be one of {', '.join(SPLIT_NAMES)}")
        for key in ("precipitation_scales", "accumulation_scales"):
            for i, scale in enumerate(getattr(self, key)):
                require(scale > 0, f"climate.{key}[{i}]", f"must be > 0 (got {scale})")
        require(self.spinup_days >= 0, "climate.spinup_days", f"must be >= 0 (got {self.spinup_days})")
        require(self.mass_tolerance >= 0, "climate.mass_tolerance", "must be >= 0")
        require(self.bootstrap >= 1, "climate.bootstrap", f"must be >= 1 (got {self.bootstrap})")
        if self.accumulation_season is not None:
            season_mask(pd.DatetimeIndex([]), self.accumulation_season)  # validates MM-DD bounds
        self.scenarios()  # validates the combinations

    def scenarios(self) -> list[ClimateScenario]:
        """Every scenario once, in params order: warming, all-year P, snow-season P, combinations."""
        found = [ClimateScenario(temperature_shift=s) for s in self.temperature_shifts]
        found += [ClimateScenario(precipitation_scale=s) for s in self.precipitation_scales]
        found += [ClimateScenario(accumulation_scale=s) for s in self.accumulation_scales]
        for i, combination in enumerate(self.combinations):
            key = f"climate.combinations[{i}]"
            scenario = build(ClimateScenario, combination, key)
            for name in ("precipitation_scale", "accumulation_scale"):
                value = getattr(scenario, name)
                require(value > 0, f"{key}.{name}", f"must be > 0 (got {value})")
            found.append(scenario)
        unique = list(dict.fromkeys(s for s in found if s.name != "baseline"))
        return unique


def climate_settings(params: dict, basin_id: str) -> ClimateSettings:
    """Validated ``climate`` section, with the snow-accumulation window of basin ``basin_id``."""
    values = dict(section(params, "climate"))
    if values.get("accumulation_season") is None:
        basin = section(params, "basins").get(basin_id) or {}
        values["accumulation_season"] = basin.get("accumulation_season")
    return build(ClimateSettings, values, "climate")
