"""``benchmarks/group_evaluation_modes.py`` on a trained 3-basin group: tiles agree with training's record."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hydroprobe.cli.main import main
from tests.group.conftest import make_group_project

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "group_evaluation_modes.py"


def test_tiles_reproduce_the_training_record_and_one_pass_is_scored_beside_them(
    tmp_path, shared_data, params, monkeypatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = make_group_project(tmp_path / "p", shared_data, params,
                              models={"regional_lstm": {"model": {"type": "regional_lstm"}},
                                      "regional_mclstm": {"model": {"type": "regional_mclstm"}}})
    monkeypatch.chdir(root)
    threads = torch.get_num_threads()
    try:
        assert main(["group", "train"]) == 0
        spec = importlib.util.spec_from_file_location("group_evaluation_modes", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        result = module.compare(root)
    finally:
        torch.set_num_threads(threads)
    trained = json.loads((root / "outputs/camels_snow/group_train.json").read_text())
    assert result["regional_lstm"]["used_in_the_study"] == "tiles"
    assert result["regional_mclstm"]["used_in_the_study"] == "one_pass"
    for key, row in result.items():
        model = trained["models"][key]
        if model["promotion"]["champion_version"] == model["registered"]["ensemble"]["version"]:
            scores = model["ensemble"]["metrics"]  # the replicate ensemble validated better
        else:
            scores = next(r for r in model["replicates"] if r["seed"] == model["best_seed"])["metrics"]
        for basin_id, basin in row["basins"].items():
            # the simulator's tiles are the training evaluation's tiles: the same test NSE
            assert basin["test_nse_tiles"] == pytest.approx(scores[basin_id]["test"]["nse"], abs=1e-6)
            assert np.isfinite(basin["test_nse_one_pass"]) and basin["max_abs_difference_m3s"] >= 0
        assert row["median_test_nse_tiles"] == pytest.approx(
            float(np.median([b["test_nse_tiles"] for b in row["basins"].values()])))
