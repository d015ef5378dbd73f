"""MC-LSTM: mass closes, no rain gives no flow, and it runs through the LSTM's pipeline unchanged.

Inputs are windows of the real Salmon River record normalised by a scaler
fitted on the params.yaml training period (1961–1990).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from hydroprobe.data.basin import COLUMNS, DISCHARGE, PRECIPITATION, TEMPERATURE, BasinSeries
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.data.splits import parse_splits
from hydroprobe.data.summary import mm_per_day_to_m3s
from hydroprobe.errors import ConfigError
from hydroprobe.models import build_model
from hydroprobe.models.mclstm import MassConservingLSTM, softmax
from hydroprobe.models.simulator import SequenceModelSimulator
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.replicates import train_replicates
from hydroprobe.training.trainer import init_model, train_replicate

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def salmon_dataset(salmon: BasinSeries, params: dict) -> BasinDataset:
    """The real Salmon series as the normalise stage leaves it."""
    splits = parse_splits(params["basins"]["salmon_river"]["splits"], "basins.salmon_river.splits")
    start, end = splits["train"]
    scaler = MinMaxScaler.fit(salmon.frame.loc[start:end], COLUMNS)
    return BasinDataset(salmon, splits, scaler, scaler.transform_frame(salmon.frame), "mclstm-tests")


@pytest.fixture(scope="module")
def architecture(salmon_dataset: BasinDataset) -> dict:
    return ModelConfig(type="mclstm", hidden_size=4).architecture(salmon_dataset)


@pytest.fixture(scope="module")
def model64(architecture: dict) -> MassConservingLSTM:
    """Untrained (seed 0) but non-trivial gates, in float64 so closure is tested to 1e-9."""
    return init_model(architecture, 0).double().eval()


@pytest.fixture(scope="module")
def windows(salmon_dataset: BasinDataset) -> torch.Tensor:
    """Nine 60-day windows of 1962 (winter snow to summer melt), float64."""
    series = salmon_dataset.windowed(60)
    days = series.sample_index(pd.Timestamp("1962-01-01"), pd.Timestamp("1962-12-31")).days[::45]
    return series.windows(days).double()


def test_architecture_carries_the_scaler_and_basin_constants(
    architecture: dict, salmon_dataset: BasinDataset
) -> None:
    scaler = salmon_dataset.scaler
    assert architecture == {
        "type": "mclstm",
        "n_inputs": 2,
        "hidden_size": 4,
        "precipitation_range": [scaler.minimum[PRECIPITATION], scaler.maximum[PRECIPITATION]],
        "discharge_range": [scaler.minimum[DISCHARGE], scaler.maximum[DISCHARGE]],
        "area_km2": 4250.6,
        "temperature_range": [scaler.minimum[TEMPERATURE], scaler.maximum[TEMPERATURE]],
    }


def _snow_then_thaw(salmon_dataset: BasinDataset) -> torch.Tensor:
    """Day 1: 10 mm at -10 °C; day 2: dry at +10 °C (normalised, float64, one window)."""
    scaler = salmon_dataset.scaler
    days = [(scaler.transform(10.0, PRECIPITATION), scaler.transform(-10.0, TEMPERATURE)),
            (scaler.transform(0.0, PRECIPITATION), scaler.transform(10.0, TEMPERATURE))]
    return torch.tensor([days], dtype=torch.float64)


def test_snow_prior_holds_cold_precipitation_and_releases_it_when_it_thaws(
    architecture: dict, salmon_dataset: BasinDataset
) -> None:
    window = _snow_then_thaw(salmon_dataset)
    with torch.no_grad():
        prior = init_model(architecture, 0).double().forward_fluxes(window)
        plain_architecture = {k: v for k, v in architecture.items() if k != "temperature_range"}
        plain = init_model(plain_architecture, 0).double().forward_fluxes(window)
    # the cold day's 10 mm is stored (sigmoid(-8) ≈ 0.03 % of a snow cell leaves), not released
    assert prior["outflow_mm"][0, 0] < 0.05 and prior["storage_mm"][0, 0] > 9.9
    # the warm day releases most of it (logit -3 + 10 °C / 2 °C → 88 % of a snow cell)
    assert prior["outflow_mm"][0, 1] > 5.0
    # the plain initialisation releases ~5 % a day whatever the temperature
    assert plain["outflow_mm"][0, 1] < 1.0 and plain["outflow_mm"][0, 0] > 0.1


def test_standardized_gates_keep_the_snow_prior_and_close_the_balance(
    salmon_dataset: BasinDataset, windows: torch.Tensor
) -> None:
    """``model.standardize``: the gates read z-scored inputs, the prior's 0 °C switch is where it was."""
    architecture = ModelConfig(type="mclstm", hidden_size=4, standardize=True).architecture(salmon_dataset)
    stats = architecture["standardization"]
    assert set(stats) == {"input_mean", "input_std"}
    window = _snow_then_thaw(salmon_dataset)
    with torch.no_grad():
        model = init_model(architecture, 0).double()
        snow = model.forward_fluxes(window)
        fluxes = model.forward_fluxes(windows)
    assert snow["outflow_mm"][0, 0] < 0.05 and snow["storage_mm"][0, 0] > 9.9
    assert snow["outflow_mm"][0, 1] > 5.0
    closure = fluxes["inflow_mm"].sum(1) - fluxes["outflow_mm"].sum(1) - fluxes["trash_mm"].sum(1)
    torch.testing.assert_close(closure, fluxes["storage_mm"][:, -1], rtol=0, atol=1e-9)
    z = (windows - torch.tensor(stats["input_mean"], dtype=torch.float64)) / torch.tensor(
        stats["input_std"], dtype=torch.float64)
    torch.testing.assert_close(model.gate_inputs(windows), z)
    assert build_model(architecture).architecture() == architecture


def test_mass_closes_over_real_precipitation(model64: MassConservingLSTM, windows: torch.Tensor) -> None:
    with torch.no_grad():
        fluxes = model64.forward_fluxes(windows)
    inflow = fluxes["inflow_mm"].sum(1)
    outflow, trash = fluxes["outflow_mm"].sum(1), fluxes["trash_mm"].sum(1)
    final_storage = fluxes["storage_mm"][:, -1]  # the stores start empty
    assert windows.shape == (9, 60, 2) and (inflow > 10).all()
    assert (outflow > 0).all() and (trash > 0).all() and (final_storage > 0).all()
    np.testing.assert_allclose(inflow.numpy(), (outflow + trash + final_storage).numpy(), rtol=1e-9)
    # and day by day: what came in minus what left is the change of storage
    change = torch.diff(fluxes["storage_mm"], dim=1, prepend=torch.zeros_like(windows[:, :1, 0]))
    balance = fluxes["inflow_mm"] - fluxes["outflow_mm"] - fluxes["trash_mm"]
    np.testing.assert_allclose(change.numpy(), balance.numpy(), rtol=1e-9, atol=1e-12)


def test_no_precipitation_from_empty_stores_gives_exactly_no_flow(
    model64: MassConservingLSTM, windows: torch.Tensor, salmon_dataset: BasinDataset
) -> None:
    dry = windows.clone()
    dry[..., 0] = float(salmon_dataset.scaler.transform(0.0, PRECIPITATION))  # real temperature kept
    with torch.no_grad():
        fluxes = model64.forward_fluxes(dry)
        predicted = model64(dry)
    for name in ("inflow_mm", "outflow_mm", "trash_mm", "storage_mm"):
        assert torch.equal(fluxes[name], torch.zeros(9, 60, dtype=torch.float64)), name
    scaler = salmon_dataset.scaler
    no_flow = float(scaler.transform(0.0, DISCHARGE))
    assert no_flow < 0  # zero discharge lies below the training minimum
    np.testing.assert_allclose(predicted.numpy(), no_flow, rtol=1e-12)


def test_forward_is_the_last_outflow_through_the_scaler(
    model64: MassConservingLSTM, windows: torch.Tensor, salmon_dataset: BasinDataset
) -> None:
    with torch.no_grad():
        last_outflow = model64.forward_fluxes(windows)["outflow_mm"][:, -1].numpy()
        predicted = model64(windows).numpy()
    discharge = mm_per_day_to_m3s(last_outflow, 4250.6)  # 1 mm/d over 4250.6 km² = 49.197 m³/s
    assert float(mm_per_day_to_m3s(1.0, 4250.6)) == pytest.approx(49.19676, rel=1e-6)
    expected = salmon_dataset.scaler.transform(discharge, DISCHARGE)
    np.testing.assert_allclose(predicted, expected, rtol=1e-12)


def test_own_softmax_matches_torch_and_its_gradient() -> None:
    logits = torch.tensor([[0.0, float(np.log(3.0))], [1000.0, 1000.0]], dtype=torch.float64)
    assert torch.allclose(softmax(logits), torch.tensor([[0.25, 0.75], [0.5, 0.5]], dtype=torch.float64))
    weights = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
    mine, theirs = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    (softmax(mine) * weights).sum().backward()
    (torch.softmax(theirs, -1) * weights).sum().backward()
    assert torch.allclose(mine.grad, theirs.grad, rtol=1e-12, atol=0)
    gates = torch.linspace(-3.0, 2.0, 2 * 3 * 3, dtype=torch.float64).view(2, 3, 3).requires_grad_()
    assert torch.autograd.gradcheck(softmax, (gates,))


def test_tiny_training_run_on_salmon(architecture: dict, salmon_dataset: BasinDataset) -> None:
    series = salmon_dataset.windowed(30)
    train = series.sample_index(pd.Timestamp("1961-01-01"), pd.Timestamp("1963-12-31")).days
    validation = series.sample_index(pd.Timestamp("1991-01-01"), pd.Timestamp("1991-12-31")).days
    config = TrainConfig(window=30, max_epochs=2, batch_size=256)
    result = train_replicate(architecture, series, train, validation, config, 0, CPU)
    assert result.epochs_run == 2
    assert np.isfinite(result.train_loss).all() and np.isfinite(result.validation_loss).all()
    initial = init_model(architecture, 0).state_dict()
    assert not torch.equal(result.state_dict["gates.weight"], initial["gates.weight"])
    assert set(result.state_dict) == {
        "gates.weight",
        "gates.bias",
    }  # scaler constants live in the architecture


def test_train_replicates_builds_the_architecture_from_the_dataset(
    salmon_dataset: BasinDataset, tmp_path
) -> None:
    """The training stage's path with the default engine: architecture(dataset), cache, evaluation."""
    model = ModelConfig(type="mclstm", hidden_size=4)
    outcome = train_replicates(salmon_dataset, model, TrainConfig(window=30, max_epochs=1), tmp_path, CPU)
    assert outcome.architecture == model.architecture(salmon_dataset)
    assert [o.seed for o in outcome.replicates] == [0]
    assert all(np.isfinite(outcome.best.metrics[split]["nse"]) for split in ("train", "validation", "test"))


def test_rebuilds_from_json_architecture_and_drives_the_simulator(
    model64: MassConservingLSTM, windows: torch.Tensor, salmon_dataset: BasinDataset
) -> None:
    spec = json.loads(json.dumps(model64.architecture()))
    rebuilt = build_model(spec).double()
    rebuilt.load_state_dict(model64.state_dict())
    with torch.no_grad():
        assert torch.equal(rebuilt(windows), model64(windows))

    state32 = {k: v.float() for k, v in model64.state_dict().items()}
    simulator = SequenceModelSimulator("mclstm", spec, state32, salmon_dataset.scaler, window=30)
    temperature = salmon_dataset.series.frame["temperature"].to_numpy()[:90]
    flow = simulator.simulate(np.zeros(90), temperature)
    assert np.isnan(flow[:29]).all()
    np.testing.assert_allclose(flow[29:], 0.0, atol=1e-4)  # m³/s; only float32 rounding of the scaler


def test_config_errors_name_the_key(salmon_dataset: BasinDataset, tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"'model\.hidden_size' must be >= 2 for mclstm \(got 1\)"):
        ModelConfig(type="mclstm", hidden_size=1)
    known = r"\('lstm', 'mclstm', 'gr4jcn', 'regional_lstm', 'regional_mclstm'\)"
    with pytest.raises(ConfigError, match=rf"'model\.type' must be one of {known} \(got 'gru'\)"):
        ModelConfig(type="gru")
    with pytest.raises(ValueError, match="mclstm needs the dataset"):
        ModelConfig(type="mclstm").architecture()
    lstm = ModelConfig(hidden_size=1).architecture()  # the LSTM still needs no dataset
    assert (lstm["type"], lstm["n_inputs"], lstm["hidden_size"]) == ("lstm", 2, 1) and "area_km2" not in lstm
    with pytest.raises(ConfigError, match=r"'train\.engine' = ensemble stacks gr4jcn replicates in "
                                          r"train\.mode none, not seq2one; use auto or sequential"):
        train_replicates(salmon_dataset, ModelConfig(type="gr4jcn"), TrainConfig(engine="ensemble"), tmp_path,
                         CPU)
