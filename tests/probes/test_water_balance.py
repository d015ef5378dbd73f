"""The Case 2 balance of the added water on the real Salmon climate.

The lossless reservoir and a mass-conserving MC-LSTM must close it; an LSTM
has no ET or stores, so everything it does not return as flow is residual.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION
from hydroprobe.data.summary import mm_per_day_to_m3s
from hydroprobe.models import build_model
from hydroprobe.models.simulator import SequenceModelSimulator
from hydroprobe.probes.hypothetical import simulate_years
from hydroprobe.probes.paper.case2 import case2_levels, case2_scenarios
from hydroprobe.probes.paper.reference import observed_reference
from hydroprobe.probes.water_balance import added_water_balance, annual_fluxes, case2_water_balance
from hydroprobe.testing import LinearReservoir
from hydroprobe.training.config import ModelConfig

AREA_KM2 = 4250.6
WINDOW = 30
#: 15 October – 15 March inclusive: 17 + 30 + 31 + 31 + 28 + 15 days.
ACCUMULATION_DAYS = 152


@pytest.fixture(scope="module")
def case2(salmon_dataset):
    from hydroprobe.probes.paper import ProbeSettings

    settings = ProbeSettings(years=2, accumulation_season=("10-15", "03-15"))
    reference = observed_reference(salmon_dataset, settings)
    levels = case2_levels(settings, reference, salmon_dataset.scaler)
    return levels, case2_scenarios(levels, reference, settings)


def _balances(simulator, scenarios, years=2):
    flows = {key: simulate_years(simulator, scenario, years) for key, scenario in scenarios.items()}
    return case2_water_balance(simulator, scenarios, flows, years, AREA_KM2)


def _mclstm(scaler, output_bias: float | None, name: str) -> SequenceModelSimulator:
    architecture = {
        "type": "mclstm",
        "n_inputs": 2,
        "hidden_size": 4,
        "precipitation_range": [scaler.minimum[PRECIPITATION], scaler.maximum[PRECIPITATION]],
        "discharge_range": [scaler.minimum[DISCHARGE], scaler.maximum[DISCHARGE]],
        "area_km2": AREA_KM2,
    }
    torch.manual_seed(0)
    network = build_model(architecture)
    if output_bias is not None:
        with torch.no_grad():
            network.gates.bias[-4:].fill_(output_bias)
    return SequenceModelSimulator(name, architecture, network.state_dict(), scaler, WINDOW)


def test_lossless_reservoir_returns_the_added_water_as_flow(case2):
    levels, scenarios = case2
    balances = _balances(LinearReservoir(AREA_KM2), scenarios)
    assert list(balances) == [level.key for level in levels[1:]]
    for level in levels[1:]:
        balance = balances[level.key]
        added = level.precipitation_mm_d * ACCUMULATION_DAYS
        assert balance["added_mm"] == pytest.approx(added, rel=1e-12)
        assert balance["added_km3"] == pytest.approx(added * AREA_KM2 * 1e-6, rel=1e-12)
        assert balance["et_mm"] == 0.0
        assert balance["flow_mm"] == pytest.approx(added, rel=0.01)
        assert abs(balance["residual_mm"]) < 0.01 * added
        assert abs(balance["storage_change_mm"]) < 0.01 * added


def test_fast_draining_mclstm_closes_the_balance_with_et(case2, salmon_dataset):
    """Stores that release ~99 % a day hold nothing older than the window: closure to float precision."""
    levels, scenarios = case2
    balances = _balances(_mclstm(salmon_dataset.scaler, 5.0, "mclstm-fast"), scenarios)
    for level in levels[1:]:
        balance = balances[level.key]
        added = balance["added_mm"]
        assert added == pytest.approx(level.precipitation_mm_d * ACCUMULATION_DAYS, rel=1e-12)
        assert balance["flow_mm"] > 0 and balance["et_mm"] > 0
        closure = balance["flow_mm"] + balance["et_mm"] + balance["storage_change_mm"]
        assert abs(added - closure) / added < 1e-4
        assert abs(balance["residual_mm"]) / added < 1e-4


def test_windowed_mclstm_forgets_water_older_than_its_window(case2, salmon_dataset):
    """At the initial 5 %/day release a store outlives the 30-day window: the residual is that loss."""
    _, scenarios = case2
    simulator = _mclstm(salmon_dataset.scaler, None, "mclstm-slow")
    key = list(scenarios)[-1]
    flows = {k: simulate_years(simulator, scenarios[k], 2) for k in (list(scenarios)[0], key)}
    fluxes = {k: annual_fluxes(simulator, scenarios[k], 2, flows[k], AREA_KM2) for k in flows}
    balance = added_water_balance(fluxes[key], fluxes[list(scenarios)[0]], AREA_KM2)
    by_hand = balance["added_mm"] - balance["flow_mm"] - balance["et_mm"] - balance["storage_change_mm"]
    assert balance["residual_mm"] == pytest.approx(by_hand, rel=1e-12)
    assert balance["residual_mm"] > 0.05 * balance["added_mm"]
    # the flux flow is the same discharge simulate() gives, in mm instead of m³/s
    assert np.allclose(mm_per_day_to_m3s(fluxes[key]["flow"], AREA_KM2), flows[key].sum(axis=1), rtol=1e-4)


def test_lstm_reports_et_unavailable_and_the_rest_as_residual(case2, salmon_dataset):
    _, scenarios = case2
    architecture = ModelConfig(hidden_size=4).architecture()
    torch.manual_seed(0)
    lstm = SequenceModelSimulator(
        "lstm", architecture, build_model(architecture).state_dict(), salmon_dataset.scaler, WINDOW
    )
    assert not lstm.has_fluxes
    with pytest.raises(TypeError, match="lstm: a LSTMRegressor keeps no water balance"):
        lstm.simulate_fluxes(np.zeros(40), np.zeros(40))
    for balance in _balances(lstm, scenarios).values():
        assert np.isnan(balance["et_mm"]) and np.isnan(balance["storage_change_mm"])
        assert balance["residual_mm"] == pytest.approx(balance["added_mm"] - balance["flow_mm"], rel=1e-12)
        assert balance["residual_km3"] == pytest.approx(balance["residual_mm"] * AREA_KM2 * 1e-6, rel=1e-12)
