"""The four loaders against the real files (and real files cut or rearranged in tmp_path)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydroprobe.data.basin import COLUMNS, DISCHARGE, PRECIPITATION, TEMPERATURE
from hydroprobe.data.loaders import LOADERS, load_basin
from hydroprobe.data.loaders.camels_us import CUBIC_FEET_TO_CUBIC_METRES
from hydroprobe.data.loaders.csv_table import daily_mean_of_hours
from hydroprobe.errors import ConfigError, DataError

CAMELS_GAUGES = ("01022500", "01547700", "02064000", "03015500")
MATAPEDIA_FORCING = "matapedia/Matapedia_meteo_data_stations.nc"
MATAPEDIA_DISCHARGE = "matapedia/Qobs_Matapedia_01BD009.nc"


# --- dispatch -------------------------------------------------------------------------------


def test_unknown_loader_names_key_and_valid_loaders(shared_data: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_basin("salmon_river", {"loader": "raven_csv"}, shared_data)
    message = str(error.value)
    assert "basins.salmon_river.loader" in message
    assert "'raven_csv'" in message
    for name in LOADERS:
        assert name in message


def test_missing_file_says_to_fetch(tmp_path: Path, salmon_spec: dict) -> None:
    with pytest.raises(DataError, match="hydroprobe data fetch") as error:
        load_basin("salmon_river", salmon_spec, tmp_path)
    assert "Salmon-River-Near-Prince-George_meteo_daily.nc" in str(error.value)
    assert "basins.salmon_river.files.forcing" in str(error.value)


# --- raven_netcdf (Salmon) ------------------------------------------------------------------


def test_salmon_period_missing_days_and_meta(salmon) -> None:
    frame = salmon.frame
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 20_819
    assert frame.index[0] == pd.Timestamp("1954-01-01")
    assert frame.index[-1] == pd.Timestamp("2010-12-31")
    assert frame.index.name == "date"
    assert int(frame[DISCHARGE].isna().sum()) == 1_697
    assert int(frame[[PRECIPITATION, TEMPERATURE]].isna().sum().sum()) == 0
    assert salmon.meta.area_km2 == pytest.approx(4250.6)
    assert salmon.meta.latitude == pytest.approx(54.4848)
    assert salmon.meta.longitude == pytest.approx(-123.3659)
    assert salmon.meta.name.startswith("Salmon River")


def test_salmon_values_follow_the_formulas(salmon) -> None:
    # Hand-read from the file: 1955-01-02 rain 0, snow 3.377294, tmin -27.299765,
    # tmax -14.185410, qobs 20.4.
    row = salmon.frame.loc["1955-01-02"]
    assert row[PRECIPITATION] == pytest.approx(3.377294, abs=1e-6)
    assert row[TEMPERATURE] == pytest.approx((-27.299765 - 14.185410) / 2, abs=1e-6)
    assert row[DISCHARGE] == pytest.approx(20.4)
    # 1955-12 is one of the gaps coded -1.2345: NaN, never a (negative) flow.
    december = salmon.frame.loc["1955-12-01":"1955-12-31", DISCHARGE]
    assert december.isna().all()
    assert (salmon.frame[DISCHARGE].dropna() > 0).all()


def test_salmon_missing_code_matches_with_tolerance(salmon_cut) -> None:
    def float32_code(ds: xr.Dataset) -> xr.Dataset:
        # A float32 round trip turns -1.2345 into -1.2345000505...: still the missing code.
        ds["qobs"].loc[{"time": "1954-01-05"}] = float(np.float32(-1.2345))
        return ds

    raw_dir, spec, _ = salmon_cut("1954-01-01", "1954-01-31", float32_code)
    series = load_basin("salmon_river", spec, raw_dir)
    assert np.isnan(series.frame.loc["1954-01-05", DISCHARGE])
    assert series.frame[DISCHARGE].isna().sum() == 1


def test_salmon_area_from_file_metadata_else_config_error(salmon_cut) -> None:
    def with_area(ds: xr.Dataset) -> xr.Dataset:
        ds.attrs["drainage_area"] = 4250.6
        return ds

    raw_dir, spec, _ = salmon_cut("1954-01-01", "1954-01-31", with_area)
    del spec["area_km2"]
    assert load_basin("salmon_river", spec, raw_dir).meta.area_km2 == pytest.approx(4250.6)

    raw_dir, spec, _ = salmon_cut("1954-01-01", "1954-01-31")
    del spec["area_km2"]
    with pytest.raises(ConfigError, match=r"basins\.salmon_river\.area_km2"):
        load_basin("salmon_river", spec, raw_dir)


# --- multipoint_netcdf (Matapédia) ----------------------------------------------------------


def test_matapedia_overlap_area_and_station_mean(shared_data: Path, params: dict) -> None:
    series = load_basin("matapedia", params["basins"]["matapedia"], shared_data)
    frame = series.frame
    # Forcing 1980-12-31..2020-12-31, discharge 1998-01-01..2022-12-31: overlap 1998..2020.
    assert frame.index[0] == pd.Timestamp("1998-01-01")
    assert frame.index[-1] == pd.Timestamp("2020-12-31")
    assert len(frame) == 8_401
    assert int(frame[DISCHARGE].isna().sum()) == 250
    assert series.meta.area_km2 == pytest.approx(2750.9)
    # Six ERA5 points at 48.25/48.5 N and -67.75..-67 E.
    assert series.meta.latitude == pytest.approx((4 * 48.5 + 2 * 48.25) / 6)
    assert series.meta.longitude == pytest.approx(-67.375)
    # Hand-read 2000-07-01: pr at the six points 0.73242188 1.34277344 1.83105469 1.58691406
    # 1.77001953 3.17382812; station means tmin 11.5687561, tmax 20.8604228; Q 31.43.
    row = frame.loc["2000-07-01"]
    pr = [0.73242188, 1.34277344, 1.83105469, 1.58691406, 1.77001953, 3.17382812]
    assert row[PRECIPITATION] == pytest.approx(sum(pr) / 6, abs=1e-7)
    assert row[TEMPERATURE] == pytest.approx((11.5687561 + 20.8604228) / 2, abs=1e-6)
    assert row[DISCHARGE] == pytest.approx(31.43)


def _matapedia_copy(shared_data: Path, tmp_path: Path, edit_forcing=None, edit_discharge=None):
    """A 1999 cut of both Matapédia netCDF files (optionally edited) plus the outline."""
    raw_dir = tmp_path / "raw"
    (raw_dir / "matapedia").mkdir(parents=True)
    for name, edit in ((MATAPEDIA_FORCING, edit_forcing), (MATAPEDIA_DISCHARGE, edit_discharge)):
        with xr.open_dataset(shared_data / name, engine="h5netcdf") as ds:
            part = ds.sel(time=slice("1999-01-01", "1999-12-31")).load()
        for variable in part.variables.values():
            variable.encoding = {}  # the file's own -9999 coding is what the loader must handle
        if edit is not None:
            part = edit(part)
        part.to_netcdf(raw_dir / name, engine="h5netcdf")
    shutil.copyfile(shared_data / "matapedia/matapedia.geojson", raw_dir / "matapedia/matapedia.geojson")
    return raw_dir


def test_matapedia_fill_values_become_nan_before_averaging(
    shared_data: Path, tmp_path: Path, params: dict
) -> None:
    def holes(ds: xr.Dataset) -> xr.Dataset:
        pr = ds["pr"].values.copy()
        day_one = int(np.flatnonzero(ds["time"].values == np.datetime64("1999-07-01"))[0])
        day_two = day_one + 1
        pr[0, day_one] = -9999.0  # one point missing: mean of the other five
        pr[:, day_two] = -9999.0  # every point missing: the day stays NaN
        # Without its FillValue attribute, -9999 must still read as missing.
        attrs = {key: value for key, value in ds["pr"].attrs.items() if key != "FillValue"}
        ds["pr"] = (ds["pr"].dims, pr, attrs)
        return ds

    def discharge_hole(ds: xr.Dataset) -> xr.Dataset:
        ds["discharge"].loc[{"time": "1999-07-03"}] = -9999.0
        return ds

    raw_dir = _matapedia_copy(shared_data, tmp_path, holes, discharge_hole)
    series = load_basin("matapedia", params["basins"]["matapedia"], raw_dir)
    with xr.open_dataset(shared_data / MATAPEDIA_FORCING, engine="h5netcdf") as ds:
        real = ds["pr"].sel(time="1999-07-01").values
    assert series.frame.loc["1999-07-01", PRECIPITATION] == pytest.approx(real[1:].mean())
    assert np.isnan(series.frame.loc["1999-07-02", PRECIPITATION])
    assert np.isnan(series.frame.loc["1999-07-03", DISCHARGE])
    assert len(series.frame) == 365


# --- camels_us ------------------------------------------------------------------------------


def camels_spec(gauge: str) -> dict:
    return {"loader": "camels_us", "gauge_id": gauge, "root": "camels_us"}


def test_camels_reads_the_published_layout(shared_data: Path) -> None:
    series = load_basin("narraguagus", camels_spec("01022500"), shared_data)
    frame = series.frame
    # Forcing covers 2000-2003, streamflow 2000-2002: the overlap is kept.
    assert frame.index[0] == pd.Timestamp("2000-01-01")
    assert frame.index[-1] == pd.Timestamp("2002-12-31")
    assert len(frame) == 1_096
    assert series.meta.name == "Narraguagus River at Cherryfield, Maine"
    assert series.meta.area_km2 == pytest.approx(573.6)
    assert series.meta.latitude == pytest.approx(44.60797)
    assert series.meta.longitude == pytest.approx(-67.93524)
    # First rows of the files: 2000-01-01 prcp 0.00, tmax -2.36, tmin -14.36; flow 255 cfs.
    # 255 ft³/s x 0.3048³ m³/ft³ = 255 x 0.028316846592 = 7.22079588096 m³/s.
    row = frame.loc["2000-01-01"]
    factor = CUBIC_FEET_TO_CUBIC_METRES
    assert factor == pytest.approx(0.028316846592, rel=1e-12)
    assert row[DISCHARGE] == pytest.approx(7.22079588096, rel=1e-10)
    assert row[PRECIPITATION] == 0.0
    assert row[TEMPERATURE] == pytest.approx(-8.36)


@pytest.mark.parametrize("gauge", CAMELS_GAUGES)
def test_camels_all_four_basins_load(shared_data: Path, gauge: str) -> None:
    series = load_basin(gauge, camels_spec(gauge), shared_data)
    assert len(series.frame) == 1_096
    assert series.frame[DISCHARGE].notna().all()
    assert series.meta.area_km2 > 0


def _camels_copy(shared_data: Path, tmp_path: Path, gauge: str, huc: str | None = None) -> Path:
    """The files of one gauge in the CAMELS layout under tmp_path (optionally in HUC folders)."""
    root = tmp_path / "raw" / "camels_us"
    forcing = f"basin_mean_forcing/daymet/{gauge}_lump_cida_forcing_leap.txt"
    flow = f"usgs_streamflow/{gauge}_streamflow_qc.txt"
    for relative in (
        forcing,
        flow,
        "camels_attributes_v2.0/camels_topo.txt",
        "camels_attributes_v2.0/camels_name.txt",
    ):
        target = root / relative
        if huc and relative in (forcing, flow):
            target = target.parent / huc / target.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_data / "camels_us" / relative, target)
    return root


def test_camels_missing_flow_code_and_huc_subfolders(shared_data: Path, tmp_path: Path) -> None:
    root = _camels_copy(shared_data, tmp_path, "01547700", huc="02")
    flow = root / "usgs_streamflow/02/01547700_streamflow_qc.txt"
    lines = flow.read_text().splitlines()
    assert lines[9].startswith("01547700 2000 01 10")
    lines[9] = "01547700 2000 01 10  -999.00 M"
    flow.write_text("\n".join(lines) + "\n")
    series = load_basin("marsh", camels_spec("01547700"), tmp_path / "raw")
    assert np.isnan(series.frame.loc["2000-01-10", DISCHARGE])
    assert series.frame[DISCHARGE].isna().sum() == 1


def test_camels_unquoted_gauge_id_is_refused(shared_data: Path) -> None:
    spec = camels_spec("01022500")
    spec["gauge_id"] = 0o1022500  # what YAML makes of an unquoted 01022500
    with pytest.raises(ConfigError, match=r"basins\.narraguagus\.gauge_id.*quotes"):
        load_basin("narraguagus", spec, shared_data)


# --- csv_table ------------------------------------------------------------------------------


def csv_spec(salmon, **files: str) -> dict:
    return {
        "loader": "csv_table",
        "name": salmon.meta.name,
        "area_km2": salmon.meta.area_km2,
        "latitude": salmon.meta.latitude,
        "longitude": salmon.meta.longitude,
        "files": files,
    }


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index_label="date", date_format="%Y-%m-%d")
    return path


def test_csv_table_round_trips_the_real_series(salmon, tmp_path: Path) -> None:
    # 1955 holds 31 missing discharge days (December): they must come back as NaN.
    part = salmon.frame.loc["1955-01-01":"1956-12-31"]
    write_table(part, tmp_path / "salmon.csv")
    series = load_basin("salmon_csv", csv_spec(salmon, table="salmon.csv"), tmp_path)
    pd.testing.assert_frame_equal(series.frame, part, check_freq=False, atol=1e-9)
    assert series.frame[DISCHARGE].isna().sum() == 31 + 91  # 1955 and 1956 gaps
    assert series.meta.area_km2 == pytest.approx(4250.6)


def test_csv_table_needs_metadata_from_params(salmon, tmp_path: Path) -> None:
    write_table(salmon.frame.loc["1955-01-01":"1955-01-31"], tmp_path / "salmon.csv")
    spec = csv_spec(salmon, table="salmon.csv")
    del spec["area_km2"]
    with pytest.raises(ConfigError, match=r"basins\.salmon_csv\.area_km2"):
        load_basin("salmon_csv", spec, tmp_path)


def test_missing_forcing_stays_nan(salmon, tmp_path: Path) -> None:
    part = salmon.frame.loc["1955-01-01":"1955-01-31"].copy()
    part.loc["1955-01-10", PRECIPITATION] = np.nan
    part.loc["1955-01-11", TEMPERATURE] = np.nan
    write_table(part, tmp_path / "salmon.csv")
    frame = load_basin("salmon_csv", csv_spec(salmon, table="salmon.csv"), tmp_path).frame
    assert np.isnan(frame.loc["1955-01-10", PRECIPITATION])
    assert np.isnan(frame.loc["1955-01-11", TEMPERATURE])
    assert frame[PRECIPITATION].isna().sum() == 1
    assert frame[TEMPERATURE].isna().sum() == 1


def _hourly_from_daily(salmon) -> tuple[pd.DataFrame, np.ndarray]:
    """72 real consecutive daily flows laid out as the 24 hours of 1960-03-01..03."""
    values = salmon.frame.loc["1960-03-01":"1960-05-11", DISCHARGE].to_numpy()
    assert len(values) == 72 and not np.isnan(values).any()
    stamps = pd.date_range("1960-03-01 00:00", periods=72, freq="h")
    hourly = pd.DataFrame({"datetime": stamps, "discharge": values.copy()})
    hourly.loc[3:5, "discharge"] = np.nan  # day 1: hours 03-05 blank
    hourly.loc[24:47, "discharge"] = np.nan  # day 2: every hour blank
    keep = [48, 60]  # day 3: only hours 00 and 12
    hourly.loc[[i for i in range(48, 72) if i not in keep], "discharge"] = np.nan
    return hourly, values


def test_hourly_discharge_is_the_mean_of_the_valid_hours(salmon, tmp_path: Path) -> None:
    hourly, values = _hourly_from_daily(salmon)
    hourly.to_csv(tmp_path / "hourly.csv", index=False, date_format="%Y-%m-%d %H:%M")
    table = salmon.frame.loc["1960-03-01":"1960-03-03", [PRECIPITATION, TEMPERATURE]]
    write_table(table, tmp_path / "table.csv")
    spec = csv_spec(salmon, table="table.csv", discharge_hourly="hourly.csv")
    frame = load_basin("salmon_hourly", spec, tmp_path).frame

    day_one = np.r_[values[0:3], values[6:24]]
    assert len(day_one) == 21
    assert frame.loc["1960-03-01", DISCHARGE] == pytest.approx(day_one.sum() / 21)
    assert np.isnan(frame.loc["1960-03-02", DISCHARGE])  # no valid hour: missing
    assert frame.loc["1960-03-03", DISCHARGE] == pytest.approx((values[48] + values[60]) / 2)
    # Hand check of day 3 from the real series: 1960-04-18 and 1960-04-30 flows.
    by_hand = (salmon.frame.loc["1960-04-18", DISCHARGE] + salmon.frame.loc["1960-04-30", DISCHARGE]) / 2
    assert frame.loc["1960-03-03", DISCHARGE] == pytest.approx(by_hand)
    pd.testing.assert_frame_equal(frame[[PRECIPITATION, TEMPERATURE]], table, check_freq=False)


def test_hourly_days_absent_from_the_file_are_missing(salmon, tmp_path: Path) -> None:
    hourly, values = _hourly_from_daily(salmon)
    hourly.iloc[:24].to_csv(tmp_path / "hourly.csv", index=False)  # only 1960-03-01
    table = salmon.frame.loc["1960-03-01":"1960-03-03", [PRECIPITATION, TEMPERATURE]]
    write_table(table, tmp_path / "table.csv")
    spec = csv_spec(salmon, table="table.csv", discharge_hourly="hourly.csv")
    frame = load_basin("salmon_hourly", spec, tmp_path).frame
    assert frame[DISCHARGE].notna().tolist() == [True, False, False]


def test_daily_mean_of_hours_groups_by_calendar_day(salmon) -> None:
    hourly, values = _hourly_from_daily(salmon)
    daily = daily_mean_of_hours(hourly.set_index("datetime")["discharge"])
    assert list(daily.index) == list(pd.date_range("1960-03-01", periods=3, freq="D"))
    assert daily.iloc[0] == pytest.approx(np.r_[values[0:3], values[6:24]].mean())


def test_hourly_and_daily_discharge_together_is_an_error(salmon, tmp_path: Path) -> None:
    hourly, _ = _hourly_from_daily(salmon)
    hourly.to_csv(tmp_path / "hourly.csv", index=False)
    write_table(salmon.frame.loc["1960-03-01":"1960-03-03"], tmp_path / "table.csv")
    spec = csv_spec(salmon, table="table.csv", discharge_hourly="hourly.csv")
    with pytest.raises(DataError, match=r"table\.csv: column 'discharge', 1960-03-01"):
        load_basin("salmon_hourly", spec, tmp_path)


def test_loaders_do_not_share_spec_state(salmon_spec: dict, shared_data: Path) -> None:
    before = copy.deepcopy(salmon_spec)
    load_basin("salmon_river", salmon_spec, shared_data)
    assert salmon_spec == before
