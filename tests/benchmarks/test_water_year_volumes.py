"""``benchmarks/water_year_volumes.py`` on Salmon's real 1998–2007 record (issue 14's diagnosis).

The measure says whether a model keeps wet years wet and dry years dry. Hand-built "models"
make its answers known in advance: the observed record itself, and a model that keeps only half
of every day's departure from the record's mean.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "water_year_volumes.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("water_year_volumes", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def test_split(salmon) -> pd.Series:
    """Observed discharge (m³/s) of Salmon's test split, gaps as NaN."""
    return salmon.frame.loc["1998-01-01":"2007-12-31", "discharge"]


def test_a_perfect_model_keeps_every_complete_year(script, test_split):
    result = script.water_year_volumes(test_split.index, test_split.to_numpy(), test_split.to_numpy())
    labels = test_split.index.year + (test_split.index.month >= 10)
    observed_days = test_split.notna().groupby(labels).sum()
    complete = sorted(int(year) for year, days in observed_days.items() if days >= 360)
    assert sorted(result["years"]) == complete
    assert 2005 not in complete  # 2005's record has a gap: a partial year is left out, not scored
    assert 1998 not in complete  # the split starts on 1 Jan: water year 1998 is cut
    assert set(result["years"].values()) == {1.0}
    assert result["bias_vs_volume"] is None  # no bias to correlate: None, not NaN in the JSON
    assert result["volume_ratio"] == pytest.approx(1.0)
    assert result["interannual_std_ratio"] == pytest.approx(1.0)


def test_a_model_pulled_halfway_to_the_mean_halves_the_year_to_year_spread(script, test_split):
    observed = test_split.to_numpy()
    shrunk = 0.5 * observed + 0.5 * np.nanmean(observed)
    result = script.water_year_volumes(test_split.index, observed, shrunk)
    wettest = max(result["years"], key=lambda year: test_split[f"{year - 1}-10-01":f"{year}-09-30"].sum())
    driest = min(result["years"], key=lambda year: test_split[f"{year - 1}-10-01":f"{year}-09-30"].sum())
    assert result["years"][wettest] < 1 < result["years"][driest]
    assert result["bias_vs_volume"] < -0.95  # the wetter the year, the more it lacks
    # annual sums: 0.5 × observed + 0.5 × mean × days; days differ only by leap years
    assert result["interannual_std_ratio"] == pytest.approx(0.5, abs=0.01)


def test_too_few_complete_years_is_an_error_with_the_count(script, test_split):
    two_years = test_split.loc["1998-10-01":"2000-09-30"]
    with pytest.raises(ValueError, match=r"2 complete water years \(>= 360 observed days\); need 3"):
        script.water_year_volumes(two_years.index, two_years.to_numpy(), two_years.to_numpy())


def test_a_hydrograph_without_a_simulated_column_names_the_file(script, test_split, tmp_path):
    path = tmp_path / "hydrograph_test.csv"
    test_split.rename("observed").rename_axis("date").to_frame().to_csv(path)
    with pytest.raises(ValueError, match=r"hydrograph_test.csv: no column \['simulated'\]"):
        script.from_hydrograph(path)
