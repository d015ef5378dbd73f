"""Scenario settings from params.yaml and the perturbation of real observed forcing."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from hydroprobe.data.basin import PRECIPITATION, TEMPERATURE, BasinSeries
from hydroprobe.errors import ConfigError
from hydroprobe.probes.climate import ClimateScenario, climate_settings


def _params_with(params: dict, **climate) -> dict:
    changed = copy.deepcopy(params)
    changed["climate"].update(climate)
    return changed


def test_project_params_define_every_scenario_of_the_issue(params: dict):
    settings = climate_settings(params, "salmon_river")
    assert settings.accumulation_season == ["10-15", "03-15"]  # taken from basins.salmon_river
    assert [s.name for s in settings.scenarios()] == [
        "warm1", "warm2", "warm4",
        "pall0.8", "pall0.9", "pall1.1", "pall1.2",
        "pacc1.1", "pacc1.2", "pacc1.5",
        "warm2_pall1.1",
    ]  # fmt: skip
    kinds = [s.kind for s in settings.scenarios()]
    assert kinds == ["warming"] * 3 + ["precipitation"] * 4 + ["snow_season"] * 3 + ["combined"]
    assert settings.scenarios()[-1].label == "+2 °C, P ×1.1"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"precipitation_scales": [0.8, -1.1]}, r"'climate\.precipitation_scales\[1\]' must be > 0"),
        ({"accumulation_scales": [-0.5]}, r"'climate\.accumulation_scales\[0\]' must be > 0"),
        ({"temperature_shifts": ["two"]}, r"'climate\.temperature_shifts\[0\]' = 'two' has the wrong type"),
        ({"warming": [1]}, r"unknown key 'climate\.warming'"),
        ({"combinations": [{"temperature": 2}]}, r"unknown key 'climate\.combinations\[0\]\.temperature'"),
        (
            {"combinations": [{"precipitation_scale": -1}]},
            r"'climate\.combinations\[0\]\.precipitation_scale'",
        ),
        ({"split": "calibration"}, r"'climate\.split' must be one of train, validation, test"),
        ({"spinup_days": -1}, r"'climate\.spinup_days' must be >= 0"),
    ],
)
def test_bad_climate_params_name_the_key(params: dict, change: dict, key: str):
    with pytest.raises(ConfigError, match=key):
        climate_settings(_params_with(params, **change), "salmon_river")


def test_a_missing_climate_section_is_named(params: dict):
    without = {k: v for k, v in params.items() if k != "climate"}
    with pytest.raises(ConfigError, match="section 'climate' is missing"):
        climate_settings(without, "salmon_river")


def test_snow_season_scaling_wraps_the_new_year_on_real_forcing(salmon: BasinSeries):
    forcing = salmon.frame.loc["1998-10-01":"1999-09-30", [PRECIPITATION, TEMPERATURE]]
    scenario = ClimateScenario(temperature_shift=2, accumulation_scale=1.5)
    perturbed = scenario.apply(forcing, ["10-15", "03-15"])
    ratio = (perturbed[PRECIPITATION] / forcing[PRECIPITATION]).where(forcing[PRECIPITATION] > 0)
    # 17 days of October + Nov + Dec + Jan + Feb + 15 days of March = 152 days in the window
    scaled = np.isclose(ratio, 1.5)
    wet = forcing[PRECIPITATION] > 0
    season = (forcing.index >= "1998-10-15") & (forcing.index <= "1999-03-15")
    assert season.sum() == 152
    assert scaled.sum() == (wet & season).sum() > 0
    assert np.isclose(ratio[wet & ~season], 1.0).all()
    for day in ("1998-10-14", "1999-03-16"):
        assert perturbed.loc[day, PRECIPITATION] == forcing.loc[day, PRECIPITATION]
    np.testing.assert_allclose(perturbed[TEMPERATURE] - forcing[TEMPERATURE], 2.0)


def test_all_year_scaling_multiplies_every_day(salmon: BasinSeries):
    forcing = salmon.frame.loc["2000-01-01":"2000-12-31", [PRECIPITATION, TEMPERATURE]]
    perturbed = ClimateScenario(precipitation_scale=0.8).apply(forcing, None)
    np.testing.assert_allclose(perturbed[PRECIPITATION], 0.8 * forcing[PRECIPITATION])
    assert perturbed[TEMPERATURE].equals(forcing[TEMPERATURE])
