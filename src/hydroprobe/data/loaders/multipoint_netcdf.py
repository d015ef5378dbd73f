"""Loader for forcing at several points plus a separate discharge file (Matapédia).

The forcing netCDF holds ``pr``, ``tmin`` and ``tmax`` at a few grid points
over the basin (dimension ``nstations``); the basin value is their mean, as
the paper averages its temperature stations. Fill values (-9999) become NaN
before averaging so that a missing point does not drag the mean down; a day
missing at every point stays NaN. Discharge comes from its own netCDF and the
drainage area from the basin outline (GeoJSON ``UP_AREA``). Only the period
both files cover is kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE, BasinMeta, BasinSeries
from hydroprobe.data.checks import check_dates, check_values
from hydroprobe.data.loaders._common import (
    as_float,
    daily_index,
    data_file,
    finish,
    mask_code,
    overlap,
)
from hydroprobe.errors import ConfigError, DataError

FILL_VALUE = -9999.0
STATION_DIM = "nstations"


def _variable(ds: xr.Dataset, name: str, path: Path) -> xr.DataArray:
    if name not in ds.variables:
        raise DataError(
            f"{path}: variable '{name}' is missing (found {sorted(ds.data_vars)}). "
            "Fix: check the file against the basin's loader in params.yaml."
        )
    return ds[name]


def _fill(array: xr.DataArray) -> float:
    """The variable's fill value: some files write ``FillValue`` instead of ``_FillValue``."""
    for source in (array.attrs, array.encoding):
        for key in ("_FillValue", "FillValue", "missing_value"):
            if key in source and source[key] is not None:
                return float(np.asarray(source[key]).ravel()[0])
    return FILL_VALUE


def station_mean(array: xr.DataArray, station_dim: str, path: Path) -> np.ndarray:
    """Mean over stations of the non-missing values; NaN where every station is missing."""
    if station_dim not in array.dims:
        raise DataError(
            f"{path}: variable '{array.name}' has no dimension '{station_dim}' "
            f"(dimensions {array.dims}). Fix: set basins.<id>.station_dim."
        )
    array = array.transpose(station_dim, "time")
    values = mask_code(array.values, _fill(array))
    values[np.isclose(values, FILL_VALUE, rtol=0.0, atol=1e-6)] = np.nan
    count = np.sum(~np.isnan(values), axis=0)
    total = np.nansum(values, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _station_coordinates(ds: xr.Dataset) -> tuple[float, float] | None:
    for lat, lon in (("latitude", "longitude"), ("lat", "lon")):
        if lat in ds.variables and lon in ds.variables:
            lats = mask_code(ds[lat].values, FILL_VALUE)
            lons = mask_code(ds[lon].values, FILL_VALUE)
            return float(np.nanmean(lats)), float(np.nanmean(lons))
    return None


def _feature(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not readable GeoJSON ({error}). Fix: fetch it again.") from error
    if document.get("type") == "FeatureCollection":
        features = document.get("features") or []
        if not features:
            raise DataError(f"{path}: the FeatureCollection is empty. Fix: fetch it again.")
        return features[0]
    return document


def outline_area(path: Path) -> float:
    """Upstream area (km²) from the outline's ``UP_AREA`` property (HydroBASINS)."""
    properties = _feature(path).get("properties") or {}
    if "UP_AREA" not in properties:
        raise DataError(
            f"{path}: property 'UP_AREA' is missing. Fix: set basins.<id>.area_km2 in params.yaml."
        )
    return float(properties["UP_AREA"])


def outline_centroid(path: Path) -> tuple[float, float]:
    """(latitude, longitude) as the mean of the outline's vertices: a label, not a survey."""
    geometry = _feature(path).get("geometry") or {}
    points = np.asarray(_flatten(geometry.get("coordinates", [])), dtype=float).reshape(-1, 2)
    if points.size == 0:
        raise DataError(f"{path}: the outline has no coordinates. Fix: fetch it again.")
    return float(points[:, 1].mean()), float(points[:, 0].mean())


def _flatten(nested: list) -> list[float]:
    if nested and isinstance(nested[0], int | float):
        return list(nested[:2])
    return [value for item in nested for value in _flatten(item)]


def _forcing(path: Path, station_dim: str) -> tuple[pd.DataFrame, tuple[float, float] | None]:
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        pr, tmin, tmax = (
            station_mean(_variable(ds, name, path), station_dim, path) for name in ("pr", "tmin", "tmax")
        )
        frame = pd.DataFrame(
            {PRECIPITATION: pr, TEMPERATURE: (tmin + tmax) / 2.0},
            index=daily_index(ds["time"].values),
        )
        return frame, _station_coordinates(ds)


def _discharge(path: Path) -> pd.DataFrame:
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        array = _variable(ds, "discharge", path).squeeze(drop=True)
        if array.dims != ("time",):
            raise DataError(
                f"{path}: variable 'discharge' has dimensions {array.dims}, expected ('time',). "
                "Fix: give one gauge's discharge."
            )
        values = mask_code(array.values, _fill(array))
        values[np.isclose(values, FILL_VALUE, rtol=0.0, atol=1e-6)] = np.nan
        return pd.DataFrame({DISCHARGE: values}, index=daily_index(ds["time"].values))


def load(basin_id: str, spec: dict, raw_dir: Path) -> BasinSeries:
    """Read ``files.forcing``, ``files.discharge`` and ``files.outline`` of the spec."""
    forcing_path = data_file(raw_dir, spec, basin_id, "forcing")
    discharge_path = data_file(raw_dir, spec, basin_id, "discharge")
    forcing, stations = _forcing(forcing_path, str(spec.get("station_dim", STATION_DIM)))
    discharge = _discharge(discharge_path)
    for frame, path in ((forcing, forcing_path), (discharge, discharge_path)):
        check_dates(frame.index, str(path))
        check_values(frame, str(path))
    frame = overlap(forcing, discharge, forcing_path, discharge_path)

    outline_path = None
    if (spec.get("files") or {}).get("outline"):
        outline_path = data_file(raw_dir, spec, basin_id, "outline")
    if spec.get("area_km2") is not None:
        area = as_float(spec["area_km2"], "area_km2", basin_id)
    elif outline_path is not None:
        area = outline_area(outline_path)
    else:
        raise ConfigError(
            f"basins.{basin_id}.area_km2 is missing and basins.{basin_id}.files.outline is not "
            "set: give one of them"
        )
    if spec.get("latitude") is not None and spec.get("longitude") is not None:
        latitude = as_float(spec["latitude"], "latitude", basin_id)
        longitude = as_float(spec["longitude"], "longitude", basin_id)
    elif stations is not None:
        latitude, longitude = stations
    elif outline_path is not None:
        latitude, longitude = outline_centroid(outline_path)
    else:
        raise ConfigError(f"basins.{basin_id}.latitude and .longitude are missing")

    meta = BasinMeta(
        id=basin_id,
        name=str(spec.get("name") or basin_id),
        area_km2=area,
        latitude=latitude,
        longitude=longitude,
    )
    files = spec["files"]
    source = ", ".join(str(files[role]) for role in ("forcing", "discharge") if files.get(role))
    return finish(frame, forcing_path, meta, source=source)
