"""The regional MC-LSTM on three real Caravan basins: mass in mm/d, attributes only steer the gates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION
from hydroprobe.models import build_model
from hydroprobe.models.regional_mclstm import RegionalMCLSTM
from hydroprobe.training.config import ModelConfig
from hydroprobe.training.regional import group_architecture
from tests.group.test_regional import data, specs  # noqa: F401  (fixtures)


@pytest.fixture
def model(data) -> RegionalMCLSTM:  # noqa: F811
    architecture = group_architecture(ModelConfig("regional_mclstm", hidden_size=6, standardize=True), data)
    torch.manual_seed(0)
    return build_model(architecture).double()


def test_architecture_is_the_groups_and_rebuilds_itself(data, model) -> None:  # noqa: F811
    architecture = model.architecture()
    assert architecture["n_inputs"] == 8 and architecture["n_static"] == 6 and "area_km2" not in architecture
    assert architecture["discharge_range"] == [data.scaler.minimum[DISCHARGE], data.scaler.maximum[DISCHARGE]]
    assert len(architecture["standardization"]["input_mean"]) == 8
    assert build_model(architecture).architecture() == architecture


def test_water_in_is_water_out_plus_losses_and_stores_in_mm(data, model) -> None:  # noqa: F811
    """Three years of a real basin: Σ P = Σ Q + Σ loss + final storage, all in mm, from empty stores."""
    basin_id = data.basin_ids[0]
    frame = data.scaler.transform_frame(data.depth_frame(basin_id)).iloc[:1096]
    static = np.broadcast_to(data.static_vector(basin_id), (len(frame), 6))
    x = torch.as_tensor(np.concatenate([frame[["precipitation", "temperature"]].to_numpy(), static], 1))[None]
    with torch.no_grad():
        fluxes = model.forward_fluxes(x)
        out = model.forward_sequence(x)[0]
    rain = data.depth_frame(basin_id)[PRECIPITATION].iloc[:1096].to_numpy()
    np.testing.assert_allclose(fluxes["inflow_mm"][0].numpy(), rain, rtol=1e-9, atol=1e-9)  # mm/d, as given
    total = fluxes["outflow_mm"].sum() + fluxes["trash_mm"].sum() + fluxes["storage_mm"][0, -1]
    assert float(total) == pytest.approx(rain.sum(), rel=1e-9)
    # discharge leaves as a depth: the shared scaler's inverse of the output is the outflow in mm/d
    np.testing.assert_allclose(data.scaler.inverse(out.numpy(), DISCHARGE), fluxes["outflow_mm"][0].numpy(),
                               rtol=1e-9, atol=1e-9)


def test_one_pass_fluxes_close_a_probe_scenarios_balance_after_a_year(data, model) -> None:  # noqa: F811
    """The study's geometry (730-day windows scored on 365): the probes read the storage on the
    spin-up's last day, so a one-pass run must report it; flow is NaN until the stores have filled."""
    from hydroprobe.group.pipeline import basin_simulator, group_spec
    from hydroprobe.probes.hypothetical import Scenario
    from hydroprobe.probes.water_balance import annual_fluxes
    from hydroprobe.training.config import TrainConfig

    train = TrainConfig(mode="seq2seq", window=730, loss_span=365)
    spec = group_spec(model.architecture(), train, data)
    assert spec["one_pass"] is True
    state = {k: v.float() for k, v in model.state_dict().items()}
    simulator = basin_simulator("mc", spec, state, data, data.basin_ids[0])
    assert simulator.spinup_days == 365
    days = np.arange(365)
    scenario = Scenario("wet", 3.0 + np.sin(days / 58.0), -8.0 * np.cos(2 * np.pi * days / 365))
    flow = simulator.simulate(np.tile(scenario.precipitation, 3), np.tile(scenario.temperature, 3))
    assert np.isnan(flow[:365]).all() and np.isfinite(flow[365:]).all()
    area = data.series[data.basin_ids[0]].meta.area_km2
    fluxes = annual_fluxes(simulator, scenario, 2, flow[365:].reshape(2, 365), area)
    residual = fluxes["precipitation"] - fluxes["flow"] - fluxes["et"] - fluxes["storage_change"]
    assert np.abs(residual).max() < 1e-3 * fluxes["precipitation"].max()
