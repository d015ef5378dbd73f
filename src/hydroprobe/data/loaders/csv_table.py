"""Loader for plain CSV tables, optionally with discharge measured hourly.

The daily table has the columns ``date, precipitation, temperature,
discharge`` (mm/d, °C, m³/s; empty cells are missing) and the basin's
metadata comes from params.yaml (``name``, ``area_km2``, ``latitude``,
``longitude``). When ``files.discharge_hourly`` is set, discharge comes from
a CSV with the columns ``datetime, discharge`` instead: each day's value is
the mean of that day's available (non-missing) hours, and a day without any
valid hour is missing (NaN), the paper's rule. An hour belongs to the
calendar day of its time stamp.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hydroprobe.data.basin import DISCHARGE, INPUTS, BasinMeta, BasinSeries
from hydroprobe.data.checks import check_dates, check_unique_sorted, check_values, format_date
from hydroprobe.data.loaders._common import (
    as_float,
    data_file,
    finish,
    mask_code,
    missing_code,
    require,
)
from hydroprobe.errors import DataError

DATE = "date"
DATETIME = "datetime"
#: Cell texts read as missing (compared in lower case).
MISSING_TEXT = ("", "nan", "na", "n/a", "null")


def _read(path: Path, time_column: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """The CSV with parsed time stamps as index and numeric value columns."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    for column in (time_column, *columns):
        if column not in table.columns:
            raise DataError(
                f"{path}: column '{column}' is missing (found {list(table.columns)}). "
                f"Fix: the file needs the columns {[time_column, *columns]}."
            )
    stamps = pd.to_datetime(table[time_column].str.strip(), format="ISO8601", errors="coerce")
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise DataError(
            f"{path}: column '{time_column}', row {row + 2}: {table[time_column].iloc[row]!r} "
            "is not a date. Fix: write dates as YYYY-MM-DD (hours as YYYY-MM-DD HH:MM)."
        )
    index = pd.DatetimeIndex(stamps, name=time_column)
    frame = pd.DataFrame(index=index)
    for column in columns:
        text = table[column].str.strip()
        empty = text.str.lower().isin(MISSING_TEXT).to_numpy()
        values = pd.to_numeric(text.where(~empty), errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(values) & ~empty
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{path}: column '{column}', {format_date(index[row])}: {text.iloc[row]!r} is "
                "not a number. Fix: write a number, or leave the cell empty if it is missing."
            )
        frame[column] = values
    return frame


def daily_mean_of_hours(hourly: pd.Series) -> pd.Series:
    """Mean of each calendar day's non-missing hours; NaN for a day with none.

    Days are labelled by midnight; days without any row at all are absent
    (the caller reindexes to its daily table).
    """
    days = hourly.index.normalize()
    return hourly.groupby(days).mean().rename_axis(DATE)


def read_hourly_discharge(path: Path, missing: float | None = None) -> pd.Series:
    """Daily discharge (m³/s) from an hourly ``datetime, discharge`` CSV."""
    frame = _read(path, DATETIME, (DISCHARGE,))
    frame[DISCHARGE] = mask_code(frame[DISCHARGE].to_numpy(), missing)
    check_unique_sorted(frame.index, str(path), column=DATETIME)
    check_values(frame, str(path))
    return daily_mean_of_hours(frame[DISCHARGE])


def load(basin_id: str, spec: dict, raw_dir: Path) -> BasinSeries:
    """Read ``files.table`` (and ``files.discharge_hourly`` if set) into a series."""
    table_path = data_file(raw_dir, spec, basin_id, "table")
    hourly = bool((spec.get("files") or {}).get("discharge_hourly"))
    meta = BasinMeta(
        id=basin_id,
        name=str(require(spec, "name", basin_id)),
        area_km2=as_float(require(spec, "area_km2", basin_id), "area_km2", basin_id),
        latitude=as_float(require(spec, "latitude", basin_id), "latitude", basin_id),
        longitude=as_float(require(spec, "longitude", basin_id), "longitude", basin_id),
    )
    code = missing_code(spec, basin_id)
    has_discharge = DISCHARGE in pd.read_csv(table_path, nrows=0).columns.str.strip()
    frame = _read(table_path, DATE, (*INPUTS, DISCHARGE) if has_discharge or not hourly else INPUTS)
    source = str(spec["files"]["table"])
    if hourly:
        if has_discharge and frame[DISCHARGE].notna().any():
            stamp = frame.index[int(np.flatnonzero(frame[DISCHARGE].notna().to_numpy())[0])]
            raise DataError(
                f"{table_path}: column '{DISCHARGE}', {format_date(stamp)}: the table has "
                f"discharge values and basins.{basin_id}.files.discharge_hourly is set too. "
                "Fix: keep discharge in one of the two files."
            )
        hourly_path = data_file(raw_dir, spec, basin_id, "discharge_hourly")
        check_dates(frame.index, str(table_path))
        frame[DISCHARGE] = read_hourly_discharge(hourly_path, code).reindex(frame.index)
        source += ", " + str(spec["files"]["discharge_hourly"])
    else:
        frame[DISCHARGE] = mask_code(frame[DISCHARGE].to_numpy(), code)
    return finish(frame, table_path, meta, source=source)
