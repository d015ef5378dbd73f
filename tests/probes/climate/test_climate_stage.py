"""The climate stage on reference models whose right answers are known in advance.

A lossless linear reservoir must return all added precipitation as flow and
have precipitation elasticity 1 for every precipitation scenario; it ignores
temperature, so warming changes nothing and the timing rule must fail. A
constant flow returns nothing and has elasticity 0.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from hydroprobe.errors import DataError
from hydroprobe.probes.climate import run_climate_probes
from hydroprobe.testing import LinearReservoir

#: Storage at the ends of the 9-year period is < 1 % of the added water for k ≥ 0.02/d.
MASS_TOLERANCE = 0.01

PRECIPITATION_SCENARIOS = ("pall0.8", "pall0.9", "pall1.1", "pall1.2", "pacc1.1", "pacc1.2", "pacc1.5")


def test_lossless_reservoir_returns_all_added_precipitation_with_unit_elasticity(reference_run):
    result, _ = reference_run
    reservoir = result["models"]["reservoir"]["scenarios"]
    for name in PRECIPITATION_SCENARIOS:
        for run in [reservoir[name]["champion"], *reservoir[name]["replicates"]]:
            assert run["returned_fraction"] == pytest.approx(1.0, abs=MASS_TOLERANCE), name
            assert run["elasticity"] == pytest.approx(1.0, abs=MASS_TOLERANCE), name
    # all-year scaling of a linear system scales its flow exactly
    assert reservoir["pall1.2"]["champion"]["delta_flow_percent"] == pytest.approx(20.0, abs=1e-9)
    assert result["scenarios"]["pall1.2"]["precipitation_change_percent"] == pytest.approx(20.0)


def test_reservoir_ignores_warming_and_so_fails_the_timing_rule(reference_run):
    result, _ = reference_run
    model = result["models"]["reservoir"]
    for name in ("warm1", "warm2", "warm4"):
        assert model["scenarios"][name]["champion"]["delta_flow_km3"] == 0
        assert model["scenarios"][name]["champion"]["returned_fraction"] is None
    rules = model["rules"]
    assert rules["warming_earlier_timing"]["champion"] == {
        "passed": False,
        "values": {"warm1": 0.0, "warm2": 0.0, "warm4": 0.0},
        "failed": ["warm1", "warm2", "warm4"],
    }
    assert rules["warming_earlier_timing"]["replicates"]["share"] == 0.0
    for key in ("precipitation_direction", "mass_conservation", "warming_no_more_flow"):
        assert rules[key]["champion"]["passed"], key
        assert rules[key]["replicates"] == {"passed": 3, "count": 3, "share": 1.0, "failed": {}}
    # ε = 1 lies in the observed band (about 0.2–1.8 on Salmon)
    band = result["observed_elasticity"]
    assert band["p05"] < 1 < band["p95"]
    assert rules["elasticity_in_observed_band"]["champion"]["passed"]


def test_constant_flow_returns_nothing_and_fails_the_elasticity_rule(reference_run):
    result, _ = reference_run
    model = result["models"]["constant"]
    assert model["scenarios"]["pall1.1"]["champion"]["returned_fraction"] == 0.0
    assert model["scenarios"]["pall1.1"]["champion"]["elasticity"] == 0.0
    assert model["scenarios"]["pall1.1"]["champion"]["delta_runoff_ratio"] < 0
    assert not model["rules"]["elasticity_in_observed_band"]["champion"]["passed"]
    assert model["rules"]["precipitation_direction"]["champion"]["passed"]  # no change is no wrong sign


def test_scenarios_report_inputs_beyond_the_training_range(reference_run):
    result, _ = reference_run
    extrapolation = {name: s["extrapolation"] for name, s in result["scenarios"].items()}
    assert extrapolation["baseline"]["days"] == 3287  # 9 water years
    # warming pushes more days above the training maximum temperature
    assert (
        extrapolation["baseline"]["temperature"]
        <= extrapolation["warm1"]["temperature"]
        < extrapolation["warm4"]["temperature"]
    )


def test_stage_writes_metrics_csvs_figures_and_report(reference_run):
    result, out_dir = reference_run
    assert json.loads((out_dir / "metrics/probes_climate.json").read_text()) == json.loads(json.dumps(result))
    for relative in result["outputs"]:
        assert (out_dir / relative).stat().st_size > 0, relative
    table = pd.read_csv(out_dir / "plots/climate/pall1.1.csv", index_col="date", parse_dates=["date"])
    assert list(table.columns) == [
        "precipitation",
        "temperature",
        "reservoir",
        "reservoir_baseline",
        "constant",
        "constant_baseline",
    ]
    assert table.index[0] == pd.Timestamp("1998-01-01") and table.index[-1] == pd.Timestamp("2007-12-31")
    assert (table["reservoir"] / table["reservoir_baseline"]).mean() == pytest.approx(1.1, rel=1e-3)
    assert {Path(p).name for p in result["outputs"] if p.endswith(".png")} == {
        "climate_response_precipitation.png",
        "climate_response_temperature.png",
        "climate_hydrograph.png",
    }
    report = (out_dir / "reports/fragments/climate.md").read_text()
    assert "| P ×1.1 | +10.0 |" in report
    assert "![climate hydrograph](../figures/climate_hydrograph.png)" in report
    assert "**reservoir: not to be trusted for climate-impact use on this basin.**" in report
    assert "so it has not learned snowmelt timing (0/3 replicates pass this rule)" in report


def test_spinup_shorter_than_a_model_needs_is_refused(salmon_dataset, climate):
    class Windowed(LinearReservoir):
        """A reservoir that, like a sequence model, answers NaN for its first 100 days."""

        def simulate(self, precipitation, temperature):
            flow = super().simulate(precipitation, temperature)
            flow[:100] = float("nan")
            return flow

    short = dataclasses.replace(climate, spinup_days=50, temperature_shifts=[1.0])
    model = Windowed(salmon_dataset.series.meta.area_km2)
    with pytest.raises(DataError, match="raise climate.spinup_days"):
        run_climate_probes({"windowed": (model, [])}, salmon_dataset, short, Path("unused"))
