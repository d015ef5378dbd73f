import numpy as np
import pytest

from hydroprobe.probes.volumes import flow_volume_km3, precipitation_volume_km3


def test_one_cubic_metre_per_second_for_a_year_is_0_031536_km3():
    assert flow_volume_km3(np.ones(365)) == pytest.approx(0.031536, rel=1e-12)


def test_precipitation_volume_is_depth_times_area():
    # 2 mm/d for 10 days over 500 km² = 20 mm × 500 km² = 0.02 m × 5e8 m² = 1e7 m³ = 0.01 km³
    assert precipitation_volume_km3(np.full(10, 2.0), 500.0) == pytest.approx(0.01, rel=1e-12)


def test_a_volume_refuses_days_without_a_simulation():
    with pytest.raises(ValueError, match="spin up"):
        flow_volume_km3(np.array([1.0, np.nan, 1.0]))
