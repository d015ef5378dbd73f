"""The caravan_csv loader and basin groups against the real caravan_camels_snow files.

Broken inputs are real files cut or edited in tmp_path; expected numbers are
computed here from the raw text of the file, never by the code under test.
"""

from __future__ import annotations

import calendar
import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hydroprobe.data.basin import COLUMNS, DISCHARGE, PRECIPITATION, TEMPERATURE
from hydroprobe.data.groups import below_zero_season, group_basins
from hydroprobe.data.loaders import load_basin
from hydroprobe.data.loaders.caravan_csv import read_timeseries
from hydroprobe.data.summary import discharge_mm_per_day, mm_per_day_to_m3s
from hydroprobe.errors import ConfigError, DataError
from hydroprobe.probes.hypothetical import season_days

ROOT = "caravan_camels_snow"
BULL_LAKE = "06224000"
#: Hand-read from attributes/camels_topo.txt: "06224000;43.1769;-109.20291;3116.82;105.14637;484.86;485.69".
BULL_LAKE_AREA = 484.86
FIRST_DAY = dt.date(1981, 1, 1)


def spec(gauge: str = BULL_LAKE) -> dict:
    return {"loader": "caravan_csv", "root": ROOT, "gauge_id": gauge}


def raw_rows(shared_data: Path, gauge: str) -> list[list[str]]:
    """The file's rows as text fields; row n is day FIRST_DAY + n (the documented layout)."""
    text = (shared_data / ROOT / "timeseries" / f"{gauge}.csv").read_text()
    return [line.split(",") for line in text.splitlines()]


def row_of(day: str) -> int:
    return (dt.date.fromisoformat(day) - FIRST_DAY).days


def copy_basin(shared_data: Path, tmp_path: Path, gauge: str = BULL_LAKE) -> Path:
    """One gauge's series and the two attribute tables the loader reads, under tmp_path/raw."""
    root = tmp_path / "raw" / ROOT
    for relative in (f"timeseries/{gauge}.csv", "attributes/camels_topo.txt", "attributes/camels_name.txt"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_data / ROOT / relative, root / relative)
    return root


# --- loader ---------------------------------------------------------------------------------


def test_reads_a_real_basin_with_dates_meta_and_leading_zero(shared_data: Path) -> None:
    series = load_basin("bull_lake", spec(), shared_data)
    frame = series.frame
    assert list(frame.columns) == list(COLUMNS)  # PET is dropped
    assert frame.index[0] == pd.Timestamp("1981-01-01")
    assert frame.index[-1] == pd.Timestamp("2014-12-31")
    assert len(frame) == 12_418
    assert frame.index.name == "date"
    # The leading zero is kept: the file, the area and the name are those of 06224000.
    assert series.source == "caravan_camels_snow/timeseries/06224000.csv"
    assert series.meta.id == "bull_lake"
    assert series.meta.name == "BULL LAKE CREEK ABOVE BULL LAKE, WY"
    assert series.meta.area_km2 == BULL_LAKE_AREA
    assert series.meta.latitude == pytest.approx(43.1769)
    assert series.meta.longitude == pytest.approx(-109.20291)


@pytest.mark.parametrize(
    ("day", "text", "expected_m3s"),
    [
        # 0.14 mm/d x 484.86 km² / 86.4 = 0.78565277... m³/s
        ("1981-01-01", "0,-4.22,1.94,0.14", 0.7856527777777778),
        # 13.95 x 484.86 / 86.4 = 78.2846875
        ("1995-06-15", "0.01,7.4,15.1,13.95", 78.2846875),
        # 5.15 x 484.86 / 86.4 = 28.90079861...
        ("2011-06-20", "0.4,3.17,10.87,5.15", 28.900798611111111),
    ],
)
def test_streamflow_is_mm_per_day_times_area_over_86_4(
    shared_data: Path, day: str, text: str, expected_m3s: float
) -> None:
    fields = raw_rows(shared_data, BULL_LAKE)[row_of(day)]
    assert ",".join(fields) == text
    assert float(fields[3]) * BULL_LAKE_AREA / 86.4 == pytest.approx(expected_m3s, rel=1e-12)
    row = load_basin("bull_lake", spec(), shared_data).frame.loc[day]
    assert row[DISCHARGE] == pytest.approx(expected_m3s, rel=1e-12)
    assert row[PRECIPITATION] == float(fields[0])
    assert row[TEMPERATURE] == float(fields[1])


def test_missing_streamflow_stays_nan(shared_data: Path, tmp_path: Path) -> None:
    rows = raw_rows(shared_data, BULL_LAKE)
    missing = [n for n, fields in enumerate(rows) if fields[3] == "NA"]
    assert len(missing) == 85 and missing[0] == row_of("2014-10-08") and missing[-1] == 12_417
    flow = load_basin("bull_lake", spec(), shared_data).frame[DISCHARGE]
    assert np.flatnonzero(flow.isna().to_numpy()).tolist() == missing

    # An empty field is missing too, never zero.
    root = copy_basin(shared_data, tmp_path)
    path = root / "timeseries" / f"{BULL_LAKE}.csv"
    lines = path.read_text().splitlines()
    assert lines[row_of("1995-06-15")] == "0.01,7.4,15.1,13.95"
    lines[row_of("1995-06-15")] = "0.01,7.4,15.1,"
    path.write_text("\n".join(lines) + "\n")
    flow = load_basin("bull_lake", spec(), tmp_path / "raw").frame[DISCHARGE]
    assert np.isnan(flow.loc["1995-06-15"])
    assert int(flow.isna().sum()) == 86


def test_truncated_file_is_refused_with_the_row_counts(shared_data: Path, tmp_path: Path) -> None:
    root = copy_basin(shared_data, tmp_path)
    path = root / "timeseries" / f"{BULL_LAKE}.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-3]) + "\n")
    with pytest.raises(DataError) as error:
        load_basin("bull_lake", spec(), tmp_path / "raw")
    assert str(error.value) == (
        f"{path}: 12415 rows found, 12418 expected (one per day from 1981-01-01 to 2014-12-31; "
        "the file has no date column, so only the row count fixes the dates). "
        "Fix: use the complete published file."
    )


def test_gauge_missing_from_the_attributes_is_named(shared_data: Path, tmp_path: Path) -> None:
    root = copy_basin(shared_data, tmp_path)
    topo = root / "attributes" / "camels_topo.txt"
    lines = topo.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(f"{BULL_LAKE};")]
    assert len(kept) == len(lines) - 1
    topo.write_text("".join(kept))
    with pytest.raises(DataError) as error:
        load_basin("bull_lake", spec(), tmp_path / "raw")
    assert str(error.value) == (
        f"{topo}: column 'gauge_id' has no row for gauge 06224000. Fix: correct "
        "basins.bull_lake.gauge_id, or use an attribute table that lists the gauge."
    )


def test_unquoted_gauge_id_says_quote_it(shared_data: Path) -> None:
    bad = spec()
    bad["gauge_id"] = 0o6224000  # what YAML makes of an unquoted 06224000
    with pytest.raises(ConfigError) as error:
        load_basin("bull_lake", bad, shared_data)
    assert str(error.value) == (
        "basins.bull_lake.gauge_id must be an 8-digit string in quotes, got 1648640: unquoted, YAML "
        'reads it as a number and its leading zero is lost. Fix: quote it, e.g. gauge_id: "01022500".'
    )


def test_gauge_without_a_file_says_to_fetch(shared_data: Path) -> None:
    with pytest.raises(DataError) as error:
        load_basin("nowhere", spec("01022500"), shared_data)
    assert str(error.value) == (
        f"{shared_data / ROOT / 'timeseries' / '01022500.csv'}: file not found (basins.nowhere.gauge_id "
        "01022500). Fix: run `hydroprobe data fetch`, or correct the path in params.yaml."
    )


@pytest.mark.parametrize("gauge", ["06224000", "09404450", "12175500"])
def test_mm_per_day_round_trips_through_m3s_with_each_area(shared_data: Path, gauge: str) -> None:
    series = load_basin(gauge, spec(gauge), shared_data)
    area = series.meta.area_km2
    raw_mm = np.array([np.nan if f[3] == "NA" else float(f[3]) for f in raw_rows(shared_data, gauge)])
    back_mm = discharge_mm_per_day(series.frame[DISCHARGE], area).to_numpy()
    np.testing.assert_allclose(back_mm, raw_mm, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(mm_per_day_to_m3s(back_mm, area), series.frame[DISCHARGE], rtol=1e-12)
    assert np.isnan(back_mm).sum() == np.isnan(raw_mm).sum()


# --- groups ---------------------------------------------------------------------------------


@pytest.fixture
def group_spec(params: dict) -> dict:
    return dict(params["groups"]["camels_snow"])


def test_group_all_expands_to_the_35_basins(shared_data: Path, group_spec: dict, params: dict) -> None:
    basins = group_basins("camels_snow", group_spec, shared_data)
    gauges = sorted(path.stem for path in (shared_data / ROOT / "timeseries").glob("*.csv"))
    assert len(gauges) == 35
    assert list(basins) == [f"camels_snow_{gauge}" for gauge in gauges]
    first = basins["camels_snow_06224000"]
    assert first == {
        "loader": "caravan_csv",
        "root": ROOT,
        "gauge_id": "06224000",
        "splits": group_spec["splits"],
        "accumulation_season": ["10-01", "04-30"],
    }
    # The single-basin block of params.yaml is this expansion written out, training from a year later:
    # the record starts 1981-01-01 and its sequence-to-one window needs the year before a day
    block = params["basins"]["caravan_06224000"]
    assert {**block, "splits": first["splits"]} == first
    assert block["splits"]["train"] == ["1982-10-01", first["splits"]["train"][1]]
    # Each spec loads, and a season that ends in February keeps 29 February.
    assert basins["camels_snow_09404450"]["accumulation_season"] == ["12-01", "02-29"]
    assert season_days(basins["camels_snow_09404450"]["accumulation_season"], "x").sum() == 31 + 31 + 28
    johnson = load_basin("camels_snow_13313000", basins["camels_snow_13313000"], shared_data)
    assert johnson.meta.area_km2 == 561.94


def test_group_list_keeps_order_and_rejects_unknown_ids(shared_data: Path, group_spec: dict) -> None:
    group_spec["gauges"] = ["13313000", "06224000"]
    assert list(group_basins("camels_snow", group_spec, shared_data)) == [
        "camels_snow_13313000",
        "camels_snow_06224000",
    ]
    group_spec["gauges"] = ["06224000", "01022500", "6224000"]
    with pytest.raises(ConfigError) as error:
        group_basins("camels_snow", group_spec, shared_data)
    assert str(error.value) == (
        f"groups.camels_snow.gauges: 01022500, 6224000 not found in {shared_data / ROOT / 'timeseries'}. "
        'Fix: use ids among the 35 files there, or "all".'
    )
    group_spec["gauges"] = [0o6224000]
    with pytest.raises(ConfigError, match=r"^groups\.camels_snow\.gauges must be \"all\" or a list of gauge"):
        group_basins("camels_snow", group_spec, shared_data)


def test_below_zero_months_by_hand_for_bull_lake(shared_data: Path) -> None:
    # Monthly means of column 2 over the training split 1981-10-01..1999-09-30, straight from the text.
    sums, counts = [0.0] * 13, [0] * 13
    for n, fields in enumerate(raw_rows(shared_data, BULL_LAKE)):
        day = FIRST_DAY + dt.timedelta(days=n)
        if dt.date(1981, 10, 1) <= day <= dt.date(1999, 9, 30):
            sums[day.month] += float(fields[1])
            counts[day.month] += 1
    means = {month: sums[month] / counts[month] for month in range(1, 13)}
    # Rounded: Oct -0.94, Nov -7.81, ..., Apr -4.10 below zero; May +0.88 ... Sep +5.55 above.
    assert round(means[10], 2) == -0.94 and round(means[4], 2) == -4.10
    assert round(means[5], 2) == 0.88 and round(means[9], 2) == 5.55
    cold = [calendar.month_abbr[m] for m in range(1, 13) if means[m] < 0]
    assert cold == ["Jan", "Feb", "Mar", "Apr", "Oct", "Nov", "Dec"]

    temperature = read_timeseries(shared_data / ROOT / "timeseries" / f"{BULL_LAKE}.csv")["temperature_c"]
    season = below_zero_season(temperature.loc["1981-10-01":"1999-09-30"], "bull lake")
    assert season == ["10-01", "04-30"]
    inside = season_days(season, "x")
    days = pd.date_range("2001-01-01", periods=365)
    assert all(means[month] < 0 for month in set(days[inside].month))
    assert all(means[month] >= 0 for month in set(days[~inside].month))


def test_below_zero_rule_refuses_a_basin_without_a_season(shared_data: Path) -> None:
    temperature = read_timeseries(shared_data / ROOT / "timeseries" / f"{BULL_LAKE}.csv")["temperature_c"]
    train = temperature.loc["1981-10-01":"1999-09-30"]
    with pytest.raises(ConfigError) as error:
        below_zero_season(train + 20.0, "groups.camels_snow, gauge 06224000")
    assert str(error.value) == (
        "groups.camels_snow, gauge 06224000: 0 months have a mean temperature below 0 °C over the "
        "training split (coldest: Dec, 8.42 °C), so below_zero_months gives no season. "
        "Fix: leave the gauge out of the group."
    )
    split = train.copy()
    split[split.index.month == 1] += 30.0  # a warm January between cold December and February
    with pytest.raises(ConfigError, match=r"\(Feb, Mar, Apr, Oct, Nov, Dec\) are not one contiguous season"):
        below_zero_season(split, "g")
