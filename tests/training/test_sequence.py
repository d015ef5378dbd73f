"""Sequence-to-sequence training: what the loss scores, that mass still closes, and that seq2one is untouched.

All on the real Salmon record cut to 1960-12 … 1962-06 (``cut``, ``cut_dataset``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from hydroprobe.errors import ConfigError
from hydroprobe.training.config import ModelConfig, TrainConfig, config_hash
from hydroprobe.training.fingerprint import RuntimeEnvironment
from hydroprobe.training.replicates import train_replicates
from hydroprobe.training.sequence import SequenceSplit, masked_mse, training_ends
from hydroprobe.training.trainer import init_model, train_replicate

CPU = torch.device("cpu")
SPAN = 10
SEQ2SEQ = TrainConfig(window=30, mode="seq2seq", loss_span=SPAN, windows_per_epoch=32, batch_size=16,
                      learning_rate=0.01, max_epochs=2, engine="sequential")


def test_loss_scores_only_the_observed_days_of_the_span(cut) -> None:
    """Hand check on one real window: gradient reaches exactly the observed days of the last SPAN days."""
    series, train_days, _ = cut
    split = SequenceSplit(series, train_days, SPAN, tiled=False)
    end = int(split.ends[40])
    _, observed = split.batch(series, np.array([end]))
    assert torch.equal(observed[0], series.target[end - SPAN + 1 : end + 1])
    observed = observed.clone()
    observed[0, 3] = torch.nan  # a missing observation inside the span
    predicted = torch.linspace(0.0, 1.0, 30)[None].requires_grad_()  # a whole 30-day window's output
    loss, seen = masked_mse(predicted[:, -SPAN:], observed)
    keep = [i for i in range(SPAN) if i != 3]
    by_hand = ((predicted[0, -SPAN:][keep] - observed[0, keep]) ** 2).mean()
    assert seen == SPAN - 1 and torch.allclose(loss, by_hand, rtol=1e-6)
    loss.backward()
    gradient = predicted.grad[0]
    assert torch.all(gradient[: 30 - SPAN] == 0)  # warm-up days are not scored
    assert gradient[30 - SPAN + 3] == 0  # nor is the missing day
    assert torch.all(gradient[30 - SPAN :][keep] != 0)


def test_training_windows_score_targets_inside_the_split_only(cut) -> None:
    series, train_days, validation_days = cut
    ends = training_ends(series, train_days, SPAN)
    assert ends.min() == train_days.min() + SPAN - 1 and ends.max() == train_days.max()
    assert series.complete(ends).all()
    tiles = SequenceSplit(series, validation_days, SPAN, tiled=True)
    assert tiles.ends[-1] == validation_days.max() and np.all(np.diff(tiles.ends) == SPAN)
    _, targets = tiles.batch(series, tiles.ends)
    days = tiles.ends[:, None] + np.arange(-SPAN + 1, 1)
    scored = days[~torch.isnan(targets).numpy()]  # each validation day scored once, none outside
    assert len(set(scored)) == len(scored) and set(scored) == set(validation_days)


def test_seq2seq_mclstm_still_closes_its_water_balance(cut_dataset, tmp_path) -> None:
    """Trained seq2seq, the MC-LSTM's stores still balance to 1e-9 in float64 (as tests/models)."""
    model = ModelConfig(type="mclstm", hidden_size=4)
    outcome = train_replicates(cut_dataset, model, SEQ2SEQ, tmp_path, CPU)
    trained = outcome.best.result
    assert trained.epochs_run == 2 and np.isfinite(trained.validation_loss).all()
    assert all(np.isfinite(outcome.best.metrics[split]["nse"]) for split in ("train", "validation", "test"))
    network = init_model(outcome.architecture, 0)
    assert not torch.equal(trained.state_dict["gates.weight"], network.state_dict()["gates.weight"])
    network.load_state_dict(trained.state_dict)
    network = network.double().eval()
    series = cut_dataset.windowed(60)
    windows = series.windows(series.sample_index(*cut_dataset.splits["validation"]).days[::20]).double()
    with torch.no_grad():
        fluxes = network.forward_fluxes(windows)
        sequence = network.forward_sequence(windows)
        assert torch.equal(sequence[:, -1], network(windows))  # evaluation reads the same numbers
    inflow = fluxes["inflow_mm"].sum(1)
    out = fluxes["outflow_mm"].sum(1) + fluxes["trash_mm"].sum(1) + fluxes["storage_mm"][:, -1]
    assert (inflow > 1).all()
    np.testing.assert_allclose(inflow.numpy(), out.numpy(), rtol=1e-9)


def test_seq2seq_lstm_trains_on_the_sequential_engine(cut_dataset, tmp_path) -> None:
    outcome = train_replicates(cut_dataset, ModelConfig(hidden_size=4),
                               dataclasses.replace(SEQ2SEQ, engine="auto", max_epochs=1), tmp_path, CPU)
    assert outcome.best.result.epochs_run == 1 and np.isfinite(outcome.best.metrics["test"]["nse"])


def test_seq2one_default_path_is_unchanged(cut, cut_dataset, tmp_path) -> None:
    """Recipe hashes as before seq2seq existed (values from main), and the dispatch is the reference."""
    environment = RuntimeEnvironment("ensemble", "cpu", "x", "y", 1, "t", "n", "p", "code0")
    assert config_hash(ModelConfig(), TrainConfig(), "data0", environment) == "ffdf518e98c1eaed"
    sequential = dataclasses.replace(environment, engine="sequential")
    mclstm = ModelConfig(type="mclstm", hidden_size=8)
    reference = TrainConfig(window=270, learning_rate=0.02)
    assert config_hash(mclstm, reference, "data0", sequential) == "c8c0ec928542daa1"
    # seq2seq-only keys do not enter a seq2one recipe; in seq2seq they do
    assert config_hash(mclstm, dataclasses.replace(reference, loss_span=10), "data0", sequential) == (
        "c8c0ec928542daa1")
    seq2seq = dataclasses.replace(reference, mode="seq2seq", loss_span=200)
    assert config_hash(mclstm, seq2seq, "data0", sequential) != "c8c0ec928542daa1"
    assert config_hash(mclstm, seq2seq, "data0", sequential) != config_hash(
        mclstm, dataclasses.replace(seq2seq, loss_span=100), "data0", sequential)
    # the pipeline's seq2one replicate is the reference trainer's, bit for bit
    config = TrainConfig(window=30, batch_size=64, learning_rate=0.01, max_epochs=1, engine="sequential")
    architecture = ModelConfig(type="mclstm", hidden_size=4).architecture(cut_dataset)
    outcome = train_replicates(cut_dataset, ModelConfig(type="mclstm", hidden_size=4), config, tmp_path, CPU)
    series = cut_dataset.windowed(30)
    days = [series.sample_index(*cut_dataset.splits[s]).days for s in ("train", "validation")]
    direct = train_replicate(architecture, series, *days, config, 0, CPU)
    assert outcome.best.result.validation_loss == direct.validation_loss
    assert all(torch.equal(direct.state_dict[k], v) for k, v in outcome.best.result.state_dict.items())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "seq2many"}, r"'train\.mode' must be one of \('seq2one', 'seq2seq'\) \(got 'seq2many'\)"),
        ({"loss_span": 0}, r"'train\.loss_span' must be >= 1 \(got 0\)"),
        ({"windows_per_epoch": 0}, r"'train\.windows_per_epoch' must be >= 1 \(got 0\)"),
        ({"mode": "seq2seq", "window": 30, "loss_span": 31},
         r"'train\.loss_span' must be <= train\.window in seq2seq \(got 31 > 30\)"),
    ],
)
def test_config_errors_name_the_key(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes)
    TrainConfig(window=30)  # the default loss_span (365) is only checked against the window in seq2seq
