"""What every loader shares: reading its spec, finding its files, finishing the frame.

Kept apart so that each loader module holds only the knowledge of one file
layout, and every loader fails the same way on the same mistake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hydroprobe.data.basin import COLUMNS, BasinMeta, BasinSeries
from hydroprobe.data.checks import check_series, format_date
from hydroprobe.errors import ConfigError, DataError


def require(spec: dict, key: str, basin_id: str) -> Any:
    """``spec[key]``, or a :class:`ConfigError` naming ``basins.<id>.<key>``."""
    value = spec.get(key)
    if value is None or value == "":
        raise ConfigError(f"basins.{basin_id}.{key} is missing: add it to params.yaml")
    return value


def as_float(value: Any, key: str, basin_id: str) -> float:
    """A numeric spec value (area, coordinates) or a ConfigError naming its key."""
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"basins.{basin_id}.{key} must be a number, got {value!r}") from error


def missing_code(spec: dict, basin_id: str, key: str = "missing_discharge") -> float | None:
    """The declared missing-value code of a column, if any."""
    value = spec.get(key)
    return None if value is None else as_float(value, key, basin_id)


def data_file(raw_dir: Path, spec: dict, basin_id: str, role: str) -> Path:
    """The existing file ``raw_dir / spec['files'][role]``."""
    files = spec.get("files") or {}
    if not isinstance(files, dict) or not files.get(role):
        raise ConfigError(
            f"basins.{basin_id}.files.{role} is missing: give the file's path under the raw data directory"
        )
    return existing(Path(raw_dir) / str(files[role]), f"basins.{basin_id}.files.{role}")


def existing(path: Path, what: str) -> Path:
    """``path`` if it is a file, else a DataError that says how to get it."""
    if not path.is_file():
        raise DataError(
            f"{path}: file not found ({what}). Fix: run `hydroprobe data fetch`, or correct "
            "the path in params.yaml."
        )
    return path


def mask_code(values: np.ndarray, code: float | None) -> np.ndarray:
    """A float copy of ``values`` with ``code`` (compared with a tolerance) set to NaN.

    Codes such as -1.2345 are not exactly representable; after a round trip
    through float32 or text an exact ``==`` would miss them.
    """
    out = np.array(values, dtype=float)
    if code is not None:
        out[np.isclose(out, float(code), rtol=0.0, atol=1e-6)] = np.nan
    return out


def daily_index(times: Any) -> pd.DatetimeIndex:
    """A ``date`` index from file time stamps, kept in file order (checks judge it)."""
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(times)), name="date")


def overlap(
    forcing: pd.DataFrame, discharge: pd.DataFrame, forcing_file: Path, discharge_file: Path
) -> pd.DataFrame:
    """Forcing and discharge joined over the period both files cover.

    Both frames must already have passed the date checks (sorted, gap-free).
    """
    start = max(forcing.index[0], discharge.index[0])
    end = min(forcing.index[-1], discharge.index[-1])
    if start > end:
        raise DataError(
            f"{forcing_file} ({format_date(forcing.index[0])} to "
            f"{format_date(forcing.index[-1])}) and {discharge_file} "
            f"({format_date(discharge.index[0])} to {format_date(discharge.index[-1])}) do not "
            "overlap. Fix: use forcing and discharge files of the same period."
        )
    return forcing.loc[start:end].join(discharge.loc[start:end], how="inner")


def finish(frame: pd.DataFrame, file: Path, meta: BasinMeta, source: str) -> BasinSeries:
    """Canonical column order, then :func:`check_series` (with the basin area), then the series."""
    if isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.set_axis(frame.index.as_unit("ns"), axis=0)
    frame = frame.rename_axis("date")
    check_series(frame, str(file), area_km2=meta.area_km2)
    return BasinSeries(meta=meta, frame=frame[list(COLUMNS)].astype(float), source=source)


def attribute_row(path: Path, gauge: str, basin_id: str, columns: tuple[str, ...] = ()) -> pd.Series:
    """The row of ``gauge`` in a ``;``-separated CAMELS attribute table (camels_topo.txt, ...).

    ``gauge_id`` is read as text: as a number, 01013500 would lose its
    leading zero and never match. CAMELS-US and Caravan loaders share it.
    """
    table = pd.read_csv(existing(path, f"basins.{basin_id} attributes"), sep=";", dtype={"gauge_id": str})
    for column in ("gauge_id", *columns):
        if column not in table.columns:
            raise DataError(
                f"{path}: column '{column}' is missing (found {list(table.columns)}). "
                "Fix: use the published CAMELS attribute table."
            )
    rows = table[table["gauge_id"].str.strip() == gauge]
    if rows.empty:
        raise DataError(
            f"{path}: column 'gauge_id' has no row for gauge {gauge}. Fix: correct "
            f"basins.{basin_id}.gauge_id, or use an attribute table that lists the gauge."
        )
    return rows.iloc[0]
