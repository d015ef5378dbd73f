"""Wet and dry years on the observed record (probes/compare/annual_volumes.py), on Salmon's real test split.

The measure says whether a model keeps wet years wet and dry years dry. Hand-built "models"
make its answers known in advance: the observed record itself, and a model that keeps only half
of every day's departure from the record's mean.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from hydroprobe.cli.compare_cmd import _annual_volumes, _Compared
from hydroprobe.errors import DataError
from hydroprobe.probes.compare.annual_volumes import (
    TEST_HYDROGRAPH,
    annual_volume_comparison,
    annual_volume_markdown,
    read_hydrograph,
    water_year_volumes,
)

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "water_year_volumes.py"


@pytest.fixture
def test_split(salmon) -> pd.Series:
    """Observed discharge (m³/s) of Salmon's test split, gaps as NaN."""
    return salmon.frame.loc["1998-01-01":"2007-12-31", "discharge"]


def _hydrograph(folder: Path, observed: pd.Series, simulated: np.ndarray) -> Path:
    """The train stage's CSV layout (date, observed, simulated) under ``folder``."""
    path = folder / TEST_HYDROGRAPH
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"date": observed.index, "observed": observed.to_numpy(), "simulated": simulated})
    frame.to_csv(path, index=False)
    return path


def test_a_perfect_model_keeps_every_complete_year(test_split):
    result = water_year_volumes(test_split.index, test_split.to_numpy(), test_split.to_numpy())
    labels = test_split.index.year + (test_split.index.month >= 10)
    observed_days = test_split.notna().groupby(labels).sum()
    complete = sorted(int(year) for year, days in observed_days.items() if days >= 360)
    assert sorted(result["years"]) == complete == [1999, 2000, 2001, 2002, 2003, 2004, 2006, 2007]
    # 2005's record has a gap and the split cuts water year 1998: partial years are left out
    assert set(result["years"].values()) == {1.0}
    assert result["bias_vs_volume"] is None  # no bias to correlate: None, not NaN in the JSON
    assert result["volume_ratio"] == pytest.approx(1.0)
    assert result["interannual_std_ratio"] == pytest.approx(1.0)


def test_a_model_pulled_halfway_to_the_mean_halves_the_year_to_year_spread(test_split):
    observed = test_split.to_numpy()
    result = water_year_volumes(test_split.index, observed, 0.5 * observed + 0.5 * np.nanmean(observed))
    volume = {year: test_split[f"{year - 1}-10-01":f"{year}-09-30"].sum() for year in result["years"]}
    wettest, driest = max(volume, key=volume.get), min(volume, key=volume.get)
    assert result["years"][wettest] < 1 < result["years"][driest]
    # hand computation for the wettest year: half its volume plus half the mean flow on its days
    days = test_split[f"{wettest - 1}-10-01":f"{wettest}-09-30"].notna().sum()
    expected = (0.5 * volume[wettest] + 0.5 * np.nanmean(observed) * days) / volume[wettest]
    assert result["years"][wettest] == pytest.approx(expected, abs=1e-4)
    assert result["bias_vs_volume"] < -0.95  # the wetter the year, the more it lacks
    # annual sums: 0.5 × observed + 0.5 × mean × days; days differ only by leap years
    assert result["interannual_std_ratio"] == pytest.approx(0.5, abs=0.01)


def test_too_few_complete_years_state_no_spread_and_say_so(test_split, tmp_path):
    two_years = test_split.loc["1998-10-01":"2000-09-30"]
    result = water_year_volumes(two_years.index, two_years.to_numpy(), 0.8 * two_years.to_numpy())
    assert sorted(result["years"]) == [1999, 2000]
    assert result["volume_ratio"] == pytest.approx(0.8)
    assert result["interannual_std_ratio"] is None and result["bias_vs_volume"] is None
    markdown = annual_volume_markdown({"per_model": {"LSTM": result}})
    assert "| LSTM | 2 | 0.80 | — | — | 1999: 0.80, 2000: 0.80 |" in markdown
    assert "Fewer than 6 complete water years for LSTM: no spread or correlation is stated." in markdown


def test_the_report_table_states_each_models_numbers(test_split, tmp_path):
    observed = test_split.to_numpy()
    shrunk = 0.5 * observed + 0.5 * np.nanmean(observed)
    paths = {"LSTM": _hydrograph(tmp_path / "lstm", test_split, shrunk),
             "MC-LSTM": _hydrograph(tmp_path / "mclstm", test_split, observed), "nh (imported)": None}
    comparison = annual_volume_comparison(paths)
    lstm = comparison["per_model"]["LSTM"]
    assert lstm == water_year_volumes(test_split.index, observed, shrunk)  # the CSV round trip keeps it
    markdown = annual_volume_markdown(comparison)
    years = lstm["years"]
    row = (f"| LSTM | 8 | {lstm['volume_ratio']:.2f} | {lstm['interannual_std_ratio']:.2f} | "
           f"{lstm['bias_vs_volume']:+.2f} | 1999: {years[1999]:.2f}, 2000: {years[2000]:.2f}, ")
    assert row in markdown
    assert "| MC-LSTM | 8 | 1.00 | 1.00 | — | 1999: 1.00," in markdown
    assert "| nh (imported) | no test hydrograph | — | — | — | — |" in markdown
    json.dumps(comparison, allow_nan=False)  # what compare writes: no NaN anywhere


def test_an_observed_day_without_a_simulation_is_an_error_not_dropped(test_split):
    simulated = test_split.to_numpy().copy()
    simulated[test_split.index.get_loc(pd.Timestamp("2002-05-20"))] = np.nan
    with pytest.raises(ValueError, match=r"no simulated discharge on 1 observed day\(s\), first 2002-05-20"):
        water_year_volumes(test_split.index, test_split.to_numpy(), simulated)


def test_a_hydrograph_without_a_simulated_column_names_the_file(test_split, tmp_path):
    path = tmp_path / "hydrograph_test.csv"
    test_split.rename("observed").rename_axis("date").to_frame().to_csv(path)
    with pytest.raises(ValueError, match=r"hydrograph_test.csv: no column \['simulated'\]"):
        read_hydrograph(path)


def test_compare_needs_every_bench_models_hydrograph_but_not_an_imported_ones(test_split, tmp_path):
    def compared(key: str, label: str, imported: bool) -> _Compared:
        return _Compared(key, SimpleNamespace(label=label), None, tmp_path / key, imported)

    with pytest.raises(DataError, match=r"MC-LSTM: missing .*mclstm/plots/train/hydrograph_test.csv; "
                                        r"run `dvc repro model_train@mclstm` first"):
        _annual_volumes([compared("mclstm", "MC-LSTM", False)])
    _hydrograph(tmp_path / "lstm", test_split, test_split.to_numpy())
    imported = compared("imported_nh", "nh (imported)", True)
    result = _annual_volumes([compared("lstm", "LSTM", False), imported])
    assert result["per_model"]["nh (imported)"] is None
    assert sorted(result["per_model"]["LSTM"]["years"]) == [1999, 2000, 2001, 2002, 2003, 2004, 2006, 2007]


def test_the_benchmark_script_writes_what_compare_computes(test_split, tmp_path):
    spec = importlib.util.spec_from_file_location("water_year_volumes", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    path = _hydrograph(tmp_path, test_split, 0.9 * test_split.to_numpy())
    script.main([str(path), "--output", str(tmp_path / "out.json")])
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["hydrographs"][str(path)] == json.loads(json.dumps(read_hydrograph(path)))
    assert written["hydrographs"][str(path)]["volume_ratio"] == pytest.approx(0.9)
