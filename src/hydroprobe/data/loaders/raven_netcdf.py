"""Loader for a CF/Raven single-station netCDF (the Salmon River file).

Raven test files store rain and snow separately, daily minimum and maximum
temperature and observed discharge with a numeric missing code (-1.2345 for
Salmon) instead of a fill value, so the code must come from params.yaml.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE, BasinMeta, BasinSeries
from hydroprobe.data.loaders._common import (
    as_float,
    daily_index,
    data_file,
    finish,
    mask_code,
    missing_code,
)
from hydroprobe.errors import ConfigError, DataError

VARIABLES = ("rain", "snow", "tmin", "tmax", "qobs")
#: Global or discharge attributes that may carry the drainage area in km².
AREA_ATTRIBUTES = ("area_km2", "drainage_area", "basin_area", "area")


def _series(ds: xr.Dataset, name: str, path: Path) -> np.ndarray:
    """A variable as a 1-D float array along ``time`` (a size-1 station axis is dropped)."""
    if name not in ds.variables:
        raise DataError(
            f"{path}: variable '{name}' is missing (found {sorted(ds.data_vars)}). "
            f"Fix: use a Raven file with the variables {list(VARIABLES)}."
        )
    array = ds[name].squeeze(drop=True)
    if array.dims != ("time",):
        raise DataError(
            f"{path}: variable '{name}' has dimensions {array.dims}, expected ('time',). "
            "Fix: use the multipoint_netcdf loader for several stations."
        )
    return np.asarray(array.values, dtype=float)


def _area(ds: xr.Dataset, spec: dict, basin_id: str, path: Path) -> float:
    if spec.get("area_km2") is not None:
        return as_float(spec["area_km2"], "area_km2", basin_id)
    for attrs in (ds.attrs, ds["qobs"].attrs):
        for key in AREA_ATTRIBUTES:
            if key in attrs:
                return float(attrs[key])
    raise ConfigError(
        f"basins.{basin_id}.area_km2 is missing and {path} has no area attribute: "
        "add the drainage area in km² to params.yaml"
    )


def _coordinate(ds: xr.Dataset, names: tuple[str, ...], key: str, spec: dict, basin_id: str):
    if spec.get(key) is not None:
        return as_float(spec[key], key, basin_id)
    for name in names:
        if name in ds.variables:
            return float(np.nanmean(np.asarray(ds[name].values, dtype=float)))
    raise ConfigError(f"basins.{basin_id}.{key} is missing and the file has no {names[0]}")


def load(basin_id: str, spec: dict, raw_dir: Path) -> BasinSeries:
    """Read ``spec['files']['forcing']`` into the canonical daily series.

    precipitation = rain + snow, temperature = (tmin + tmax) / 2, discharge =
    qobs with ``spec['missing_discharge']`` turned into NaN.
    """
    path = data_file(raw_dir, spec, basin_id, "forcing")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        data = {name: _series(ds, name, path) for name in VARIABLES}
        index = daily_index(ds["time"].values)
        meta = BasinMeta(
            id=basin_id,
            name=str(spec.get("name") or ds.attrs.get("title") or basin_id),
            area_km2=_area(ds, spec, basin_id, path),
            latitude=_coordinate(ds, ("lat", "latitude"), "latitude", spec, basin_id),
            longitude=_coordinate(ds, ("lon", "longitude"), "longitude", spec, basin_id),
        )
    frame = pd.DataFrame(
        {
            PRECIPITATION: data["rain"] + data["snow"],
            TEMPERATURE: (data["tmin"] + data["tmax"]) / 2.0,
            DISCHARGE: mask_code(data["qobs"], missing_code(spec, basin_id)),
        },
        index=index,
    )
    return finish(frame, path, meta, source=str(spec["files"]["forcing"]))
