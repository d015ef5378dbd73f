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
