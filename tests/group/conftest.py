"""A throw-away project with a 3-basin group of real Caravan CAMELS snow basins, tiny enough for seconds."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

GAUGES = ["06224000", "09081600", "12175500"]
TINY_SPLITS = {
    "train": ["1990-10-01", "1993-09-30"],
    "validation": ["1993-10-01", "1994-09-30"],
    "test": ["1994-10-01", "1996-09-30"],
}


def make_group_project(folder: Path, shared_data: Path, params: dict, **group) -> Path:
    """params.yaml reading the real data in place, with the group cut to 3 basins and 6 years."""
    folder.mkdir(parents=True, exist_ok=True)
    config = copy.deepcopy(params)
    config["data"]["raw_dir"] = str(shared_data)
    config["groups"]["camels_snow"]["splits"] = TINY_SPLITS
    config["climate"].update({"bootstrap": 20, "spinup_days": 365, "temperature_shifts": [2],
                              "precipitation_scales": [0.9, 1.1], "accumulation_scales": [1.2],
                              "combinations": []})
    config["probes"]["years"] = 1
    config["group"] = {
        "enabled": True,
        "id": "camels_snow",
        "gauges": GAUGES,
        "single_basin_gauges": "same",
        "subject": "regional_lstm",
        "model": {"hidden_size": 4, "initial_forget_bias": 3, "standardize": True},
        "train": {"mode": "seq2seq", "window": 120, "loss_span": 60, "windows_per_epoch": 16,
                  "batch_size": 8, "max_epochs": 1, "patience": 1, "replicates": 2, "threads": 1,
                  "learning_rate": 0.01, "checkpoint_minutes": 0, "min_updates": 0},
        "models": {
            "regional_lstm": {"model": {"type": "regional_lstm"}},
            "regional_mclstm": {"model": {"type": "regional_mclstm"}},
            "lstm": {"model": {"type": "lstm"}, "train": {"replicates": 1}},
        },
        **group,
    }
    (folder / "params.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder
