"""The LSTM's in-network z-scoring (``model.standardize``) on the real Salmon cut.

What must hold: the statistics are the training split's, computed by hand here;
the network with them is exactly the plain LSTM fed hand-z-scored windows and
rescaled back; the stacked ensemble agrees replicate by replicate, in both
training engines; the architecture round-trips and the state_dict keys are those
of the plain LSTM (the statistics are architecture, not weights).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from hydroprobe.models.ensemble_lstm import EnsembleLSTM
from hydroprobe.models.kinds import build_model
from hydroprobe.models.standardization import training_statistics
from hydroprobe.training.config import ModelConfig, TrainConfig, config_hash
from hydroprobe.training.ensemble import train_ensemble
from hydroprobe.training.trainer import init_model, train_replicate
from tests.training.conftest import TRAIN

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def architecture(cut_dataset) -> dict:
    config = ModelConfig(type="lstm", hidden_size=4, initial_forget_bias=3, standardize=True)
    return config.architecture(cut_dataset)


def test_statistics_are_the_training_splits_mean_and_population_std(cut_dataset) -> None:
    """By hand from the physical series: min-max is affine, so mean → (mean − min)/range, std → std/range."""
    train = cut_dataset.series.frame.loc[TRAIN[0] : TRAIN[1]]
    scaler = cut_dataset.scaler
    stats = training_statistics(cut_dataset)
    for i, column in enumerate(("precipitation", "temperature", "discharge")):
        values = train[column].dropna().to_numpy()
        span = scaler.maximum[column] - scaler.minimum[column]
        mean = (values.sum() / values.size - scaler.minimum[column]) / span
        std = np.sqrt(((values - values.mean()) ** 2).mean()) / span
        got_mean = stats["input_mean"][i] if i < 2 else stats["target_mean"]
        got_std = stats["input_std"][i] if i < 2 else stats["target_std"]
        assert got_mean == pytest.approx(mean, rel=1e-9), column
        assert got_std == pytest.approx(std, rel=1e-9), column
    assert train["discharge"].isna().any()  # the cut has missing discharge days: nan-aware statistics


def test_the_network_is_the_plain_lstm_on_hand_z_scored_windows(cut_dataset, architecture) -> None:
    stats = architecture["standardization"]
    standardized = init_model(architecture, seed=3)
    plain = init_model({k: v for k, v in architecture.items() if k != "standardization"}, seed=3)
    x = cut_dataset.windowed(30).windows(np.arange(40, 50))
    by_hand = (x - torch.tensor(stats["input_mean"])) / torch.tensor(stats["input_std"])
    expected = plain(by_hand) * stats["target_std"] + stats["target_mean"]
    torch.testing.assert_close(standardized(x), expected, rtol=1e-6, atol=1e-7)
    assert standardized.state_dict().keys() == plain.state_dict().keys()


def test_the_optimiser_sees_the_z_scored_losss_gradient(cut_dataset, architecture) -> None:
    """Min-max MSE through the network = z-scored MSE × std²; its gradient must be the z-scored one."""
    stats = architecture["standardization"]
    standardized = init_model(architecture, seed=3)
    plain = init_model({k: v for k, v in architecture.items() if k != "standardization"}, seed=3)
    series = cut_dataset.windowed(30)
    days = series.sample_index(*cut_dataset.splits["train"]).days[:64]  # observed discharge only
    x, target = series.windows(days), series.target[torch.as_tensor(days)]
    ((standardized(x) - target) ** 2).mean().backward()
    z_x = (x - torch.tensor(stats["input_mean"])) / torch.tensor(stats["input_std"])
    z_target = (target - stats["target_mean"]) / stats["target_std"]
    ((plain(z_x) - z_target) ** 2).mean().backward()
    pairs = zip(standardized.named_parameters(), plain.named_parameters(), strict=True)
    for (name, got), (_, expected) in pairs:
        torch.testing.assert_close(got.grad, expected.grad, rtol=1e-4, atol=1e-7, msg=name)


def test_architecture_round_trips_and_plain_lstms_keep_theirs(architecture) -> None:
    model = build_model(architecture)
    assert model.architecture() == architecture
    plain = {k: v for k, v in architecture.items() if k != "standardization"}
    assert build_model(plain).architecture() == plain


def test_stacked_replicates_apply_the_same_statistics(cut_dataset, architecture) -> None:
    members = [init_model(architecture, seed) for seed in (0, 1)]
    stacked = EnsembleLSTM.from_models(members)
    x = cut_dataset.windowed(30).windows(np.arange(40, 60))
    with torch.no_grad():
        together = stacked(x)
        for r, member in enumerate(members):
            torch.testing.assert_close(together[r], member(x), rtol=1e-5, atol=1e-6)
    assert stacked.subset(torch.tensor([1])).zscore.settings == architecture["standardization"]


@pytest.fixture(scope="module")
def windows(cut_dataset):
    """30-day windows of the cut and its training and validation days."""
    series = cut_dataset.windowed(30)
    days = [series.sample_index(*cut_dataset.splits[split]).days for split in ("train", "validation")]
    return series, *days


TINY = TrainConfig(window=30, batch_size=64, learning_rate=0.01, max_epochs=2, patience=30, grad_clip=1.0)


def test_ensemble_engine_trains_as_the_sequential_reference(windows, architecture) -> None:
    stacked = {r.seed: r for r in train_ensemble(architecture, *windows, TINY, [0, 1], CPU)}
    for seed in (0, 1):
        reference = train_replicate(architecture, *windows, TINY, seed, CPU)
        np.testing.assert_allclose(stacked[seed].train_loss, reference.train_loss, rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(stacked[seed].validation_loss, reference.validation_loss,
                                   rtol=1e-4, atol=1e-7)


def test_standardize_changes_the_recipe(cut_dataset) -> None:
    train = TrainConfig()
    plain, on = ModelConfig(), ModelConfig(standardize=True)
    assert config_hash(plain, train, "data") != config_hash(on, train, "data")


def test_a_constant_input_over_the_training_split_is_refused(cut_dataset) -> None:
    frozen = dataclasses.replace(cut_dataset, normalized=cut_dataset.normalized.assign(temperature=0.5))
    with pytest.raises(ValueError, match="constant over the training split; model.standardize"):
        training_statistics(frozen)


def test_the_cuda_graph_step_run_eagerly_trains_as_the_eager_engine(windows, architecture) -> None:
    """The graph path captures ``model(x)``, so it must carry the z-scoring and its gradient too."""
    eager = list(train_ensemble(architecture, *windows, TINY, [0, 1], CPU))
    static = list(train_ensemble(architecture, *windows, TINY, [0, 1], CPU, static_step=True))
    for ours, theirs in zip(static, eager, strict=True):
        np.testing.assert_allclose(ours.train_loss, theirs.train_loss, rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(ours.validation_loss, theirs.validation_loss, rtol=1e-5, atol=1e-8)
