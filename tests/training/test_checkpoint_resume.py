"""A run stopped mid-training resumes from its checkpoint to the uninterrupted run's numbers, bit for bit.

Real Salmon River data cut to 1960-12 … 1962-03, window 30, hidden 4, three
seeds, a checkpoint after every epoch (``checkpoint_minutes`` so small that
every epoch boundary is due). The stop is an exception raised from the epoch
callback, which leaves the latest checkpoint on disk exactly as a kill would;
the subprocess ``kill -9`` test is in tests/tracking/test_killed_run.py.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch

from hydroprobe.data.dataset import BasinDataset, normalize, write_prepared
from hydroprobe.training import sequence as engine_module  # the sequential engine picks its trainer there
from hydroprobe.training.checkpoint import Checkpoints, seeds_label
from hydroprobe.training.config import ModelConfig, TrainConfig, config_hash
from hydroprobe.training.ensemble import train_ensemble
from hydroprobe.training.replicates import train_replicates
from hydroprobe.training.trainer import checkpoint_name, train_replicate
from tests.training.conftest import TRAIN, VALIDATION

SEEDS = [0, 1, 2]
ARCHITECTURE = {"type": "lstm", "n_inputs": 2, "hidden_size": 4}
CPU = torch.device("cpu")
EVERY_EPOCH = 1e-9  # minutes: every epoch boundary is due
# patience 2 with lr 0.05 stops some seeds early, so the group shrinks before the stop
CONFIG = TrainConfig(window=30, batch_size=64, learning_rate=0.05, max_epochs=8, patience=2,
                     checkpoint_minutes=EVERY_EPOCH)


class Stop(Exception):
    """Raised from an epoch callback: the process 'dies' with its checkpoint on disk."""


def ensemble(cut, seeds, checkpoints=None, on_epoch=None, on_start=None) -> dict:
    series, train_days, validation_days = cut
    results = train_ensemble(ARCHITECTURE, series, train_days, validation_days, CONFIG, seeds, CPU,
                             on_epoch, checkpoints=checkpoints, on_start=on_start)
    return {r.seed: r for r in results}


def stop_at(epoch_to_stop: int):
    def on_epoch(seed, epoch, *losses):
        if epoch == epoch_to_stop:
            raise Stop

    return on_epoch


def assert_identical(actual, expected) -> None:
    assert actual.train_loss == expected.train_loss  # exact float equality: bit for bit
    assert actual.validation_loss == expected.validation_loss
    assert actual.best_epoch == expected.best_epoch
    assert actual.state_dict.keys() == expected.state_dict.keys()
    for key, value in expected.state_dict.items():
        assert torch.equal(actual.state_dict[key], value), key


def test_ensemble_resumes_bit_for_bit(cut, tmp_path):
    uninterrupted = ensemble(cut, SEEDS)
    stopped_early = [s for s, r in uninterrupted.items() if r.epochs_run < CONFIG.max_epochs]
    assert stopped_early, "the config must make the group shrink before the stop to test that path"
    stop = max(r.epochs_run for r in uninterrupted.values())  # the last epoch: the longest seed is active
    checkpoints = Checkpoints(tmp_path, CONFIG.checkpoint_minutes)
    finished = {}
    with pytest.raises(Stop):
        for result in train_ensemble(ARCHITECTURE, *cut, CONFIG, SEEDS, CPU, stop_at(stop),
                                     checkpoints=checkpoints):
            finished[result.seed] = result  # what the cache would hold
    saved = torch.load(checkpoints.path(f"ensemble_{seeds_label(SEEDS)}"), weights_only=True)
    assert saved["epoch"] == stop - 1
    assert sorted(r["seed"] for r in saved["replicates"]) == sorted(set(SEEDS) - set(finished))

    started = []
    resumed = ensemble(cut, sorted(set(SEEDS) - set(finished)), checkpoints,
                       on_start=lambda seed, epoch: started.append((seed, epoch)))
    assert started and all(epoch == stop - 1 for _, epoch in started)
    for seed, result in {**finished, **resumed}.items():
        assert_identical(result, uninterrupted[seed])
    assert not list(tmp_path.glob("checkpoint_*")), "a finished group leaves no checkpoint"


def test_checkpointed_group_runs_whole_when_a_member_is_not_asked_for(cut, tmp_path):
    """Seed 0 no longer wanted (e.g. cached): it is trained silently so 1 and 2 keep their numbers."""
    uninterrupted = ensemble(cut, SEEDS)
    checkpoints = Checkpoints(tmp_path, CONFIG.checkpoint_minutes)
    with pytest.raises(Stop):
        ensemble(cut, SEEDS, checkpoints, stop_at(2))
    heard = []
    resumed = ensemble(cut, [1, 2], checkpoints, on_epoch=lambda seed, *rest: heard.append(seed))
    assert sorted(resumed) == [1, 2] and set(heard) == {1, 2}
    for seed in (1, 2):
        assert_identical(resumed[seed], uninterrupted[seed])


def test_sequential_resumes_bit_for_bit(cut, tmp_path):
    series, train_days, validation_days = cut
    uninterrupted = train_replicate(ARCHITECTURE, series, train_days, validation_days, CONFIG, 1, CPU)
    checkpoints = Checkpoints(tmp_path, CONFIG.checkpoint_minutes)

    def stop(epoch, *losses):
        if epoch == 3:
            raise Stop

    with pytest.raises(Stop):
        train_replicate(ARCHITECTURE, series, train_days, validation_days, CONFIG, 1, CPU, stop,
                        checkpoints=checkpoints)
    saved = checkpoints.load(checkpoint_name(1))
    assert saved["epoch"] == 2
    resumed = train_replicate(ARCHITECTURE, series, train_days, validation_days, CONFIG, 1, CPU,
                              checkpoints=checkpoints, resume=saved)
    assert_identical(resumed, uninterrupted)


def test_checkpoint_minutes_changes_no_result():
    """Only *when* state is saved depends on it, so it must not split the replicate cache."""
    fast, off = (TrainConfig(checkpoint_minutes=m) for m in (0.5, 0.0))
    assert config_hash(ModelConfig(), fast, "data") == config_hash(ModelConfig(), off, "data")


def test_checkpointing_off_writes_nothing(cut, tmp_path):
    checkpoints = Checkpoints(tmp_path, 0)
    with pytest.raises(Stop):
        ensemble(cut, SEEDS, checkpoints, stop_at(3))
    assert not list(tmp_path.iterdir())


class Recorder:
    """A ReplicateObserver that remembers who started and from which epoch."""

    def __init__(self):
        self.started = {}

    def replicate_started(self, seed, reused, resumed_epoch=0):
        self.started[seed] = "reused" if reused else resumed_epoch

    def epoch_finished(self, seed, epoch, train_loss, validation_loss):
        pass

    def replicate_finished(self, outcome):
        pass


def test_sequential_engine_resumes_through_train_replicates(salmon, tmp_path, monkeypatch):
    """Seed 0 finished (cached), seed 1 stopped at epoch 3: the rerun reuses 0 and resumes 1."""
    frame = salmon.frame.loc["1960-12-01":"1962-06-30"]
    splits = {"train": TRAIN, "validation": VALIDATION,
              "test": (pd.Timestamp("1962-04-01"), pd.Timestamp("1962-06-30"))}
    write_prepared(dataclasses.replace(salmon, frame=frame), splits, tmp_path / "basin")
    normalize(tmp_path / "basin")
    dataset = BasinDataset.load(tmp_path / "basin")
    config = dataclasses.replace(CONFIG, engine="sequential", replicates=2, patience=30, max_epochs=5)
    model = ModelConfig(hidden_size=4)
    reference = train_replicates(dataset, model, config, tmp_path / "reference", CPU)
    real = engine_module.train_replicate

    def stop_seed_one_at_epoch_three(*args, **kwargs):
        def on_epoch(epoch, *losses):
            if epoch == 3:
                raise Stop

        if args[5] == 1:  # the seed; args[7] is the epoch callback
            args = (*args[:7], on_epoch)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine_module, "train_replicate", stop_seed_one_at_epoch_three)
    with pytest.raises(Stop):
        train_replicates(dataset, model, config, tmp_path / "cache", CPU)
    monkeypatch.setattr(engine_module, "train_replicate", real)
    observer = Recorder()
    outcome = train_replicates(dataset, model, config, tmp_path / "cache", CPU, observer)
    assert observer.started == {0: "reused", 1: 2}
    for actual, expected in zip(outcome.replicates, reference.replicates, strict=True):
        assert_identical(actual.result, expected.result)
        assert actual.metrics == expected.metrics
    assert not list((tmp_path / "cache").rglob("checkpoint_*"))
