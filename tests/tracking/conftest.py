"""A throw-away hydroprobe project on real Salmon data, small enough to train in seconds."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml

from hydroprobe.cli.main import main

TINY = {
    "model": {"type": "lstm", "hidden_size": 4},
    "train": {"window": 30, "max_epochs": 2, "replicates": 3, "patience": 30, "threads": 1,
              "batch_size": 256, "learning_rate": 0.005, "min_updates": 0},  # budgets of 2 epochs, as asked
}
TINY_SPLITS = {
    "train": ["1984-01-01", "1986-12-31"],
    "validation": ["1987-01-01", "1987-12-31"],
    "test": ["1988-01-01", "1988-12-31"],
}


def make_project(folder: Path, shared_data: Path, params: dict, **overrides) -> Path:
    """Write params.yaml for a tiny project reading the real data in place."""
    folder.mkdir(parents=True, exist_ok=True)
    config = copy.deepcopy(params)
    config["data"]["raw_dir"] = str(shared_data)
    config["basins"]["salmon_river"]["splits"] = TINY_SPLITS
    for section, values in TINY.items():
        config[section] = {**config.get(section, {}), **values}
    for key, value in overrides.items():
        section, name = key.split(".")
        config[section][name] = value
    (folder / "params.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder


@pytest.fixture(scope="module")
def trained_project(tmp_path_factory, shared_data, params):
    """prepare → normalize → train → register → promote, run once for the module."""
    root = make_project(tmp_path_factory.mktemp("project"), shared_data, params)
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        for command in ("prepare", "normalize", "train", "register", "promote"):
            assert main([command]) == 0, command
    torch.set_num_threads(threads)
    return root


@pytest.fixture(autouse=True)
def _project_store(monkeypatch):
    """The project's own store (under the tmp project), never a user's tracking server."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture
def in_project(trained_project, monkeypatch):
    monkeypatch.chdir(trained_project)
    return trained_project
