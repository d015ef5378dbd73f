import copy

import pytest

from hydroprobe.errors import ConfigError
from hydroprobe.probes.paper import ProbeSettings, probe_settings


def test_params_yaml_probes_section_builds_with_the_basin_window(params):
    settings = probe_settings(params, "salmon_river")
    assert settings == ProbeSettings(
        years=2,
        melt_season=("04-01", "07-31"),
        winter_months=(1, 2),
        peak_exclusion_percentile=95.0,
        temperature_shift=0.05,
        levels=(0.3, 0.6, 0.9, 1.2, 1.5),
        level_units="observed_fraction",
        accumulation_season=("10-15", "03-15"),
    )
    assert probe_settings(params, "matapedia").accumulation_season == ("11-01", "04-15")


def _with(params: dict, **probes) -> dict:
    edited = copy.deepcopy(params)
    edited["probes"].update(probes)
    return edited


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"yeras": 2}, "probes.yeras"),
        ({"years": 0}, "probes.years"),
        ({"level_units": "percent"}, "probes.level_units"),
        ({"levels": [0.6, 0.3]}, "probes.levels"),
        ({"levels": [0.0, 0.3]}, "probes.levels"),
        ({"melt_season": ["04-01", "07-32"]}, "probes.melt_season"),
        ({"winter_months": [13]}, "probes.winter_months"),
        ({"peak_exclusion_percentile": 0}, "probes.peak_exclusion_percentile"),
        ({"accumulation_season": ["10-15", "03-15"]}, "probes.accumulation_season"),
    ],
)
def test_a_bad_probes_key_is_named(params, change, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        probe_settings(_with(params, **change), "salmon_river")


def test_the_basin_accumulation_window_is_required_and_checked(params):
    edited = copy.deepcopy(params)
    del edited["basins"]["salmon_river"]["accumulation_season"]
    with pytest.raises(ConfigError, match=r"basins\.salmon_river\.accumulation_season"):
        probe_settings(edited, "salmon_river")
    edited["basins"]["salmon_river"]["accumulation_season"] = ["10-15"]
    with pytest.raises(ConfigError, match=r"basins\.salmon_river\.accumulation_season"):
        probe_settings(edited, "salmon_river")
