"""Own-basin CSV files broken the ways real ones are: each error names file, column and fix.

Every broken file is cut from the real Salmon series at test time (written as a
``csv_table`` file, then corrupted); the real basins show the checks stay quiet
on real data.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION
from hydroprobe.data.loaders import load_basin
from hydroprobe.data.plausibility import check_water_balance, water_balance
from hydroprobe.errors import DataError, DataWarning

TABLE = "salmon.csv"
SALMON_AREA_KM2 = 4250.6
CAMELS_GAUGES = ("01022500", "01547700", "02064000", "03015500")
CARAVAN = "caravan_camels_snow"
#: The two Caravan basins whose discharge exceeds ERA5-Land precipitation (README of the data).
CARAVAN_ABOVE_ONE = {"12175500", "12186000"}


def _spec() -> dict:
    return {
        "loader": "csv_table",
        "name": "Salmon River near Prince George",
        "area_km2": SALMON_AREA_KM2,
        "latitude": 54.4848,
        "longitude": -123.3659,
        "files": {"table": TABLE},
    }


def _write(frame: pd.DataFrame, directory: Path, **to_csv) -> Path:
    path = directory / TABLE
    frame.to_csv(path, index_label="date", date_format="%Y-%m-%d", **to_csv)
    return path


def _five_years(salmon) -> pd.DataFrame:
    """1961-1965 of the real series: whole years, a little missing discharge (ratio 0.387)."""
    return salmon.frame.loc["1961-01-01":"1965-12-31"].copy()


def _load_error(directory: Path) -> str:
    with pytest.raises(DataError) as error:
        load_basin("salmon_csv", _spec(), directory)
    return str(error.value)


def _load_quietly(directory: Path):
    """Load and fail on any warning: real or repaired data must not even warn."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        return load_basin("salmon_csv", _spec(), directory)


# --- empty files ----------------------------------------------------------------------------


def test_header_only_csv_says_no_data_rows(salmon, tmp_path: Path) -> None:
    _write(salmon.frame.iloc[:0], tmp_path)
    message = _load_error(tmp_path)
    assert message == (
        f"{tmp_path / TABLE}: the file has a header but no data rows. Fix: write one row per "
        "day under the header (date, precipitation, temperature, discharge)."
    )


def test_zero_byte_csv_says_empty(tmp_path: Path) -> None:
    (tmp_path / TABLE).write_bytes(b"")
    message = _load_error(tmp_path)
    assert f"{tmp_path / TABLE}: the file is empty (no header line)" in message
    assert "Fix: write the header line" in message


# --- units: the runoff-ratio check ----------------------------------------------------------


def test_discharge_in_cubic_feet_per_second(salmon, tmp_path: Path) -> None:
    frame = _five_years(salmon)
    frame[DISCHARGE] *= 35.315
    _write(frame, tmp_path)
    message = _load_error(tmp_path)
    assert message.startswith(f"{tmp_path / TABLE}: column 'discharge': runoff ratio 13.7 is above 2")
    assert "area_km2 4250.6" in message
    assert "1785 days with both (1961-02-01 to 1965-12-31)" in message
    assert (
        "Likeliest: discharge in cubic feet per second (divide it by 35.315: runoff ratio 0.387)" in message
    )
    assert "Fix: write discharge in m³/s (cfs: divide by 35.315; l/s: divide by 1000;" in message


def test_discharge_in_litres_per_second(salmon, tmp_path: Path) -> None:
    frame = _five_years(salmon)
    frame[DISCHARGE] *= 1000.0
    _write(frame, tmp_path)
    message = _load_error(tmp_path)
    assert message.startswith(f"{tmp_path / TABLE}: column 'discharge': runoff ratio 387 is above 2")
    assert "Likeliest: discharge in litres per second (divide it by 1000: runoff ratio 0.387)" in message
    assert "Also possible" not in message


def test_discharge_in_mm_per_day_for_a_small_area(salmon, tmp_path: Path) -> None:
    # mm/d read as m³/s over a 10 km² basin: 8.64 times the true ratio.
    frame = _five_years(salmon)
    frame[DISCHARGE] = frame[DISCHARGE] * 86.4 / SALMON_AREA_KM2  # now mm/d
    _write(frame, tmp_path)
    spec = _spec() | {"area_km2": 10.0}
    with pytest.raises(DataError) as error:
        load_basin("salmon_csv", spec, tmp_path)
    message = str(error.value)
    assert "column 'discharge': runoff ratio 3.35 is above 2" in message
    assert "discharge in mm/d (multiply it by area_km2 / 86.4 = 0.1157: runoff ratio 0.387)" in message


def test_precipitation_in_metres(salmon, tmp_path: Path) -> None:
    frame = _five_years(salmon)
    frame[PRECIPITATION] /= 1000.0
    _write(frame, tmp_path)
    message = _load_error(tmp_path)
    assert message.startswith(
        f"{tmp_path / TABLE}: column 'precipitation': mean precipitation 0.00174 mm/d "
        "(0.635 mm a year over 1826 days) is implausibly small"
    )
    assert "precipitation looks like metres or centimetres" in message
    assert "Fix: write it in mm/d: multiply metres by 1000 (mean 1.74 mm/d)" in message


def test_precipitation_in_centimetres(salmon, tmp_path: Path) -> None:
    frame = _five_years(salmon)
    frame[PRECIPITATION] /= 10.0
    _write(frame, tmp_path)
    message = _load_error(tmp_path)
    assert message.startswith(f"{tmp_path / TABLE}: column 'precipitation': runoff ratio 3.87 is above 2")
    assert "Likeliest: precipitation in centimetres (multiply it by 10: runoff ratio 0.387)" in message
    assert "Also possible: discharge in cubic feet per second" in message


def test_runoff_ratio_between_one_and_two_warns_and_loads(salmon, tmp_path: Path) -> None:
    frame = _five_years(salmon)
    frame[DISCHARGE] *= 3.0
    _write(frame, tmp_path)
    with pytest.warns(DataWarning) as record:
        series = load_basin("salmon_csv", _spec(), tmp_path)
    message = str(record[0].message)
    assert message.startswith(f"{tmp_path / TABLE}: column 'discharge': runoff ratio 1.16 is above 1")
    assert "under-catches mountain snow" in message
    assert "check that discharge is in m³/s, precipitation in mm/d" in message
    assert series.frame[DISCHARGE].notna().sum() == 1785


def test_short_record_is_not_judged(salmon, tmp_path: Path) -> None:
    # One snowmelt season drains water that fell months before: under a year is not judged.
    frame = salmon.frame.loc["1961-04-01":"1962-03-15"].copy()
    frame[DISCHARGE] *= 35.315
    _write(frame, tmp_path)
    assert water_balance(frame, SALMON_AREA_KM2) is None
    _load_quietly(tmp_path)


# --- separators, byte-order mark, decimal comma ---------------------------------------------


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_or_tab_with_bom_loads_like_commas(salmon, tmp_path: Path, sep: str) -> None:
    frame = _five_years(salmon)
    _write(frame, tmp_path, sep=sep, encoding="utf-8-sig")
    assert (tmp_path / TABLE).read_bytes().startswith(b"\xef\xbb\xbfdate" + sep.encode())
    series = _load_quietly(tmp_path)
    pd.testing.assert_frame_equal(series.frame, frame, check_freq=False, rtol=1e-12)


def test_unrecognised_header_names_the_separator(salmon, tmp_path: Path) -> None:
    frame = _five_years(salmon).rename(columns={PRECIPITATION: "Niederschlag"})
    frame.to_csv(tmp_path / TABLE, sep=";", index_label="Datum", encoding="utf-8-sig")
    message = _load_error(tmp_path)
    assert message == (
        f"{tmp_path / TABLE}: column 'date' is missing (found ['Datum', 'Niederschlag', "
        "'temperature', 'discharge'], reading the file as semicolon-separated, the separator "
        "its header line seems to use). Fix: the first line must name the columns ['date', "
        "'precipitation', 'temperature', 'discharge'], separated by commas, semicolons or tabs."
    )


def test_decimal_comma_says_use_a_point(salmon, tmp_path: Path) -> None:
    _write(_five_years(salmon), tmp_path, sep=";", decimal=",", float_format="%.3f")
    message = _load_error(tmp_path)
    assert message == (
        f"{tmp_path / TABLE}: column 'precipitation', 1961-01-01: '2,081' is not a number. "
        "Fix: write it with a decimal point (2.081), not a decimal comma."
    )


# --- real basins stay quiet -----------------------------------------------------------------


def test_real_netcdf_and_camels_basins_pass_quietly(shared_data: Path, params: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        salmon = load_basin("salmon_river", params["basins"]["salmon_river"], shared_data)
        matapedia = load_basin("matapedia", params["basins"]["matapedia"], shared_data)
        for gauge in CAMELS_GAUGES:
            load_basin(gauge, {"loader": "camels_us", "gauge_id": gauge}, shared_data)
    ratio = water_balance(salmon.frame, salmon.meta.area_km2).ratio
    assert ratio == pytest.approx(0.364, abs=0.001)
    assert water_balance(matapedia.frame, matapedia.meta.area_km2).ratio == pytest.approx(0.532, abs=0.001)


def _caravan_frame(path: Path, area_km2: float) -> pd.DataFrame:
    """Columns 1 (P, mm/d) and 4 (Q, mm/d → m³/s) of a Caravan file, dated from 1981-01-01."""
    raw = pd.read_csv(path, header=None, usecols=[0, 3], names=[PRECIPITATION, "q_mm"])
    index = pd.date_range("1981-01-01", periods=len(raw), freq="D", name="date")
    return pd.DataFrame(
        {PRECIPITATION: raw[PRECIPITATION].to_numpy(), DISCHARGE: raw["q_mm"].to_numpy() * area_km2 / 86.4},
        index=index,
    )


def test_every_caravan_basin_passes_and_only_two_warn(shared_data: Path) -> None:
    root = shared_data / CARAVAN
    topo = pd.read_csv(root / "attributes" / "camels_topo.txt", sep=";", dtype={"gauge_id": str})
    areas = topo.set_index(topo["gauge_id"].str.strip())["area_gages2"]
    files = sorted((root / "timeseries").glob("*.csv"))
    assert len(files) == 35
    warned, ratios = set(), []
    for path in files:
        frame = _caravan_frame(path, float(areas[path.stem]))
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            check_water_balance(frame, str(path), float(areas[path.stem]))
        if any(issubclass(item.category, DataWarning) for item in record):
            warned.add(path.stem)
        ratios.append(water_balance(frame, float(areas[path.stem])).ratio)
    assert warned == CARAVAN_ABOVE_ONE
    assert 1.0 < max(ratios) < 1.25
    assert np.all(np.asarray(ratios) > 0.1)
