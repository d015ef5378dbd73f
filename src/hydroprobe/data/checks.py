"""Checks every loaded series passes before anything is trained on it.

A model trained on a duplicated day, a silent gap or Kelvin read as °C learns
nonsense without any error, so each loader calls :func:`check_series` before it
returns. Every failure is a :class:`~hydroprobe.errors.DataError` that names the
file, the column and the first offending date, and says how to fix it.

Missing values (NaN) are allowed in every column: loaders turn declared missing
codes into NaN and nothing here, or anywhere in :mod:`hydroprobe.data`, fills
them in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from hydroprobe.data.basin import COLUMNS, DISCHARGE, PRECIPITATION, TEMPERATURE
from hydroprobe.data.plausibility import check_water_balance
from hydroprobe.errors import ConfigError, DataError

#: A daily mean above this many °C is not a temperature on Earth: it is Kelvin.
KELVIN_THRESHOLD_C = 60.0
#: Columns that are physically non-negative.
NON_NEGATIVE = (PRECIPITATION, DISCHARGE)
DATE = "date"


def format_date(stamp: pd.Timestamp) -> str:
    """``YYYY-MM-DD`` for a day, the full timestamp when it carries a time of day."""
    stamp = pd.Timestamp(stamp)
    if stamp == stamp.normalize():
        return stamp.strftime("%Y-%m-%d")
    return stamp.isoformat(sep=" ")


def _fail(file: str, column: str, stamp: pd.Timestamp | None, problem: str, fix: str) -> DataError:
    where = f"{file}: column '{column}'"
    if stamp is not None:
        where += f", {format_date(stamp)}"
    return DataError(f"{where}: {problem}. Fix: {fix}")


def check_columns(frame: pd.DataFrame, file: str, required: Iterable[str] = COLUMNS) -> None:
    """Every required column is present (a loader bug or a renamed file column)."""
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise DataError(
            f"{file}: column '{missing[0]}' is missing (found {list(frame.columns)}). "
            f"Fix: provide the columns {list(required)}."
        )


def check_unique_sorted(index: pd.Index, file: str, column: str = DATE) -> None:
    """Timestamps are datetimes, unique and increasing: a repeated or swapped day
    would silently shift every training window after it."""
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(
            f"{file}: column '{column}' holds {index.dtype}, not dates. Fix: write dates as YYYY-MM-DD."
        )
    if index.hasnans:
        position = int(np.flatnonzero(index.isna())[0])
        after = f" (after {format_date(index[position - 1])})" if position else ""
        raise DataError(
            f"{file}: column '{column}', row {position + 1}{after}: empty date. Fix: every row needs a date."
        )
    duplicated = index.duplicated()
    if duplicated.any():
        stamp = index[int(np.flatnonzero(duplicated)[0])]
        raise _fail(
            file,
            column,
            stamp,
            "date appears more than once",
            "keep one row per date (remove the duplicate rows)",
        )
    values = index.asi8
    backwards = np.flatnonzero(values[1:] < values[:-1])
    if backwards.size:
        position = int(backwards[0]) + 1
        raise _fail(
            file,
            column,
            index[position],
            f"dates are not sorted ({format_date(index[position])} follows "
            f"{format_date(index[position - 1])})",
            "sort the rows by date",
        )


def check_daily(index: pd.DatetimeIndex, file: str, column: str = DATE) -> None:
    """The index is whole days without gaps, so row *i* + 1 is always the next day."""
    with_time = index != index.normalize()
    if with_time.any():
        stamp = index[int(np.flatnonzero(with_time)[0])]
        raise _fail(
            file,
            column,
            stamp,
            "date carries a time of day; the series must be daily",
            "aggregate sub-daily values to daily ones first",
        )
    if len(index) < 2:
        return
    index = index.as_unit("ns")  # pandas 3 may parse to s or us; asi8 counts in the unit
    steps = np.diff(index.asi8)
    one_day = pd.Timedelta(days=1).value
    jumps = np.flatnonzero(steps != one_day)
    if jumps.size:
        position = int(jumps[0])
        first_missing = index[position] + pd.Timedelta(days=1)
        missing_days = int(steps[position] // one_day) - 1
        raise _fail(
            file,
            column,
            first_missing,
            f"date is missing: the dates jump from {format_date(index[position])} to "
            f"{format_date(index[position + 1])} ({missing_days} days missing)",
            "keep every day in the file and leave unobserved values empty (NaN) "
            "instead of dropping their rows",
        )


def check_dates(index: pd.Index, file: str) -> None:
    """Daily, unique, sorted and gap-free: the index every :class:`BasinSeries` has."""
    check_unique_sorted(index, file)
    check_daily(index, file)


def _first(mask: np.ndarray | pd.Series, frame: pd.DataFrame) -> tuple[pd.Timestamp, int]:
    position = int(np.flatnonzero(np.asarray(mask))[0])
    return frame.index[position], position


def check_values(frame: pd.DataFrame, file: str) -> None:
    """Physical plausibility of whichever canonical columns the frame holds.

    NaN is allowed (missing); infinities, negative precipitation or discharge
    and temperatures that look like Kelvin are not.
    """
    for column in (c for c in COLUMNS if c in frame.columns):
        values = frame[column].to_numpy(dtype=float, na_value=np.nan)
        infinite = np.isinf(values)
        if infinite.any():
            stamp, _ = _first(infinite, frame)
            raise _fail(file, column, stamp, "value is infinite", "leave it empty (NaN) if unknown")
        if column in NON_NEGATIVE:
            negative = values < 0
            if negative.any():
                stamp, position = _first(negative, frame)
                raise _fail(
                    file,
                    column,
                    stamp,
                    f"negative value {values[position]:g}",
                    "if this is a missing-value code, declare it in the basin's block of "
                    "params.yaml (e.g. missing_discharge) so the loader turns it into NaN; "
                    "otherwise correct the value",
                )
        if column == TEMPERATURE:
            hot = values > KELVIN_THRESHOLD_C
            if hot.any():
                stamp, position = _first(hot, frame)
                raise _fail(
                    file,
                    column,
                    stamp,
                    f"daily mean {values[position]:g} °C is above {KELVIN_THRESHOLD_C:g} °C "
                    "and looks like Kelvin",
                    "convert to °C (subtract 273.15)",
                )


def check_series(
    frame: pd.DataFrame,
    file: str,
    required: Iterable[str] = COLUMNS,
    area_km2: float | None = None,
) -> None:
    """All checks a canonical daily frame must pass (loaders call this last).

    An empty frame is an error (nothing downstream can use it). With the basin's
    ``area_km2`` the water balance is checked too
    (:func:`hydroprobe.data.plausibility.check_water_balance`): discharge in
    cfs or precipitation in metres passes every per-value check.
    """
    check_columns(frame, file, required)
    if len(frame) == 0:
        raise DataError(f"{file}: the file has no data rows. Fix: write one row per day under the header.")
    check_dates(frame.index, file)
    check_values(frame, file)
    if area_km2 is not None and PRECIPITATION in frame.columns and DISCHARGE in frame.columns:
        check_water_balance(frame, file, area_km2)


def _parse_splits(
    splits: Mapping[str, Sequence[object]],
) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    parsed = []
    for name, bounds in splits.items():
        if isinstance(bounds, str) or not isinstance(bounds, Sequence) or len(bounds) != 2:
            raise ConfigError(f"split '{name}' must be [start, end], got {bounds!r}")
        try:
            start, end = (pd.Timestamp(str(bound)) for bound in bounds)
        except ValueError as error:
            raise ConfigError(f"split '{name}' has a date that is not YYYY-MM-DD: {bounds!r}") from error
        if start > end:
            raise ConfigError(f"split '{name}' starts {format_date(start)} after it ends {format_date(end)}")
        parsed.append((name, start, end))
    return sorted(parsed, key=lambda split: split[1])


def check_length_and_splits(
    frame: pd.DataFrame,
    splits: Mapping[str, Sequence[object]],
    window: int,
    file: str,
) -> None:
    """The splits fit the data and each other, and leave room for the input window.

    The first prediction of a split at day *d* reads the ``window`` days ending
    at *d*, so the data must start ``window - 1`` days before the earliest
    split (the later splits warm up on the data before them, as in
    neuralhydrology). Splits must not overlap, must lie inside the data and
    must each hold at least one observed discharge value.
    """
    if not isinstance(window, int | np.integer) or isinstance(window, bool) or window < 1:
        raise ConfigError(f"window must be a positive number of days, got {window!r}")
    parsed = _parse_splits(splits)
    if not parsed:
        raise ConfigError("splits is empty: name at least one [start, end] period")
    _check_no_overlap(parsed, file)
    _check_inside(frame.index, parsed, window, file)
    _check_warm_up(frame.index[0], parsed[0], window, file)
    if DISCHARGE in frame.columns:
        _check_observed(frame[DISCHARGE], parsed, file)


def _check_no_overlap(parsed: list, file: str) -> None:
    for (name_a, _, end_a), (name_b, start_b, _) in zip(parsed, parsed[1:], strict=False):
        if start_b <= end_a:
            raise DataError(
                f"{file}: splits '{name_a}' and '{name_b}' overlap from {format_date(start_b)} "
                f"to {format_date(end_a)}. Fix: let '{name_b}' start after "
                f"{format_date(end_a)}."
            )


def _check_inside(index: pd.DatetimeIndex, parsed: list, window: int, file: str) -> None:
    """The series is long enough for the warm-up and the splits, and holds every split."""
    first, last = index[0], index[-1]
    split_days = sum((end - start).days + 1 for _, start, end in parsed)
    if len(index) < window - 1 + split_days:
        raise DataError(
            f"{file}: the series has {len(index)} days ({format_date(first)} to "
            f"{format_date(last)}), shorter than the window's {window - 1} warm-up days plus "
            f"the {split_days} days of the splits. Fix: shorten the splits or the window."
        )
    for name, start, end in parsed:
        if start < first:
            raise DataError(
                f"{file}: split '{name}' starts {format_date(start)}, before the data's first "
                f"date {format_date(first)}. Fix: start the split on or after "
                f"{format_date(first)}."
            )
        if end > last:
            raise DataError(
                f"{file}: split '{name}' ends {format_date(end)}, after the data's last date "
                f"{format_date(last)}. Fix: end the split on or before {format_date(last)}."
            )


def _check_warm_up(first: pd.Timestamp, earliest_split: tuple, window: int, file: str) -> None:
    """The earliest split's first input window lies inside the data."""
    name, start, _ = earliest_split
    warm_up_start = start - pd.Timedelta(days=window - 1)
    if warm_up_start < first:
        earliest = first + pd.Timedelta(days=window - 1)
        raise DataError(
            f"{file}: split '{name}' starts {format_date(start)}, but its first {window}-day "
            f"input window needs data from {format_date(warm_up_start)} and the data start "
            f"{format_date(first)}. Fix: start '{name}' on or after {format_date(earliest)} "
            "or shorten the window."
        )


def _check_observed(discharge: pd.Series, parsed: list, file: str) -> None:
    for name, start, end in parsed:
        if discharge.loc[start:end].notna().sum() == 0:
            raise DataError(
                f"{file}: column '{DISCHARGE}', split '{name}' ({format_date(start)} to "
                f"{format_date(end)}) has no observed discharge. Fix: move the split to a "
                "period with observations."
            )
