"""Water-year signatures and the observed elasticity against hand-computed values on real data.

The real series is Salmon River water years 1999–2001 (1 Oct 1998 – 30 Sep
2001), fully observed. Expected numbers were worked out by hand from the
annual totals printed here, and re-derived in each test with plain loops.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, BasinSeries
from hydroprobe.errors import DataError
from hydroprobe.probes.climate.elasticity import (
    elasticity_estimate,
    observed_elasticity,
    observed_water_years,
)
from hydroprobe.probes.climate.signatures import (
    annual_signatures,
    centre_of_timing,
    complete_water_years,
    low_flow,
    water_years,
)

#: Annual totals (mm) of water years 1999, 2000, 2001: precipitation, flow.
PRECIPITATION_MM = (701.791766, 628.584232, 593.575302)
FLOW_MM = (271.382916, 179.398605, 219.255906)


@pytest.fixture
def three_years(salmon: BasinSeries) -> BasinSeries:
    return BasinSeries(salmon.meta, salmon.frame.loc["1998-10-01":"2001-09-30"].copy())


def test_centre_of_timing_by_hand():
    # (1·1 + 2·0 + 3·3) / (1 + 0 + 3) = 10 / 4
    assert centre_of_timing(np.array([1.0, 0.0, 3.0])) == 2.5


def test_seven_day_low_flow_by_hand():
    flow = np.array([9, 9, 9, 9, 9, 9, 9, 2, 2, 2, 2, 2, 2, 9], dtype=float)
    # windows: days 1-7 → 9; days 8-14 → (6·2 + 9)/7 = 3; days 7-13 → (9 + 6·2)/7 = 3
    assert low_flow(flow) == pytest.approx(3.0)


def test_water_years_run_october_to_september():
    index = pd.DatetimeIndex(["1998-09-30", "1998-10-01", "1999-09-30"])
    assert list(water_years(index)) == [1998, 1999, 1999]
    test_split = pd.date_range("1998-01-01", "2007-12-31")
    assert complete_water_years(test_split, test_split[0], test_split[-1]) == list(range(1999, 2008))


def test_centre_of_timing_on_real_water_years(three_years: BasinSeries):
    flow = three_years.frame[DISCHARGE]
    by_loop = []
    for year in (1999, 2000, 2001):
        days = flow.loc[f"{year - 1}-10-01" : f"{year}-09-30"].to_list()
        weighted = sum((t + 1) * q for t, q in enumerate(days))
        by_loop.append(weighted / sum(days))
    assert by_loop == pytest.approx([204.2133, 213.4177, 185.5107], abs=1e-4)
    signatures = annual_signatures(
        flow, three_years.frame[PRECIPITATION], three_years.meta.area_km2, [1999, 2000, 2001]
    )
    assert signatures["centre_of_timing_days"] == pytest.approx(np.mean(by_loop))
    # peaks 356, 170, 170 m³/s; flow volumes from the mm totals: mm × 4250.6 km² × 1e-6
    assert signatures["mean_annual_peak_m3s"] == pytest.approx((356 + 170 + 170) / 3)
    assert signatures["mean_annual_flow_km3"] == pytest.approx(np.mean(FLOW_MM) * 4250.6e-6, rel=1e-6)
    assert signatures["runoff_ratio"] == pytest.approx(sum(FLOW_MM) / sum(PRECIPITATION_MM), rel=1e-6)


def test_signatures_refuse_a_year_with_missing_flow(salmon: BasinSeries):
    frame = salmon.frame.loc["2004-10-01":"2005-09-30"]  # water year 2005: discharge gaps
    with pytest.raises(DataError, match="water year 2004-10-01..2005-09-30 has missing"):
        annual_signatures(frame[DISCHARGE], frame[PRECIPITATION], 4250.6, [2005])


def test_observed_elasticity_estimator_by_hand(three_years: BasinSeries):
    annual = observed_water_years(three_years)
    assert list(annual.index) == [1999, 2000, 2001]
    np.testing.assert_allclose(annual["precipitation_mm"], PRECIPITATION_MM, atol=1e-5)
    np.testing.assert_allclose(annual["flow_mm"], FLOW_MM, atol=1e-5)
    # P̄ = 641.317100, Q̄ = 223.345809, P̄/Q̄ = 2.871418; per year (Qₜ−Q̄)/(Pₜ−P̄)·P̄/Q̄:
    # 1999: 48.037107/60.474666·2.871418 = 2.2809; 2000: −43.947204/−12.732868·2.871418 = 9.9107;
    # 2001: −4.089903/−47.741798·2.871418 = 0.2460 → median 2.2809
    assert elasticity_estimate(annual["precipitation_mm"], annual["flow_mm"]) == pytest.approx(
        2.2809, abs=1e-4
    )


def test_observed_elasticity_band_is_a_seeded_bootstrap(three_years: BasinSeries):
    first = observed_elasticity(three_years, bootstrap=200, seed=3)
    again = observed_elasticity(three_years, bootstrap=200, seed=3)
    assert first == again
    assert first["median"] == pytest.approx(2.2809, abs=1e-4)
    assert first["p05"] <= first["median"] <= first["p95"]
    assert first["water_years"] == [1999, 2000, 2001]


def test_observed_elasticity_skips_years_with_missing_flow(salmon: BasinSeries):
    cut = BasinSeries(salmon.meta, salmon.frame.loc["2002-10-01":"2006-09-30"])  # WY 2003–2006
    assert list(observed_water_years(cut).index) == [2003, 2004, 2006]  # 2005 has gaps
    too_short = BasinSeries(salmon.meta, salmon.frame.loc["2004-10-01":"2006-09-30"])
    with pytest.raises(DataError, match="1 complete observed water years"):
        observed_elasticity(too_short)
