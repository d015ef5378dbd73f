"""The one canonical form every loader returns, so nothing downstream knows file layouts."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

#: Columns of the canonical daily frame, in physical units.
PRECIPITATION = "precipitation"  # mm/d, basin mean
TEMPERATURE = "temperature"  # °C, daily mean
DISCHARGE = "discharge"  # m³/s, NaN where not observed
COLUMNS = (PRECIPITATION, TEMPERATURE, DISCHARGE)
INPUTS = (PRECIPITATION, TEMPERATURE)


@dataclass(frozen=True)
class BasinMeta:
    """What a probe needs to turn m³/s into km³ and to label its figures."""

    id: str
    name: str
    area_km2: float
    latitude: float
    longitude: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BasinSeries:
    """A basin's daily series: a frame indexed by ``date`` with :data:`COLUMNS`.

    The index is daily, sorted and gap-free (loaders and
    :mod:`hydroprobe.data.checks` guarantee it); missing discharge stays NaN so
    that no value is ever invented.
    """

    meta: BasinMeta
    frame: pd.DataFrame
    source: str = ""
