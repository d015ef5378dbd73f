"""Stacked MC-LSTM replicates (ensemble engine) reproduce the sequential reference, replicate by replicate.

Real Salmon River data cut to 1960-12 … 1962-03 (``cut`` in conftest), hidden 4, three seeds,
trained seq2seq (the MC-LSTM's default) and seq2one. The stacked products sum in another order
than one model's, so agreement is to float32 rounding, as for the LSTM's ensemble engine.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE
from hydroprobe.errors import ConfigError
from hydroprobe.models.ensemble_mclstm import EnsembleMCLSTM
from hydroprobe.training.checkpoint import Checkpoints, seeds_label
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.ensemble import shrink, train_ensemble
from hydroprobe.training.ensemble_sequence import masked_mse_per_replicate
from hydroprobe.training.fingerprint import engine_label, resolve_engine
from hydroprobe.training.replicates import train_replicates
from hydroprobe.training.sequence import train_sequence_replicate
from hydroprobe.training.trainer import init_model, train_replicate
from tests.training.test_checkpoint_resume import EVERY_EPOCH, Stop, assert_identical, stop_at
from tests.training.test_ensemble_parity import assert_same_replicate

CPU = torch.device("cpu")
SEEDS = [0, 1, 2]
SEQ2SEQ = TrainConfig(window=30, mode="seq2seq", loss_span=10, windows_per_epoch=40, batch_size=16,
                      learning_rate=0.02, max_epochs=2, patience=30)
SEQ2ONE = TrainConfig(window=30, batch_size=64, learning_rate=0.02, max_epochs=2, patience=30)


@pytest.fixture(scope="module")
def architecture(cut_dataset) -> dict:
    """Hidden 4 with the cut's own scaler ranges and the snow prior (temperature range)."""
    scaler = cut_dataset.scaler
    return {"type": "mclstm", "n_inputs": 2, "hidden_size": 4,
            "precipitation_range": [scaler.minimum[PRECIPITATION], scaler.maximum[PRECIPITATION]],
            "discharge_range": [scaler.minimum[DISCHARGE], scaler.maximum[DISCHARGE]],
            "area_km2": 4250.6,
            "temperature_range": [scaler.minimum[TEMPERATURE], scaler.maximum[TEMPERATURE]]}


def test_stacked_forward_is_each_models_forward(architecture, cut) -> None:
    """Per-replicate windows and shared windows both give each replicate its own model's numbers."""
    series, train_days, _ = cut
    models = [init_model(architecture, s).double() for s in SEEDS]
    stacked = EnsembleMCLSTM.from_models(models).double()
    per_replicate = torch.stack([series.windows(train_days[r * 7 : r * 7 + 5]) for r in SEEDS]).double()
    shared = series.windows(train_days[::50]).double()
    with torch.no_grad():
        own = stacked.forward_fluxes(per_replicate)
        together = stacked.forward_sequence(shared)
        last = stacked(per_replicate)
        for r, model in enumerate(models):
            alone = model.forward_fluxes(per_replicate[r])
            for name, value in alone.items():
                np.testing.assert_allclose(own[name][r], value, rtol=1e-12, atol=1e-12, err_msg=name)
            np.testing.assert_allclose(together[r], model.forward_sequence(shared), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(last[r], model(per_replicate[r]), rtol=1e-12, atol=1e-12)
    for r, seed in enumerate(SEEDS):  # exported weights are the models' own, in their format
        reference = init_model(architecture, seed).state_dict()
        exported = stacked.replicate_state_dict(r)
        assert exported.keys() == reference.keys()
        for key, value in reference.items():
            assert torch.equal(exported[key], value), key


def test_masked_mse_per_replicate_by_hand() -> None:
    predicted = torch.tensor([[[1.0, 2.0]], [[0.0, 4.0]]])
    observed = torch.tensor([[[0.0, torch.nan]], [[1.0, 1.0]]])
    losses, counts = masked_mse_per_replicate(predicted, observed)
    assert counts.tolist() == [1, 2]
    np.testing.assert_allclose(losses, [1.0, (1.0 + 9.0) / 2])


@pytest.mark.parametrize("grad_clip", [0.0, 0.05])
def test_seq2seq_epochs_match_the_sequential_engine(architecture, cut, grad_clip) -> None:
    """Same seeds → the same window draws, losses, best epoch and weights as one replicate at a time."""
    series, train_days, validation_days = cut
    config = dataclasses.replace(SEQ2SEQ, grad_clip=grad_clip)
    stacked = list(train_ensemble(architecture, series, train_days, validation_days, config, SEEDS, CPU))
    assert [r.seed for r in stacked] == SEEDS
    for actual in stacked:
        expected = train_sequence_replicate(architecture, series, train_days, validation_days, config,
                                            actual.seed, CPU)
        initial = init_model(architecture, actual.seed).state_dict()["gates.weight"]
        assert actual.epochs_run == 2 and not torch.allclose(actual.state_dict["gates.weight"], initial)
        assert_same_replicate(actual, expected)


def test_seq2one_epochs_and_early_stopping_match_the_sequential_engine(architecture, cut) -> None:
    series, train_days, validation_days = cut
    config = dataclasses.replace(SEQ2ONE, max_epochs=3, patience=1)
    stacked = list(train_ensemble(architecture, series, train_days, validation_days, config, SEEDS, CPU))
    for actual in stacked:
        expected = train_replicate(architecture, series, train_days, validation_days, config, actual.seed,
                                   CPU)
        assert_same_replicate(actual, expected)


def test_shrink_slices_the_stacked_gates_and_adam_state(architecture) -> None:
    model = EnsembleMCLSTM.from_models([init_model(architecture, s) for s in SEEDS])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    replicate_scale = torch.tensor([1.0, 2.0, 3.0])[:, None]  # each replicate its own gradient
    (model.gate_weight.sum() + (model.gate_bias * replicate_scale).square().sum()).backward()
    optimizer.step()
    smaller, new_optimizer = shrink(model, optimizer, [0, 2], 0.01)
    assert smaller.replicates == 2 and smaller.units is model.units
    assert torch.equal(smaller.gate_weight[1], model.gate_weight[2])
    moment = new_optimizer.state[smaller.gate_bias]["exp_avg_sq"]
    assert torch.equal(moment, optimizer.state[model.gate_bias]["exp_avg_sq"][[0, 2]])


def test_auto_engine_stacks_mclstm_in_both_modes_and_labels_it_plainly() -> None:
    cuda = torch.device("cuda")
    assert resolve_engine("auto", "mclstm", 2, CPU, "seq2seq") == "ensemble"
    assert resolve_engine("auto", "mclstm", 2, cuda, "seq2seq") == "ensemble"  # no cuDNN to fall back to
    assert resolve_engine("auto", "lstm", 8, cuda, "seq2seq") == "ensemble"  # StackedLSTM in seq2seq
    assert resolve_engine("auto", "gr4jcn", 2, CPU, "seq2seq") == "sequential"  # no stacked form
    # the graph step and Triton recurrence are the LSTM's: an MC-LSTM's key never claims them
    assert engine_label("ensemble", SEQ2SEQ, cuda, "mclstm") == "ensemble"
    assert engine_label("ensemble", SEQ2ONE, cuda, "lstm") == "ensemble+cuda_graph"


def test_asking_the_ensemble_engine_for_a_kind_that_does_not_stack_names_the_modes(cut_dataset,
                                                                                   tmp_path) -> None:
    config = dataclasses.replace(SEQ2SEQ, engine="ensemble")
    with pytest.raises(ConfigError, match=r"'train\.engine' = ensemble stacks gr4jcn replicates in "
                                          r"train\.mode none, not seq2seq; use auto or sequential"):
        train_replicates(cut_dataset, ModelConfig(type="gr4jcn"), config, tmp_path, CPU)


def test_stacked_seq2seq_resumes_bit_for_bit_after_a_kill(architecture, cut, tmp_path) -> None:
    """A run killed after epoch 2 resumes from its checkpoint with the same window draws and weights."""
    config = dataclasses.replace(SEQ2SEQ, max_epochs=3, checkpoint_minutes=EVERY_EPOCH)
    uninterrupted = {r.seed: r for r in train_ensemble(architecture, *cut, config, SEEDS, CPU)}
    checkpoints = Checkpoints(tmp_path, config.checkpoint_minutes)
    with pytest.raises(Stop):
        list(train_ensemble(architecture, *cut, config, SEEDS, CPU, stop_at(3), checkpoints=checkpoints))
    saved = torch.load(checkpoints.path(f"ensemble_{seeds_label(SEEDS)}"), weights_only=True)
    assert saved["epoch"] == 2 and set(saved["model"]) == {"gate_weight", "gate_bias"}
    resumed = {r.seed: r for r in train_ensemble(architecture, *cut, config, SEEDS, CPU,
                                                 checkpoints=checkpoints)}
    for seed in SEEDS:
        assert_identical(resumed[seed], uninterrupted[seed])
