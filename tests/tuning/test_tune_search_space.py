"""The ``tune`` section: defaults in the project's params.yaml, and every bad range named by key."""

from __future__ import annotations

import optuna
import pytest
from tune_helpers import HISTORY_DAYS

from hydroprobe.errors import ConfigError
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.tuning.search_space import (
    IntRange,
    apply_overrides,
    check_window_fits,
    parse_tune_config,
)
from hydroprobe.tuning.study import make_pruner


def test_project_tune_section_is_valid_and_off_by_default(params: dict) -> None:
    config = parse_tune_config(params["tune"])
    assert config.enabled is False
    assert config.hidden_size == IntRange(8, 256, log=True, enabled=True)
    assert config.window == IntRange(30, 730, log=False, enabled=True)
    assert config.learning_rate.enabled is False
    assert list(config.ranges()) == ["model.hidden_size", "train.window"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"window": {"low": 40, "high": 10}}, r"'tune\.window' has low \(40\) > high \(10\)"),
        ({"hidden_size": {"low": 0, "high": 8}}, r"'tune\.hidden_size\.low' must be >= 1 \(got 0\)"),
        (
            {"learning_rate": {"low": 0.1, "high": 0.01, "enabled": True}},
            r"'tune\.learning_rate' has low \(0\.1\) > high \(0\.01\)",
        ),
        ({"window": {"low": 10.5, "high": 40}}, r"'tune\.window\.low' = 10\.5 has the wrong type"),
        ({"window": {"low": 10, "high": 40, "hi": 50}}, r"unknown key 'tune\.window\.hi'"),
        ({"windw": {"low": 10, "high": 40}}, r"unknown key 'tune\.windw'"),
        ({"pruner": "asha"}, r"'tune\.pruner' must be one of \('median', 'hyperband', 'none'\)"),
        ({"seeds": 0}, r"'tune\.seeds' must be >= 1 \(got 0\)"),
        ({"n_trials": 0}, r"'tune\.n_trials' must be >= 1"),
        (
            {
                "hidden_size": {"low": 8, "high": 9, "enabled": False},
                "window": {"low": 10, "high": 40, "enabled": False},
            },
            r"'tune' enables no range",
        ),
    ],
)
def test_invalid_tune_section_stops_with_the_key_named(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_tune_config(values)


def test_window_longer_than_the_history_before_training_end_is_refused(dataset) -> None:
    fits = parse_tune_config({"window": {"low": 10, "high": HISTORY_DAYS}})
    check_window_fits(fits, dataset)
    too_long = parse_tune_config({"window": {"low": 10, "high": HISTORY_DAYS + 1}})
    with pytest.raises(ConfigError) as error:
        check_window_fits(too_long, dataset)
    assert str(error.value) == (
        f"params.yaml: 'tune.window.high' is {HISTORY_DAYS + 1} days but the record holds only "
        f"{HISTORY_DAYS} days up to the end of the training split (1987-12-31); lower it to at most "
        f"{HISTORY_DAYS}"
    )


def test_trial_values_override_only_their_keys() -> None:
    model, train = apply_overrides(
        ModelConfig(hidden_size=50),
        TrainConfig(window=365, batch_size=64, max_epochs=100, seed=7),
        {"model.hidden_size": 6, "train.window": 12, "train.learning_rate": 0.01},
        max_epochs=2,
    )
    assert model == ModelConfig(hidden_size=6)
    assert train == TrainConfig(window=12, batch_size=64, max_epochs=2, seed=7, learning_rate=0.01)


def test_seeds_of_a_trial_follow_train_seed() -> None:
    assert parse_tune_config({"seeds": 3}).seeds_for(TrainConfig(seed=5)) == [5, 6, 7]


def test_pruner_choice_and_step_budget() -> None:
    median = make_pruner(parse_tune_config({"pruner": "median", "startup_trials": 2, "warmup_epochs": 1}), 10)
    assert isinstance(median, optuna.pruners.MedianPruner)
    assert (median._n_startup_trials, median._n_warmup_steps) == (2, 1)
    hyperband = make_pruner(parse_tune_config({"pruner": "hyperband", "seeds": 2, "warmup_epochs": 3}), 10)
    assert isinstance(hyperband, optuna.pruners.HyperbandPruner)
    assert (hyperband._min_resource, hyperband._max_resource) == (3, 20)
    assert isinstance(make_pruner(parse_tune_config({"pruner": "none"}), 10), optuna.pruners.NopPruner)
