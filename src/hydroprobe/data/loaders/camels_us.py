"""Loader for one CAMELS-US basin in the published folder layout.

Reading the real layout (Newman et al. 2014; Addor et al. 2017) lets the
project run on any of the 671 CAMELS basins without a conversion step:

- ``basin_mean_forcing/<source>/[<huc>/]<gauge>_lump_<tag>_forcing_leap.txt``:
  three header lines (latitude, elevation, area in m²), a column header, then
  ``Year Mnth Day Hr ... prcp(mm/day) ... tmax(C) tmin(C) ...``;
- ``usgs_streamflow/[<huc>/]<gauge>_streamflow_qc.txt``: gauge, year, month,
  day, flow in cubic feet per second (-999 = missing), quality flag;
- ``camels_attributes_v2.0/camels_topo.txt`` (``;``-separated,
  ``area_gages2`` in km², gauge latitude and longitude) and ``camels_name.txt``.

Only the period both forcing and streamflow cover is kept.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE, BasinMeta, BasinSeries
from hydroprobe.data.checks import check_dates, check_values
from hydroprobe.data.loaders._common import as_float, attribute_row, existing, finish, mask_code, overlap
from hydroprobe.errors import ConfigError, DataError

#: Exact: 1 ft = 0.3048 m.
CUBIC_FEET_TO_CUBIC_METRES = 0.3048**3
MISSING_FLOW = -999.0
#: File-name tag of each forcing data set in ``basin_mean_forcing/<source>/``.
FORCING_TAGS = {"daymet": "cida", "maurer": "maurer", "maurer_extended": "maurer", "nldas": "nldas"}
FORCING_COLUMNS = ("prcp(mm/day)", "tmax(C)", "tmin(C)")
#: What a basin's metadata needs from ``camels_topo.txt``.
TOPO_COLUMNS = ("area_gages2", "gauge_lat", "gauge_lon")


def gauge_id(spec: dict, basin_id: str) -> str:
    """The 8-digit USGS gauge id as a string.

    YAML reads an unquoted ``01022500`` as a number (octal, even), which loses
    the leading zero, so anything but a digit string is refused.
    """
    value = spec.get("gauge_id")
    if value is None:
        raise ConfigError(f"basins.{basin_id}.gauge_id is missing: add the 8-digit USGS gauge id")
    if not isinstance(value, str) or not re.fullmatch(r"\d{8}", value):
        raise ConfigError(
            f"basins.{basin_id}.gauge_id must be an 8-digit string in quotes, got {value!r}: "
            "unquoted, YAML reads it as a number and its leading zero is lost. "
            'Fix: quote it, e.g. gauge_id: "01022500".'
        )
    return value


def _find(folder: Path, name: str, what: str) -> Path:
    """``folder/name`` or ``folder/<huc>/name``: both layouts are published."""
    direct = folder / name
    if direct.is_file():
        return direct
    matches = sorted(folder.glob(f"*/{name}")) if folder.is_dir() else []
    if matches:
        return matches[0]
    return existing(direct, what)


def read_forcing(path: Path) -> pd.DataFrame:
    """Daily precipitation (mm/d) and mean temperature (°C) from a basin-mean forcing file."""
    table = pd.read_csv(path, sep=r"\s+", skiprows=3)
    missing = [c for c in ("Year", "Mnth", "Day", *FORCING_COLUMNS) if c not in table.columns]
    if missing:
        raise DataError(
            f"{path}: column '{missing[0]}' is missing (found {list(table.columns)}). "
            "Fix: use the published CAMELS forcing file."
        )
    index = _dates(table, ("Year", "Mnth", "Day"), path)
    prcp, tmax, tmin = (table[c].to_numpy(dtype=float) for c in FORCING_COLUMNS)
    return pd.DataFrame({PRECIPITATION: prcp, TEMPERATURE: (tmax + tmin) / 2.0}, index=index)


def read_streamflow(path: Path) -> pd.DataFrame:
    """Daily discharge in m³/s from a USGS ``_streamflow_qc.txt`` file (cfs, -999 missing)."""
    table = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["gauge", "year", "month", "day", "flow", "qc"],
        dtype={"gauge": str},
    )
    index = _dates(table, ("year", "month", "day"), path)
    cfs = mask_code(table["flow"].to_numpy(dtype=float), MISSING_FLOW)
    return pd.DataFrame({DISCHARGE: cfs * CUBIC_FEET_TO_CUBIC_METRES}, index=index)


def _dates(table: pd.DataFrame, columns: tuple[str, str, str], path: Path) -> pd.DatetimeIndex:
    parts = table[list(columns)].set_axis(["year", "month", "day"], axis=1)
    dates = pd.to_datetime(parts, errors="coerce")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise DataError(
            f"{path}: columns {list(columns)}, row {row + 1}: not a valid date "
            f"{table.loc[row, list(columns)].tolist()}. Fix: correct the date."
        )
    return pd.DatetimeIndex(dates, name="date")


def camels_meta(attributes: Path, gauge: str, basin_id: str, spec: dict) -> BasinMeta:
    """Name, area and outlet of ``gauge`` from the CAMELS attribute tables in ``attributes``.

    ``basins.<id>.name`` and ``area_km2`` override the tables. Shared with the
    Caravan loader, whose basins carry the same CAMELS attribute tables.
    """
    topo = attribute_row(attributes / "camels_topo.txt", gauge, basin_id, TOPO_COLUMNS)
    name = spec.get("name")
    if not name:
        names = attribute_row(attributes / "camels_name.txt", gauge, basin_id, ("gauge_name",))
        name = str(names["gauge_name"]).strip()
    return BasinMeta(
        id=basin_id,
        name=str(name),
        area_km2=as_float(spec.get("area_km2", topo["area_gages2"]), "area_km2", basin_id),
        latitude=float(topo["gauge_lat"]),
        longitude=float(topo["gauge_lon"]),
    )


def load(basin_id: str, spec: dict, raw_dir: Path) -> BasinSeries:
    """Read basin ``spec['gauge_id']`` under ``raw_dir / spec['root']`` (default ``camels_us``)."""
    gauge = gauge_id(spec, basin_id)
    root = Path(raw_dir) / str(spec.get("root", "camels_us"))
    source = str(spec.get("forcing_source", "daymet"))
    if source not in FORCING_TAGS:
        raise ConfigError(
            f"basins.{basin_id}.forcing_source must be one of {sorted(FORCING_TAGS)}, got {source!r}"
        )
    forcing_path = _find(
        root / "basin_mean_forcing" / source,
        f"{gauge}_lump_{FORCING_TAGS[source]}_forcing_leap.txt",
        f"basins.{basin_id} forcing",
    )
    flow_path = _find(root / "usgs_streamflow", f"{gauge}_streamflow_qc.txt", f"basins.{basin_id} streamflow")
    meta = camels_meta(root / "camels_attributes_v2.0", gauge, basin_id, spec)
    forcing = read_forcing(forcing_path)
    flow = read_streamflow(flow_path)
    for frame, path in ((forcing, forcing_path), (flow, flow_path)):
        check_dates(frame.index, str(path))
        check_values(frame, str(path))
    frame = overlap(forcing, flow, forcing_path, flow_path)
    relative = ", ".join(str(p.relative_to(Path(raw_dir))) for p in (forcing_path, flow_path))
    return finish(frame, forcing_path, meta, source=relative)
