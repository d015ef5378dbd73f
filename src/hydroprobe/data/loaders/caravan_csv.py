"""Loader for one basin of a Caravan-style folder: a headerless daily CSV per gauge.

The layout of ``caravan_camels_snow/`` (Caravan forcing and CAMELS streamflow
of snow-dominated CAMELS-US basins, published by stsfk/generative_hydro_app):

- ``timeseries/<gauge_id>.csv``: **no header and no date column**, one row per
  day from 1981-01-01 to 2014-12-31 (12,418 rows), four columns: total
  precipitation (mm/d), mean air temperature (°C), potential evaporation
  (mm/d) and observed streamflow (mm/d; empty or ``NA`` = missing);
- ``attributes/camels_topo.txt`` (``area_gages2`` km², outlet latitude and
  longitude) and ``attributes/camels_name.txt``, the CAMELS attribute tables.

The file carries no dates, so its row count is the only evidence that the
documented start day applies: a file with any other number of rows is refused
rather than read with every day silently shifted. Potential evaporation is
read and dropped: its ERA5-Land mean is ~13 mm/d, far above what these basins
can evaporate (shared data README), and the canonical series has no PET column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE, BasinSeries
from hydroprobe.data.loaders._common import attribute_row, existing, finish
from hydroprobe.data.loaders.camels_us import camels_meta, gauge_id
from hydroprobe.data.summary import mm_per_day_to_m3s
from hydroprobe.errors import DataError

DEFAULT_ROOT = "caravan_camels_snow"
#: The documented first and last day of every file; the rows in between are all the days.
DATES = pd.date_range("1981-01-01", "2014-12-31", freq="D", name="date")
#: The file's columns, in file order (mm/d, °C, mm/d, mm/d).
FILE_COLUMNS = ("precipitation_mm_d", "temperature_c", "pet_mm_d", "streamflow_mm_d")


#: Static attributes a regional model may read, name → (CAMELS table, column, transform).
#: ``log_area`` is log10 of ``area_gages2`` (km²): areas span 70–1163 km² here, and a log keeps
#: one large basin from squeezing the others into a corner of the normalised range.
STATIC_ATTRIBUTES: dict[str, tuple[str, str, str]] = {
    "log_area": ("camels_topo.txt", "area_gages2", "log10"),
    "elev_mean": ("camels_topo.txt", "elev_mean", "identity"),
    "slope_mean": ("camels_topo.txt", "slope_mean", "identity"),
    "frac_snow": ("camels_clim.txt", "frac_snow", "identity"),
    "aridity": ("camels_clim.txt", "aridity", "identity"),
    "p_mean": ("camels_clim.txt", "p_mean", "identity"),
}


def read_static_attributes(root: Path, gauge: str, basin_id: str, names: tuple[str, ...]) -> dict[str, float]:
    """Raw (un-normalised) static attributes ``names`` of ``gauge`` from ``<root>/attributes/``.

    Each value comes from one row of a CAMELS table via :func:`attribute_row`
    (gauge id read as text); a missing or non-finite value stops with the file,
    column and gauge named, since a NaN attribute would silently poison every
    window of the basin.
    """
    unknown = [name for name in names if name not in STATIC_ATTRIBUTES]
    if unknown:
        raise DataError(
            f"static attribute(s) {', '.join(unknown)} unknown for basin {basin_id}; "
            f"known: {', '.join(STATIC_ATTRIBUTES)}"
        )
    values: dict[str, float] = {}
    for name in names:
        table, column, transform = STATIC_ATTRIBUTES[name]
        path = Path(root) / "attributes" / table
        value = float(attribute_row(path, gauge, basin_id, (column,))[column])
        if not np.isfinite(value) or (transform == "log10" and value <= 0):
            raise DataError(
                f"{path}: column '{column}' of gauge {gauge} (basin {basin_id}) is {value!r}, "
                f"not usable as attribute '{name}'. Fix: leave the gauge out of the group."
            )
        values[name] = float(np.log10(value)) if transform == "log10" else value
    return values


def series_file(root: Path, gauge: str) -> Path:
    """``<root>/timeseries/<gauge>.csv``, the one file of a gauge's daily series."""
    return Path(root) / "timeseries" / f"{gauge}.csv"


def available_gauges(root: Path) -> list[str]:
    """Gauge ids of every ``timeseries/*.csv`` under ``root``, sorted (the file names, leading zeros kept)."""
    return sorted(path.stem for path in (Path(root) / "timeseries").glob("*.csv"))


def read_timeseries(path: Path) -> pd.DataFrame:
    """The file's four columns as floats on :data:`DATES`, in the file's units; missing = NaN.

    The row count is checked before any date is attached, since a file with a
    day too many or too few would otherwise be read shifted without a trace.
    """
    try:
        table = pd.read_csv(path, header=None, dtype=float)
    except (ValueError, pd.errors.ParserError) as error:
        raise DataError(
            f"{path}: not {len(FILE_COLUMNS)} comma-separated numeric columns ({error}). "
            "Fix: use the published file (no header: precipitation, temperature, PET, streamflow)."
        ) from error
    if table.shape[1] != len(FILE_COLUMNS):
        raise DataError(
            f"{path}: {table.shape[1]} columns, expected {len(FILE_COLUMNS)} "
            f"({', '.join(FILE_COLUMNS)}). Fix: use the published file."
        )
    if len(table) != len(DATES):
        raise DataError(
            f"{path}: {len(table)} rows found, {len(DATES)} expected (one per day from "
            f"{DATES[0]:%Y-%m-%d} to {DATES[-1]:%Y-%m-%d}; the file has no date column, so only the "
            "row count fixes the dates). Fix: use the complete published file."
        )
    return table.set_axis(list(FILE_COLUMNS), axis=1).set_axis(DATES, axis=0)


def load(basin_id: str, spec: dict, raw_dir: Path) -> BasinSeries:
    """Read gauge ``spec['gauge_id']`` under ``raw_dir / spec['root']`` (default ``caravan_camels_snow``).

    Streamflow (mm/d) becomes m³/s over the CAMELS area ``area_gages2``
    (or ``basins.<id>.area_km2``), the canonical unit of every loader.
    """
    gauge = gauge_id(spec, basin_id)
    root = Path(raw_dir) / str(spec.get("root", DEFAULT_ROOT))
    path = existing(series_file(root, gauge), f"basins.{basin_id}.gauge_id {gauge}")
    meta = camels_meta(root / "attributes", gauge, basin_id, spec)
    table = read_timeseries(path)
    frame = pd.DataFrame(
        {
            PRECIPITATION: table["precipitation_mm_d"],
            TEMPERATURE: table["temperature_c"],
            DISCHARGE: mm_per_day_to_m3s(table["streamflow_mm_d"].to_numpy(dtype=np.float64), meta.area_km2),
        },
        index=DATES,
    )
    return finish(frame, path, meta, source=str(path.relative_to(Path(raw_dir))))
