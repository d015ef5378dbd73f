"""Faults and bad input: an interrupted training loses no finished replicate; bad params name the key."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

from hydroprobe.cli.main import main
from hydroprobe.tracking import store
from hydroprobe.training import sequence as engine_module  # the sequential engine picks its trainer there

from .conftest import make_project


def test_interrupted_training_is_killed_and_resumed(tmp_path, shared_data, params, monkeypatch):
    # the sequential engine trains one replicate at a time, so one can finish before the kill
    root = make_project(tmp_path / "p", shared_data, params, **{"train.engine": "sequential"})
    monkeypatch.chdir(root)
    assert main(["prepare"]) == 0 and main(["normalize"]) == 0
    real = engine_module.train_replicate

    def interrupt_on_seed_one(*args, **kwargs):
        if args[5] == 1:  # seed: replicate 0 has finished, replicate 1 is being trained
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(engine_module, "train_replicate", interrupt_on_seed_one)
    assert main(["train"]) == 130
    store.configure(root)
    runs = mlflow.search_runs(
        [mlflow.get_experiment_by_name("hydroprobe-salmon_river").experiment_id], output_format="list"
    )
    status = {r.data.tags.get("seed", "parent"): r.info.status for r in runs}
    assert status == {"parent": "KILLED", "0": "FINISHED", "1": "KILLED"}

    monkeypatch.setattr(engine_module, "train_replicate", real)
    assert main(["train"]) == 0
    table = pd.read_csv(root / "outputs/salmon_river/models/lstm/replicates.csv")
    assert table.set_index("seed")["reused"].to_dict() == {0: True, 1: False, 2: False}


def test_same_seed_same_metrics(tmp_path, shared_data, params, monkeypatch):
    tables = []
    for name in ("a", "b"):
        root = make_project(tmp_path / name, shared_data, params, **{"train.replicates": 1})
        monkeypatch.chdir(root)
        for command in ("prepare", "normalize", "train"):
            assert main([command]) == 0
        tables.append(pd.read_csv(root / "outputs/salmon_river/models/lstm/replicates.csv"))
    columns = [c for c in tables[0] if c.endswith(("_nse", "_rmse", "_kge", "_r"))]
    pd.testing.assert_frame_equal(tables[0][columns], tables[1][columns])


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("model.hidden_size", 0, "'model.hidden_size' must be >= 1"),
        ("train.patience", 0, "'train.patience' must be >= 1"),
        ("train.windw", 30, "unknown key 'train.windw'"),
        ("train.window", "long", "'train.window' = 'long' has the wrong type"),
        ("train.window", 40000, "window"),
    ],
)
def test_bad_params_stop_with_the_key_named(tmp_path, shared_data, params, monkeypatch, capsys,
                                            key, value, message):
    root = make_project(tmp_path / "p", shared_data, params, **{key: value})
    monkeypatch.chdir(root)
    assert main(["prepare"]) == 2
    assert message in capsys.readouterr().err
