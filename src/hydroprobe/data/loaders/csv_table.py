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
#: Separators a daily table may use, by name; "utf-8-sig" drops a byte-order mark.
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
ENCODING = "utf-8-sig"


def _first_line(path: Path) -> str:
    """The header line, BOM stripped; a DataError for an empty or non-UTF-8 file."""
    try:
        with open(path, encoding=ENCODING, newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: the file is not UTF-8 text ({error.reason} at byte {error.start}). "
            "Fix: save it as CSV UTF-8."
        ) from error
    if not first.strip():
        raise DataError(
            f"{path}: the file is empty (no header line). Fix: write the header line and one row per day."
        )
    return first.rstrip("\r\n")


def _header(path: Path, time_column: str) -> tuple[str, list[str]]:
    """The separator and column names of the CSV.

    Spreadsheets in many locales write ``;`` or tabs instead of commas: the
    separator is the one of :data:`SEPARATORS` that makes ``time_column`` a
    column name; failing that, the one the header line holds most of, which
    the missing-column error then names.
    """
    first = _first_line(path)
    split = {sep: [name.strip().strip('"').strip() for name in first.split(sep)] for sep in SEPARATORS}
    for sep, names in split.items():
        if time_column in names:
            return sep, names
    sep = max(SEPARATORS, key=first.count)
    return sep, split[sep]


def _not_a_number_fix(text: str) -> str:
    """How to fix a cell that is not a number; a decimal comma gets its own hint."""
    if "," in text:
        point = text.replace(",", ".")
        try:
            float(point)
        except ValueError:
            pass
        else:
            return f"write it with a decimal point ({point}), not a decimal comma"
    return "write a number, or leave the cell empty if it is missing"


def _require_columns(path: Path, table: pd.DataFrame, required: tuple[str, ...], sep: str) -> None:
    """Every required column is present; without the time column, say how the file was split."""
    for column in required:
        if column in table.columns:
            continue
        how = ""
        if required[0] not in table.columns:
            how = (
                f", reading the file as {SEPARATORS[sep]}-separated, the separator its header "
                "line seems to use"
            )
        raise DataError(
            f"{path}: column '{column}' is missing (found {list(table.columns)}{how}). "
            f"Fix: the first line must name the columns {list(required)}, separated by "
            "commas, semicolons or tabs."
        )


def _read(path: Path, time_column: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """The CSV with parsed time stamps as index and numeric value columns."""
    sep, _ = _header(path, time_column)
    table = pd.read_csv(
        path, sep=sep, encoding=ENCODING, dtype=str, keep_default_na=False, skipinitialspace=True
    )
    table.columns = table.columns.str.strip()
    _require_columns(path, table, (time_column, *columns), sep)
    if table.empty:
        raise DataError(
            f"{path}: the file has a header but no data rows. Fix: write one row per "
            f"{'hour' if time_column == DATETIME else 'day'} under the header "
            f"({', '.join([time_column, *columns])})."
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
                f"not a number. Fix: {_not_a_number_fix(text.iloc[row])}."
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
    has_discharge = DISCHARGE in _header(table_path, DATE)[1]
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
