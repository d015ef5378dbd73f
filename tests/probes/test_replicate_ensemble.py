"""The replicate ensemble as a model, on the real Salmon record.

Its discharge is the members' mean day by day; with mass-conserving members
its fluxes are their mean and the Case 2 balance still closes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE
from hydroprobe.models import build_model
from hydroprobe.models.replicate_ensemble import ReplicateEnsemble
from hydroprobe.models.simulator import DischargeSimulator, SequenceModelSimulator
from hydroprobe.probes.hypothetical import simulate_years
from hydroprobe.probes.paper.case2 import case2_levels, case2_scenarios
from hydroprobe.probes.paper.reference import observed_reference
from hydroprobe.probes.water_balance import case2_water_balance

AREA_KM2 = 4250.6


def _forcing(dataset, start: str, end: str) -> tuple[np.ndarray, np.ndarray]:
    frame = dataset.series.frame.loc[start:end]
    return frame[PRECIPITATION].to_numpy(), frame[TEMPERATURE].to_numpy()


def test_prediction_is_the_mean_of_the_members_on_real_windows(tiny_lstms, salmon_dataset):
    ensemble = ReplicateEnsemble("lstm ensemble", list(tiny_lstms), seeds=[0, 1])
    assert isinstance(ensemble, DischargeSimulator)
    precipitation, temperature = _forcing(salmon_dataset, "1998-01-01", "1999-12-31")
    members = [m.simulate(precipitation, temperature) for m in tiny_lstms]
    predicted = ensemble.simulate(precipitation, temperature)
    window = tiny_lstms[0].window
    assert ensemble.spinup_days == window - 1 and ensemble.scaler is salmon_dataset.scaler
    assert np.isnan(predicted[: window - 1]).all()  # spin-up days stay NaN, as for every member
    mean = (members[0] + members[1])[window - 1 :] / 2
    np.testing.assert_allclose(predicted[window - 1 :], mean, rtol=1e-12)
    # the members differ, so the mean is not just one of them
    assert np.abs(members[0] - members[1])[window - 1 :].max() > 1.0
    assert not ensemble.has_fluxes  # LSTM members keep no water balance
    with pytest.raises(TypeError, match="water balance"):
        ensemble.simulate_fluxes(precipitation, temperature)


def _mclstm(scaler, seed: int, output_bias: float) -> SequenceModelSimulator:
    """A fast-draining MC-LSTM (stores hold nothing older than the window), as in test_water_balance."""
    architecture = {
        "type": "mclstm", "n_inputs": 2, "hidden_size": 4, "area_km2": AREA_KM2,
        "precipitation_range": [scaler.minimum[PRECIPITATION], scaler.maximum[PRECIPITATION]],
        "discharge_range": [scaler.minimum[DISCHARGE], scaler.maximum[DISCHARGE]],
    }
    torch.manual_seed(seed)
    network = build_model(architecture)
    with torch.no_grad():
        network.gates.bias[-4:].fill_(output_bias)
    return SequenceModelSimulator(f"mclstm seed {seed}", architecture, network.state_dict(), scaler, 30)


def test_mean_fluxes_of_mclstm_members_close_the_water_balance(salmon_dataset):
    scaler = salmon_dataset.scaler
    members = [_mclstm(scaler, 0, 5.0), _mclstm(scaler, 1, 4.0)]
    ensemble = ReplicateEnsemble("mclstm ensemble", members, seeds=[0, 1])
    assert ensemble.has_fluxes
    precipitation, temperature = _forcing(salmon_dataset, "1998-01-01", "1998-12-31")
    fluxes = ensemble.simulate_fluxes(precipitation, temperature)
    member_fluxes = [m.simulate_fluxes(precipitation, temperature) for m in members]
    for name, values in fluxes.items():
        np.testing.assert_allclose(values, (member_fluxes[0][name] + member_fluxes[1][name]) / 2, rtol=1e-12)
    # the flux flow is the ensemble's discharge in mm
    flow = ensemble.simulate(precipitation, temperature)
    flow_m3s = fluxes["flow_mm"][29:] * AREA_KM2 * 1e3 / 86_400
    np.testing.assert_allclose(flow_m3s, flow[29:], rtol=1e-4, atol=1e-3)

    from hydroprobe.probes.paper import ProbeSettings

    settings = ProbeSettings(years=2, accumulation_season=("10-15", "03-15"))
    reference = observed_reference(salmon_dataset, settings)
    scenarios = case2_scenarios(case2_levels(settings, reference, scaler), reference, settings)

    def balances(simulator):
        flows = {key: simulate_years(simulator, scenario, 2) for key, scenario in scenarios.items()}
        return case2_water_balance(simulator, scenarios, flows, 2, AREA_KM2)

    ensemble_balance, member_balances = balances(ensemble), [balances(m) for m in members]
    for key, balance in ensemble_balance.items():
        added = balance["added_mm"]
        assert balance["et_mm"] > 0 and balance["flow_mm"] > 0
        assert abs(balance["residual_mm"]) / added < 1e-4  # the tolerance the members meet
        for term, value in balance.items():  # the balance is linear: ensemble = mean of members' balances
            mean = (member_balances[0][key][term] + member_balances[1][key][term]) / 2
            assert value == pytest.approx(mean, rel=1e-6, abs=1e-6 * added)


def _leaves(tree, path=()):
    """``(path, value)`` of every number in a plain result tree."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(tree, int | float) and not isinstance(tree, bool):
        yield path, tree


def test_paper_probe_ensemble_from_replicate_runs_equals_probing_the_ensemble_model(
    tiny_lstms, salmon_dataset, tmp_path
):
    from hydroprobe.probes.paper import ProbeSettings, run_paper_probes

    settings = ProbeSettings(years=1, accumulation_season=("10-15", "03-15"))
    result = run_paper_probes(tiny_lstms[0], tiny_lstms, salmon_dataset, settings, tmp_path / "members")
    ensemble = ReplicateEnsemble("ensemble", list(tiny_lstms), seeds=[0, 1])
    direct = run_paper_probes(ensemble, [], salmon_dataset, settings, tmp_path / "model")
    assert result["ensemble"]["members"] == 2
    compared = 0
    for case in ("case1", "case2"):
        for path, value in _leaves(result["ensemble"][case]):
            node = direct[case]
            for key in path:
                node = node[key]
            assert value == pytest.approx(node["champion"], rel=1e-9, abs=1e-9), (case, path)
            compared += 1
    assert compared > 50
    # the ensemble differs from the champion it sits beside
    peak = result["case1"]["observed_climatology"]["peak_flow_m3s"]["champion"]
    assert result["ensemble"]["case1"]["observed_climatology"]["peak_flow_m3s"] != pytest.approx(peak)

    members = pd.read_csv(tmp_path / "members/plots/probes/case1.csv")
    model = pd.read_csv(tmp_path / "model/plots/probes/case1.csv")
    column = "observed_climatology_discharge_m3s"
    np.testing.assert_allclose(members[f"{column}_ensemble"], model[column], rtol=1e-5)
    assert "Ensemble mean" in (tmp_path / "members/reports/fragments/paper_cases.md").read_text()
