"""Every check rule, each fed a broken copy of a real file; messages name file, column, date."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE
from hydroprobe.data.checks import check_length_and_splits, check_series
from hydroprobe.data.loaders import load_basin
from hydroprobe.errors import ConfigError, DataError

SALMON_NAME = "Salmon-River-Near-Prince-George_meteo_daily.nc"
WINDOW = 365


def _reindexed(ds: xr.Dataset, order: list[int]) -> xr.Dataset:
    return ds.isel(time=order)


def _set(ds: xr.Dataset, variable: str, date: str, value: float) -> xr.Dataset:
    ds[variable].loc[{"time": date}] = value
    return ds


def _load_error(raw_dir: Path, spec: dict) -> str:
    with pytest.raises(DataError) as error:
        load_basin("salmon_river", spec, raw_dir)
    return str(error.value)


# --- dates ----------------------------------------------------------------------------------


def test_duplicated_date(salmon_cut) -> None:
    # 1954-01-01..31 with 1954-01-10 written twice.
    order = list(range(10)) + [9] + list(range(10, 31))
    raw_dir, spec, _ = salmon_cut("1954-01-01", "1954-01-31", lambda ds: _reindexed(ds, order))
    message = _load_error(raw_dir, spec)
    assert SALMON_NAME in message
    assert "column 'date', 1954-01-10" in message
    assert "more than once" in message
    assert "Fix:" in message


def test_unsorted_dates(salmon_cut) -> None:
    order = list(range(31))
    order[14], order[15] = order[15], order[14]  # 1954-01-16 before 1954-01-15
    raw_dir, spec, _ = salmon_cut("1954-01-01", "1954-01-31", lambda ds: _reindexed(ds, order))
    message = _load_error(raw_dir, spec)
    assert SALMON_NAME in message
    assert "column 'date', 1954-01-15" in message
    assert "not sorted" in message
    assert "sort the rows" in message


def test_gap_in_daily_dates(salmon_cut) -> None:
    order = [i for i in range(31) if i not in (19, 20)]  # 1954-01-20 and -21 dropped
    raw_dir, spec, _ = salmon_cut("1954-01-01", "1954-01-31", lambda ds: _reindexed(ds, order))
    message = _load_error(raw_dir, spec)
    assert SALMON_NAME in message
    assert "column 'date', 1954-01-20" in message
    assert "2 days missing" in message
    assert "NaN" in message


def test_sub_daily_time_stamps(salmon, tmp_path: Path) -> None:
    part = salmon.frame.loc["1955-01-01":"1955-01-10"].copy()
    part.index = part.index + pd.Timedelta(hours=12)
    part.to_csv(tmp_path / "salmon.csv", index_label="date")
    spec = {
        "loader": "csv_table",
        "name": "Salmon",
        "area_km2": 4250.6,
        "latitude": 54.5,
        "longitude": -123.4,
        "files": {"table": "salmon.csv"},
    }
    with pytest.raises(DataError, match=r"salmon\.csv: column 'date', 1955-01-01 12:00:00"):
        load_basin("salmon_csv", spec, tmp_path)


def test_unparseable_date_in_csv(salmon, tmp_path: Path) -> None:
    part = salmon.frame.loc["1955-01-01":"1955-01-10"]
    path = tmp_path / "salmon.csv"
    part.to_csv(path, index_label="date", date_format="%Y-%m-%d")
    path.write_text(path.read_text().replace("1955-01-05", "1955-01-5x"))
    spec = {
        "loader": "csv_table",
        "name": "Salmon",
        "area_km2": 4250.6,
        "latitude": 54.5,
        "longitude": -123.4,
        "files": {"table": "salmon.csv"},
    }
    with pytest.raises(DataError, match=r"salmon\.csv: column 'date', row 6: '1955-01-5x'"):
        load_basin("salmon_csv", spec, tmp_path)


# --- values ---------------------------------------------------------------------------------


def test_negative_precipitation(salmon_cut) -> None:
    raw_dir, spec, _ = salmon_cut("1954-01-01", "1954-01-31", lambda ds: _set(ds, "rain", "1954-01-07", -3.0))
    message = _load_error(raw_dir, spec)
    assert SALMON_NAME in message
    assert "column 'precipitation', 1954-01-07" in message
    assert "negative value" in message


def test_negative_discharge_other_than_the_missing_code(salmon_cut) -> None:
    def broken(ds: xr.Dataset) -> xr.Dataset:
        ds = _set(ds, "qobs", "1954-01-03", -1.2345)  # declared code: fine, becomes NaN
        return _set(ds, "qobs", "1954-01-12", -5.0)  # not a code: an error

    raw_dir, spec, _ = salmon_cut("1954-01-01", "1954-01-31", broken)
    message = _load_error(raw_dir, spec)
    assert SALMON_NAME in message
    assert "column 'discharge', 1954-01-12" in message
    assert "-5" in message
    assert "missing_discharge" in message


def test_undeclared_missing_code_is_negative_discharge(salmon_cut) -> None:
    raw_dir, spec, _ = salmon_cut("1955-11-01", "1955-12-31")
    del spec["missing_discharge"]
    message = _load_error(raw_dir, spec)
    # The first -1.2345 of the real file in this cut is 1955-12-01.
    assert "column 'discharge', 1955-12-01: negative value -1.2345" in message


def test_kelvin_temperature(salmon_cut) -> None:
    def kelvin(ds: xr.Dataset) -> xr.Dataset:
        for name in ("tmin", "tmax"):
            ds[name] = ds[name] + 273.15
        return ds

    raw_dir, spec, _ = salmon_cut("1954-06-01", "1954-06-30", kelvin)
    message = _load_error(raw_dir, spec)
    assert SALMON_NAME in message
    assert "column 'temperature', 1954-06-01" in message
    assert "Kelvin" in message
    assert "273.15" in message


def test_negative_discharge_in_matapedia_names_the_discharge_file(
    shared_data: Path, tmp_path: Path, params: dict
) -> None:
    raw_dir = tmp_path / "raw"
    (raw_dir / "matapedia").mkdir(parents=True)
    for name in ("Matapedia_meteo_data_stations.nc", "matapedia.geojson"):
        shutil.copyfile(shared_data / "matapedia" / name, raw_dir / "matapedia" / name)
    with xr.open_dataset(shared_data / "matapedia/Qobs_Matapedia_01BD009.nc") as ds:
        part = ds.sel(time=slice("1998-01-01", "2001-12-31")).load()
    part["discharge"].loc[{"time": "2000-02-29"}] = -12.0
    part.to_netcdf(raw_dir / "matapedia/Qobs_Matapedia_01BD009.nc", engine="h5netcdf")
    with pytest.raises(DataError) as error:
        load_basin("matapedia", params["basins"]["matapedia"], raw_dir)
    assert "Qobs_Matapedia_01BD009.nc: column 'discharge', 2000-02-29" in str(error.value)


def test_negative_flow_in_camels_names_the_streamflow_file(shared_data: Path, tmp_path: Path) -> None:
    root = tmp_path / "raw" / "camels_us"
    shutil.copytree(shared_data / "camels_us", root)
    flow = root / "usgs_streamflow" / "02064000_streamflow_qc.txt"
    flow.chmod(0o644)
    lines = flow.read_text().splitlines()
    assert lines[40].startswith("02064000 2000 02 10")
    lines[40] = "02064000 2000 02 10   -55.00 A"
    flow.write_text("\n".join(lines) + "\n")
    spec = {"loader": "camels_us", "gauge_id": "02064000"}
    with pytest.raises(DataError) as error:
        load_basin("falling", spec, tmp_path / "raw")
    assert "02064000_streamflow_qc.txt: column 'discharge', 2000-02-10" in str(error.value)


def test_not_a_number_in_csv(salmon, tmp_path: Path) -> None:
    part = salmon.frame.loc["1955-01-01":"1955-01-10"].astype(object)
    part.loc["1955-01-04", TEMPERATURE] = "-2,5"
    part.to_csv(tmp_path / "salmon.csv", index_label="date", date_format="%Y-%m-%d")
    spec = {
        "loader": "csv_table",
        "name": "Salmon",
        "area_km2": 4250.6,
        "latitude": 54.5,
        "longitude": -123.4,
        "files": {"table": "salmon.csv"},
    }
    with pytest.raises(DataError, match=r"salmon\.csv: column 'temperature', 1955-01-04"):
        load_basin("salmon_csv", spec, tmp_path)


def test_hourly_duplicate_and_negative(salmon, tmp_path: Path) -> None:
    days = salmon.frame.loc["1960-03-01":"1960-03-02"]
    hourly = pd.DataFrame(
        {
            "datetime": pd.date_range("1960-03-01", periods=48, freq="h"),
            "discharge": salmon.frame.loc["1960-03-01":"1960-04-17", DISCHARGE].to_numpy(),
        }
    )
    days[[PRECIPITATION, TEMPERATURE]].to_csv(
        tmp_path / "table.csv", index_label="date", date_format="%Y-%m-%d"
    )
    spec = {
        "loader": "csv_table",
        "name": "Salmon",
        "area_km2": 4250.6,
        "latitude": 54.5,
        "longitude": -123.4,
        "files": {"table": "table.csv", "discharge_hourly": "hourly.csv"},
    }

    duplicated = pd.concat([hourly.iloc[:30], hourly.iloc[29:]])
    duplicated.to_csv(tmp_path / "hourly.csv", index=False)
    with pytest.raises(DataError, match=r"hourly\.csv: column 'datetime', 1960-03-02 05:00:00"):
        load_basin("salmon_hourly", spec, tmp_path)

    negative = hourly.copy()
    negative.loc[40, "discharge"] = -1.0
    negative.to_csv(tmp_path / "hourly.csv", index=False)
    with pytest.raises(DataError, match=r"hourly\.csv: column 'discharge', 1960-03-02 16:00:00"):
        load_basin("salmon_hourly", spec, tmp_path)


def test_missing_column(salmon) -> None:
    frame = salmon.frame.loc["1955-01-01":"1955-01-31"].drop(columns=[TEMPERATURE])
    with pytest.raises(DataError, match=r"salmon\.nc: column 'temperature' is missing"):
        check_series(frame, "salmon.nc")


def test_real_series_pass(salmon) -> None:
    check_series(salmon.frame, "salmon.nc")
    assert salmon.frame[DISCHARGE].isna().sum() == 1_697  # checks never fill


# --- length and splits ----------------------------------------------------------------------


def test_params_splits_fit_the_real_data(salmon, params: dict) -> None:
    splits = params["basins"]["salmon_river"]["splits"]
    check_length_and_splits(salmon.frame, splits, WINDOW, "salmon.nc")


def test_series_shorter_than_window_plus_splits(salmon) -> None:
    part = salmon.frame.loc["1961-01-01":"1962-12-31"]
    splits = {"train": ("1961-01-01", "1962-06-30"), "test": ("1962-07-01", "1962-12-31")}
    with pytest.raises(DataError) as error:
        check_length_and_splits(part, splits, WINDOW, "salmon.nc")
    message = str(error.value)
    assert "salmon.nc" in message
    assert "730 days (1961-01-01 to 1962-12-31)" in message
    assert "364 warm-up days plus the 730 days" in message


def test_overlapping_splits(salmon) -> None:
    splits = {
        "train": ["1961-01-01", "1990-12-31"],
        "validation": ["1990-07-01", "1997-12-31"],
    }
    with pytest.raises(DataError) as error:
        check_length_and_splits(salmon.frame, splits, WINDOW, "salmon.nc")
    message = str(error.value)
    assert "'train' and 'validation' overlap from 1990-07-01 to 1990-12-31" in message


def test_split_outside_the_data(salmon) -> None:
    splits = {"train": ["1961-01-01", "1990-12-31"], "test": ["2005-01-01", "2012-12-31"]}
    with pytest.raises(DataError) as error:
        check_length_and_splits(salmon.frame, splits, WINDOW, "salmon.nc")
    message = str(error.value)
    assert "split 'test' ends 2012-12-31, after the data's last date 2010-12-31" in message


def test_split_before_the_data(salmon) -> None:
    splits = {"train": ["1950-01-01", "1960-12-31"]}
    with pytest.raises(DataError, match="split 'train' starts 1950-01-01, before the data's first"):
        check_length_and_splits(salmon.frame, splits, WINDOW, "salmon.nc")


def test_split_without_room_for_the_window(salmon) -> None:
    splits = {"train": ["1954-06-01", "1960-12-31"]}
    with pytest.raises(DataError) as error:
        check_length_and_splits(salmon.frame, splits, WINDOW, "salmon.nc")
    message = str(error.value)
    assert "split 'train' starts 1954-06-01" in message
    assert "needs data from 1953-06-02" in message
    assert "on or after 1954-12-31" in message


def test_split_without_observed_discharge(salmon) -> None:
    # The real record has no discharge from 2008-01-01 until a spot value on 2008-07-22.
    splits = {"train": ["1961-01-01", "1990-12-31"], "test": ["2008-01-01", "2008-07-21"]}
    with pytest.raises(DataError) as error:
        check_length_and_splits(salmon.frame, splits, WINDOW, "salmon.nc")
    assert "split 'test' (2008-01-01 to 2008-07-21) has no observed discharge" in str(error.value)
    splits["test"] = ["2008-01-01", "2008-07-22"]
    check_length_and_splits(salmon.frame, splits, WINDOW, "salmon.nc")


@pytest.mark.parametrize(
    ("splits", "window", "pattern"),
    [
        ({"train": ["1990-12-31", "1961-01-01"]}, WINDOW, "starts 1990-12-31 after it ends"),
        ({"train": ["1961-01-01"]}, WINDOW, r"split 'train' must be \[start, end\]"),
        ({"train": ["1961-13-01", "1990-12-31"]}, WINDOW, "not YYYY-MM-DD"),
        ({"train": ["1961-01-01", "1990-12-31"]}, 0, "window must be a positive"),
        ({}, WINDOW, "splits is empty"),
    ],
)
def test_bad_split_config(salmon, splits: dict, window: int, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        check_length_and_splits(salmon.frame, splits, window, "salmon.nc")


def test_splits_accept_yaml_dates(salmon, params: dict) -> None:
    # params.yaml quotes its dates (DVC cannot read YAML dates), but an unquoted
    # date that yaml.safe_load turns into datetime.date is accepted too.
    splits = params["basins"]["salmon_river"]["splits"]
    assert isinstance(splits["train"][0], str)
    as_dates = {name: [yaml.safe_load(bound) for bound in bounds] for name, bounds in splits.items()}
    assert not isinstance(as_dates["train"][0], str)
    check_length_and_splits(salmon.frame, as_dates, WINDOW, "salmon.nc")
    assert np.isfinite(salmon.frame.loc["1961-01-01", PRECIPITATION])
