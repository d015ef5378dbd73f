"""summarize() on the real Salmon series, with numbers checked by hand and independently."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hydroprobe.cli.main import main
from hydroprobe.data.basin import DISCHARGE, PRECIPITATION
from hydroprobe.data.summary import (
    MONTHS,
    discharge_mm_per_day,
    format_summary,
    season_mask,
    summarize,
)
from hydroprobe.errors import ConfigError

SALMON_FILE = "salmon_river/Salmon-River-Near-Prince-George_meteo_daily.nc"


@pytest.fixture(scope="module")
def salmon_summary(salmon) -> dict:
    return summarize(salmon, accumulation_season=("10-15", "03-15"))


@pytest.fixture(scope="module")
def raw_salmon(shared_data: Path) -> pd.DataFrame:
    """The Salmon variables read straight from the file, without the loader."""
    with xr.open_dataset(shared_data / SALMON_FILE, engine="h5netcdf") as ds:
        return ds[["rain", "snow", "qobs"]].to_dataframe()


def test_period_and_missing_days(salmon_summary: dict) -> None:
    assert salmon_summary["start"] == "1954-01-01"
    assert salmon_summary["end"] == "2010-12-31"
    assert salmon_summary["days"] == 20_819
    assert salmon_summary["missing_discharge_days"] == 1_697
    assert salmon_summary["area_km2"] == pytest.approx(4250.6)


def test_runoff_ratio(salmon_summary: dict, raw_salmon: pd.DataFrame) -> None:
    # Independent recomputation from the raw variables: days with qobs != -1.2345.
    observed = raw_salmon["qobs"] != -1.2345
    q_mm = raw_salmon.loc[observed, "qobs"].sum() * 86_400 / (4250.6 * 1e3)
    p_mm = (raw_salmon.loc[observed, "rain"] + raw_salmon.loc[observed, "snow"]).sum()
    assert salmon_summary["runoff_ratio"] == pytest.approx(q_mm / p_mm, rel=1e-12)
    # About a third of the precipitation leaves as discharge: 0.364 (see the note below).
    assert salmon_summary["runoff_ratio"] == pytest.approx(0.364, abs=0.002)


def test_monthly_flow(salmon_summary: dict, raw_salmon: pd.DataFrame) -> None:
    monthly = salmon_summary["monthly_mean_discharge_m3s"]
    assert list(monthly) == list(MONTHS)
    q = raw_salmon["qobs"].where(raw_salmon["qobs"] != -1.2345)
    may = q[q.index.month == 5]
    assert monthly["May"] == pytest.approx(may.sum() / may.count(), rel=1e-12)
    # Nival regime: May peak about 130 m³/s, February low about 8 m³/s.
    assert monthly["May"] == pytest.approx(130.17, abs=0.05)
    assert monthly["Feb"] == pytest.approx(8.15, abs=0.05)
    assert max(monthly, key=monthly.get) == "May"


def test_data_readme_numbers_come_from_counting_the_missing_code_as_flow(salmon) -> None:
    """The data README quotes a runoff ratio of 0.34 and 121 m³/s in May.

    Those are what one gets by averaging -1.2345 as if it were a flow: the
    missing days pull May down by 9 m³/s. summarize() must not reproduce them.
    """
    coded = salmon.frame.copy()
    coded[DISCHARGE] = coded[DISCHARGE].fillna(-1.2345)
    wrong = summarize(dataclasses.replace(salmon, frame=coded))
    assert wrong["runoff_ratio"] == pytest.approx(0.335, abs=0.002)
    assert wrong["monthly_mean_discharge_m3s"]["May"] == pytest.approx(120.94, abs=0.05)
    right = summarize(salmon)
    assert right["monthly_mean_discharge_m3s"]["May"] - 120.94 > 9


def test_runoff_ratio_by_hand_on_three_real_days(salmon) -> None:
    # 1955-01-01..03: P = 0.207529, 3.377294, 0 mm; Q = 20.4 m³/s each day.
    # Q in mm/d = 20.4 x 86400 / (4250.6 x 1000) = 0.414662 mm/d; 3 days = 1.243985 mm.
    part = dataclasses.replace(salmon, frame=salmon.frame.loc["1955-01-01":"1955-01-03"])
    result = summarize(part)
    assert discharge_mm_per_day(pd.Series([20.4]), 4250.6).iloc[0] == pytest.approx(0.414662, abs=1e-6)
    assert result["runoff_ratio"] == pytest.approx(1.243985 / 3.584823, abs=1e-5)
    assert result["mean_precipitation_mm_d"] == pytest.approx(3.584823 / 3, abs=1e-6)
    assert result["mean_discharge_m3s"] == pytest.approx(20.4)


def test_snow_season_window_wraps_over_new_year(salmon) -> None:
    index = salmon.frame.index
    in_season = season_mask(index, ("10-15", "03-15"))
    # 1955: Oct 15-31 (17) + Nov (30) + Dec (31); Jan (31) + Feb (28) + Mar 1-15 (15).
    assert in_season[index.year == 1955].sum() == 17 + 30 + 31 + 31 + 28 + 15
    assert in_season[index.year == 1956].sum() == 17 + 30 + 31 + 31 + 29 + 15  # leap year
    assert in_season[index.get_loc(pd.Timestamp("1955-10-15"))]
    assert not in_season[index.get_loc(pd.Timestamp("1955-10-14"))]
    assert in_season[index.get_loc(pd.Timestamp("1955-03-15"))]
    assert not in_season[index.get_loc(pd.Timestamp("1955-03-16"))]
    summer = season_mask(index, ("06-01", "08-31"))
    assert summer[index.year == 1955].sum() == 30 + 31 + 31


def test_snow_season_precipitation(salmon, salmon_summary: dict) -> None:
    frame = salmon.frame
    key = frame.index.month * 100 + frame.index.day
    window = frame.loc[(key >= 1015) | (key <= 315), PRECIPITATION]
    assert salmon_summary["snow_season_precipitation_mm_d"] == pytest.approx(window.mean())
    assert salmon_summary["snow_season_precipitation_mm_d"] == pytest.approx(1.728, abs=0.001)
    assert salmon_summary["mean_precipitation_mm_d"] == pytest.approx(1.6235, abs=0.0001)
    assert salmon_summary["mean_temperature_c"] == pytest.approx(2.443, abs=0.001)
    assert salmon_summary["mean_discharge_m3s"] == pytest.approx(29.266, abs=0.001)


@pytest.mark.parametrize("season", [("10/15", "03-15"), ("10-15", "02-30"), ("10-15",), "10-15"])
def test_bad_accumulation_season(salmon, season) -> None:
    with pytest.raises(ConfigError, match="accumulation_season"):
        summarize(salmon, accumulation_season=season)


def test_format_summary(salmon_summary: dict) -> None:
    text = format_summary(salmon_summary)
    assert "1954-01-01 .. 2010-12-31 (20,819 days)" in text
    assert "1,697 days" in text
    assert "runoff ratio     0.364" in text
    assert "P 10-15..03-15" in text
    assert " 130.2" in text
    assert all(month in text for month in MONTHS)
    assert np.isfinite(salmon_summary["runoff_ratio"])


def test_cli_summary(
    repo_root: Path,
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copyfile(repo_root / "params.yaml", root / "params.yaml")
    (root / "data").symlink_to(shared_data)  # data.raw_dir: data
    monkeypatch.chdir(root)

    assert main(["data", "summary"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("salmon_river: Salmon River near Prince George")
    assert "runoff ratio     0.364" in out

    assert main(["data", "summary", "--basin", "matapedia", "camels_01022500"]) == 0
    out = capsys.readouterr().out
    assert "matapedia: Matapedia River (01BD009) (2750.9 km²)" in out
    assert "1998-01-01 .. 2020-12-31" in out
    assert "camels_01022500: Narraguagus River at Cherryfield, Maine (573.6 km²)" in out
    assert "P 11-15..03-31" in out

    assert main(["data", "summary", "--basin", "yukon"]) == 2
    err = capsys.readouterr().err
    assert "basin 'yukon' is not in basins" in err
    assert "salmon_river" in err
