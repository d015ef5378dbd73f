"""The objective on real Salmon data: the train protocol per trial, pruning and failures visible."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
import torch

from hydroprobe.training import metrics
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.replicates import simulate_physical, split_samples
from hydroprobe.training.trainer import train_replicate
from hydroprobe.tuning.objective import COMPLETE, FAIL, PRUNED, Objective
from hydroprobe.tuning.search_space import parse_tune_config
from hydroprobe.tuning.study import run_trials

CPU = torch.device("cpu")
MODEL = ModelConfig(hidden_size=4)
TRAIN = TrainConfig(window=20, max_epochs=50, threads=1, device="cpu", seed=3)
RANGES = {"hidden_size": {"low": 2, "high": 8, "log": True}, "window": {"low": 10, "high": 40}}


class Recorder:
    """A TrialObserver that keeps every event."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def trial_started(self, number, params):
        self.events.append(("started", number, dict(params)))

    def epoch_finished(self, number, seed, epoch, train_loss, validation_nse):
        self.events.append(("epoch", number, seed, epoch, validation_nse))

    def trial_finished(self, number, state, value, summary):
        self.events.append(("finished", number, state, value, dict(summary)))


class AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return True


def study_with(pruner=None) -> optuna.Study:
    sampler = optuna.samplers.TPESampler(seed=0)
    return optuna.create_study(
        direction="maximize", sampler=sampler, pruner=pruner or optuna.pruners.NopPruner()
    )


def test_small_study_trains_each_trial_with_the_train_protocol(dataset) -> None:
    tune = parse_tune_config({"max_epochs": 2, **RANGES})
    recorder = Recorder()
    study = study_with()
    run_trials(study, Objective(dataset, MODEL, TRAIN, tune, CPU, recorder), n_trials=3)

    trials = study.get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 3
    for trial in trials:
        assert 2 <= trial.params["model.hidden_size"] <= 8
        assert 10 <= trial.params["train.window"] <= 40
        assert sorted(trial.intermediate_values) == [1, 2]  # tune.max_epochs, one seed
        started = [e for e in recorder.events if e[0] == "started" and e[1] == trial.number]
        assert started == [("started", trial.number, trial.params)]
        epochs = [e[2:4] for e in recorder.events if e[0] == "epoch" and e[1] == trial.number]
        assert epochs == [(3, 1), (3, 2)]  # seed train.seed, epochs 1 and 2
        (finished,) = [e for e in recorder.events if e[0] == "finished" and e[1] == trial.number]
        assert finished[2:4] == (COMPLETE, trial.value)
        assert finished[4]["validation_nse"] == trial.value == trial.user_attrs["validation_nse_seed_3"]

    # The objective is what train_replicate + physical NSE give for the best trial's knobs.
    best = study.best_trial
    model = ModelConfig(hidden_size=best.params["model.hidden_size"])
    train = TrainConfig(window=best.params["train.window"], max_epochs=2, threads=1, device="cpu", seed=3)
    series = dataset.windowed(train.window)
    samples = split_samples(dataset, series)
    days = samples["validation"].days
    result = train_replicate(model.architecture(), series, samples["train"].days, days, train, 3, CPU)
    simulated = simulate_physical(model.architecture(), result.state_dict, dataset, series, days, 2048, CPU)
    assert best.value == pytest.approx(metrics.nse(dataset.observed(days), simulated), abs=1e-9)
    # The per-epoch NSE from the normalised MSE is the physical NSE (min-max scaling is affine).
    assert best.intermediate_values[result.best_epoch] == pytest.approx(best.value, abs=1e-4)


def test_seeds_per_trial_are_averaged_and_reported_seed_by_seed(dataset) -> None:
    tune = parse_tune_config({"max_epochs": 2, "seeds": 2, **RANGES})
    study = study_with()
    study.enqueue_trial({"model.hidden_size": 3, "train.window": 15})
    run_trials(study, Objective(dataset, MODEL, TRAIN, tune, CPU), n_trials=1)

    (trial,) = study.get_trials()
    per_seed = [trial.user_attrs["validation_nse_seed_3"], trial.user_attrs["validation_nse_seed_4"]]
    assert per_seed[0] != per_seed[1]
    assert trial.value == pytest.approx(np.mean(per_seed), abs=1e-12)
    assert sorted(trial.intermediate_values) == [1, 2, 3, 4]  # seed 4's epochs follow seed 3's


def test_pruned_trial_is_recorded_as_pruned(dataset) -> None:
    tune = parse_tune_config({"max_epochs": 2, **RANGES})
    recorder = Recorder()
    study = study_with(AlwaysPrune())
    run_trials(study, Objective(dataset, MODEL, TRAIN, tune, CPU, recorder), n_trials=1)

    (trial,) = study.get_trials()
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert list(trial.intermediate_values) == [1]
    assert [e[0] for e in recorder.events] == ["started", "epoch", "finished"]
    assert recorder.events[-1][2:4] == (PRUNED, None)


def test_failing_trial_is_recorded_as_failed_and_the_study_goes_on(dataset) -> None:
    tune = parse_tune_config({"window": {"low": 5000, "high": 5000}})  # longer than the whole record
    recorder = Recorder()
    study = study_with()
    run_trials(study, Objective(dataset, MODEL, TRAIN, tune, CPU, recorder), n_trials=2)

    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.FAIL] * 2
    assert [e[2] for e in recorder.events if e[0] == "finished"] == [FAIL, FAIL]
