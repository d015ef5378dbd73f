import numpy as np
import pandas as pd
import pytest

from hydroprobe.data.basin import TEMPERATURE
from hydroprobe.errors import ConfigError
from hydroprobe.models.imported.windows import WindowedForcingSimulator
from hydroprobe.probes.hypothetical import (
    MONTH_DAYS,
    Scenario,
    Sinusoid,
    daily_climatology,
    day_of_year_365,
    season_days,
    simulate_years,
    spinup_years,
)
from hydroprobe.testing import LinearReservoir


def test_accumulation_window_wraps_the_new_year():
    mask = season_days(["10-15", "03-15"], "basins.salmon_river.accumulation_season")
    # Oct 15–31 (17) + Nov (30) + Dec (31) + Jan (31) + Feb (28) + Mar 1–15 (15)
    assert mask.sum() == 152
    inside = {day: bool(mask[MONTH_DAYS.index(day)]) for day in ("10-14", "10-15", "01-01", "03-15", "03-16")}
    assert inside == {"10-14": False, "10-15": True, "01-01": True, "03-15": True, "03-16": False}


def test_a_window_within_one_year_does_not_wrap():
    assert season_days(["04-01", "07-31"], "probes.melt_season").sum() == 30 + 31 + 30 + 31


def test_a_malformed_season_names_its_key():
    with pytest.raises(ConfigError, match=r"'probes\.melt_season'.*MM-DD"):
        season_days(["13-01", "07-31"], "probes.melt_season")


def test_day_of_year_drops_29_february_and_aligns_leap_years():
    index = pd.DatetimeIndex(["2000-02-28", "2000-02-29", "2000-03-01", "2001-03-01", "2000-12-31"])
    assert list(day_of_year_365(index)) == [59, 0, 60, 60, 365]


def test_climatology_is_the_mean_of_each_calendar_day(salmon_dataset):
    train = salmon_dataset.series.frame.loc["1961":"1990", TEMPERATURE]
    climatology = daily_climatology(train)
    assert climatology.shape == (365,)
    for month, day in ((1, 1), (3, 1), (12, 31)):
        same_day = train[(train.index.month == month) & (train.index.day == day)]
        assert len(same_day) == 30
        assert climatology[MONTH_DAYS.index(f"{month:02d}-{day:02d}")] == pytest.approx(same_day.mean())


def test_sinusoid_fit_recovers_a_known_harmonic_exactly():
    days = np.arange(1, 366)
    known = 3.0 + 12.0 * np.cos(2 * np.pi * (days - 200.0) / 365)
    fit = Sinusoid.fit(known)
    assert (fit.mean, fit.amplitude, fit.warmest_day) == pytest.approx((3.0, 12.0, 200.0))
    assert fit.coldest_day == pytest.approx(17.5)
    np.testing.assert_allclose(fit.values(), known, atol=1e-9)


def test_sinusoid_fitted_to_salmon_is_coldest_in_january(salmon_dataset):
    scaler = salmon_dataset.scaler
    climatology = daily_climatology(salmon_dataset.series.frame.loc["1961":"1990", TEMPERATURE])
    fit = Sinusoid.fit(climatology)
    # within 15 days (circularly) of the coldest day of the 31-day-smoothed climatology (1 Jan here)
    padded = np.concatenate([climatology[-15:], climatology, climatology[:15]])
    smoothed_coldest = int(np.argmin(np.convolve(padded, np.ones(31) / 31, mode="valid"))) + 1
    distance = abs(fit.coldest_day - smoothed_coldest)
    assert min(distance, 365 - distance) <= 15
    assert fit.coldest_day < 32  # January
    assert 182 <= fit.warmest_day <= 212  # July
    assert fit.mean == pytest.approx(climatology.mean())  # a full harmonic has zero mean
    low = scaler.transform(fit.mean - fit.amplitude, TEMPERATURE)
    high = scaler.transform(fit.mean + fit.amplitude, TEMPERATURE)
    # Salmon's training range (−38.0 … 23.4 °C) is wider than Ishikari's: 0.45–0.86, not 0.2–0.9
    assert 0.40 < low < 0.50 and 0.80 < high < 0.90
    # the harmonic follows the climatology within a few degrees (RMS 1.4 °C)
    assert np.sqrt(np.mean((climatology - fit.values()) ** 2)) < 2.0


@pytest.mark.parametrize(("window", "years"), [(1, 1), (365, 1), (366, 1), (367, 2), (730, 2)])
def test_spin_up_covers_the_input_window(window, years):
    # a sequence model's first window - 1 days have no answer: that many days, rounded up to years
    model = WindowedForcingSimulator("windowed", predict=lambda p, t: p[:, -1], window=window)
    assert model.spinup_days == window - 1
    assert spinup_years(model) == years


def test_simulate_years_discards_the_spin_up():
    rain = np.where(np.arange(365) < 10, 5.0, 0.0)  # 5 mm/d on the first ten days of each year
    scenario = Scenario("pulse", rain, np.zeros(365))
    flow = simulate_years(LinearReservoir(area_km2=86.4, k=0.5), scenario, years=2)
    assert flow.shape == (2, 365)
    # the spin-up year drained completely (0.5^355), so both simulated years are identical
    np.testing.assert_allclose(flow[0], flow[1], rtol=1e-12)
    # 86.4 km²: 1 mm/d = 1 m³/s; day 1 of a year releases half of the 5 mm that fell
    assert flow[0, 0] == pytest.approx(2.5)


def test_inputs_outside_the_training_range_are_counted(salmon_dataset):
    scaler = salmon_dataset.scaler
    hot = np.full(365, scaler.maximum[TEMPERATURE] + 1.0)
    hot[:100] = 0.0
    counts = Scenario("hot", np.zeros(365), hot).out_of_range(scaler)
    assert counts == {"precipitation": 0, "temperature": 265}
