"""The probe machinery proven on models whose answer is known.

A lossless linear reservoir must give back ~100 % of added precipitation and
no flow at all without precipitation; a constant-flow "model" must give back
nothing. Numbers are checked against values computed here by hand from the
real Salmon record.
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from hydroprobe.probes.hypothetical import Sinusoid, daily_climatology
from hydroprobe.probes.paper import ProbeSettings
from hydroprobe.probes.paper.case2 import case2_levels
from hydroprobe.probes.paper.reference import observed_reference
from hydroprobe.probes.paper.run import run_paper_probes
from hydroprobe.testing import ConstantFlow, LinearReservoir

AREA = 4250.6
LEVELS = ("level_0p3", "level_0p6", "level_0p9", "level_1p2", "level_1p5")


@pytest.fixture(scope="module")
def references(salmon_dataset):
    """Observed training-period references computed independently of the probe code."""
    train = salmon_dataset.series.frame.loc["1961-01-01":"1990-12-31"]
    melt = train.loc[train.index.month.isin([4, 5, 6, 7]), "discharge"].dropna()
    winter = train.index.month.isin([10, 11, 12, 1, 2, 3]) & ~(
        ((train.index.month == 10) & (train.index.day < 15))
        | ((train.index.month == 3) & (train.index.day > 15))
    )
    both = train["discharge"].notna()
    runoff_mm = (train.loc[both, "discharge"] * 86_400 / (AREA * 1e3)).sum()
    return {
        "melt_flow": melt[melt <= np.percentile(melt, 95)].mean(),
        "snow_precipitation": train.loc[winter, "precipitation"].mean(),
        "runoff_ratio": runoff_mm / train.loc[both, "precipitation"].sum(),
    }


@pytest.fixture(scope="module")
def reservoir_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("reservoir")


@pytest.fixture(scope="module")
def reservoir_run(salmon_dataset, reservoir_dir):
    """Lossless reservoir as champion, constant 10 and 20 m³/s as 'replicates', default settings."""
    champion = LinearReservoir(area_km2=AREA, k=0.05)
    replicates = [ConstantFlow(10.0), ConstantFlow(20.0)]
    settings = ProbeSettings(accumulation_season=("10-15", "03-15"))
    return run_paper_probes(champion, replicates, salmon_dataset, settings, reservoir_dir)


def test_observed_references_match_a_hand_computation(salmon_dataset, settings, references):
    reference = observed_reference(salmon_dataset, settings)
    assert reference.melt_flow_m3s == pytest.approx(references["melt_flow"])
    assert reference.accumulation_precipitation_mm_d == pytest.approx(references["snow_precipitation"])
    assert reference.runoff_ratio == pytest.approx(references["runoff_ratio"])
    assert 0.30 < reference.runoff_ratio < 0.40  # Salmon loses two thirds to evaporation
    assert reference.area_km2 == AREA


def test_lossless_reservoir_recovers_all_added_precipitation(reservoir_run, references):
    case2 = reservoir_run["case2"]
    for key, fraction in zip(LEVELS, (0.3, 0.6, 0.9, 1.2, 1.5), strict=True):
        added = fraction * references["snow_precipitation"] * 152 * AREA * 1e-6  # mm × days × km² → km³
        assert case2[key]["added_precipitation_km3"]["champion"] == pytest.approx(added)
        assert case2[key]["mass_recovered"]["champion"] == pytest.approx(1.0, abs=0.01)
    assert case2["peak_grows_monotonically"]["champion"] is True
    # no precipitation, nothing to release: the reservoir is dry after its spin-up
    assert case2["level_0"]["annual_volume_km3"]["champion"] == pytest.approx(0.0, abs=1e-9)


def test_constant_flow_recovers_nothing(reservoir_run):
    case2 = reservoir_run["case2"]
    for key in LEVELS:
        assert case2[key]["mass_recovered"]["replicates"] == [0.0, 0.0]
    assert case2["mass_recovered_max"]["p95"] == 0.0
    assert case2["peak_grows_monotonically"]["fraction_true"] == 0.0
    # 10 and 20 m³/s all year: 0.31536 and 0.63072 km³
    assert case2["level_0"]["annual_volume_km3"]["replicates"] == pytest.approx([0.31536, 0.63072])


def test_case1_numbers_follow_their_definitions(reservoir_run, references):
    case1 = reservoir_run["case1"]
    for scenario in ("observed_climatology", "sinusoid", "sinusoid_warmer", "sinusoid_colder"):
        assert case1[scenario]["peak_flow_m3s"]["champion"] == pytest.approx(0.0, abs=1e-9)
    sinusoid = case1["sinusoid"]
    assert sinusoid["winter_low_flow_m3s"]["replicates"] == pytest.approx([10.0, 20.0])
    # Apr–Jul = 122 days at 10 m³/s: 10 × 122 × 86 400 m³ = 0.105408 km³
    assert sinusoid["melt_season_volume_km3"]["replicates"] == pytest.approx([0.105408, 0.210816])
    assert sinusoid["peak_fraction_of_observed_melt_flow"]["replicates"] == pytest.approx(
        [10 / references["melt_flow"], 20 / references["melt_flow"]]
    )
    assert case1["shift_effects"]["warmer_peak_flow_change_m3s"]["median"] == 0.0


def test_observed_and_inputs_are_reported(reservoir_run, salmon_dataset):
    observed = reservoir_run["observed"]
    span = salmon_dataset.scaler.maximum["temperature"] - salmon_dataset.scaler.minimum["temperature"]
    assert observed["temperature_shift_c"] == pytest.approx(0.05 * span)
    climatology = daily_climatology(salmon_dataset.series.frame.loc["1961":"1990", "temperature"])
    coldest = observed["temperature_sinusoid"]["coldest_day_of_year"]
    assert coldest == pytest.approx(Sinusoid.fit(climatology).coldest_day)
    # every hypothetical input lies within the training range
    counts = [v["out_of_range"] for case in reservoir_run["inputs"].values() for v in case.values()]
    assert counts == [{"precipitation": 0, "temperature": 0}] * 10


def test_levels_can_be_given_in_scaler_units(salmon_dataset, settings):
    normalized = dataclasses.replace(settings, levels=(0.01, 0.05), level_units="normalized")
    reference = observed_reference(salmon_dataset, normalized)
    levels = case2_levels(normalized, reference, salmon_dataset.scaler)
    top = salmon_dataset.scaler.maximum["precipitation"]  # the training minimum is 0 mm
    assert [level.precipitation_mm_d for level in levels] == pytest.approx([0.0, 0.01 * top, 0.05 * top])
    assert [level.precipitation_normalized for level in levels] == pytest.approx([0.0, 0.01, 0.05])
    assert [level.key for level in levels] == ["level_0", "level_0p01", "level_0p05"]


def test_hydrograph_csv_holds_inputs_and_flows_of_every_scenario(reservoir_run, reservoir_dir):
    case1 = pd.read_csv(reservoir_dir / "plots/probes/case1.csv")
    assert len(case1) == 2 * 365 and list(case1["day"][:2]) == [1, 2]
    assert list(case1["month_day"][[0, 59, 364, 365]]) == ["01-01", "03-01", "12-31", "01-01"]
    shift = reservoir_run["observed"]["temperature_shift_c"]
    warmer = case1["sinusoid_warmer_temperature_c"] - case1["sinusoid_temperature_c"]
    np.testing.assert_allclose(warmer, shift, atol=1e-4)  # 6 significant digits in the CSV
    assert case1["sinusoid_discharge_m3s_p95"].iloc[0] == pytest.approx(19.5)  # 10 and 20 m³/s replicates
    case2 = pd.read_csv(reservoir_dir / "plots/probes/case2.csv")
    precipitation = case2["level_0p9_precipitation_mm_d"]
    assert (precipitation > 0).sum() == 2 * 152
    assert precipitation.max() == pytest.approx(
        reservoir_run["levels"]["level_0p9"]["precipitation_mm_d"], rel=1e-5
    )
