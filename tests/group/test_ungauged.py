"""Prediction in ungauged basins on 3 real Caravan basins: k-fold over basins, nothing held out leaks.

Each basin must be predicted once, by a model whose scalers and weights never
saw its discharge; its scores must be the project's metrics of exactly the
predictions returned.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from hydroprobe.data.basin import DISCHARGE
from hydroprobe.data.regional import RegionalData, hold_out
from hydroprobe.data.summary import discharge_mm_per_day
from hydroprobe.errors import DataError
from hydroprobe.training import metrics
from hydroprobe.training.ungauged import basin_folds, predict_ungauged
from tests.group.test_regional import TINY_MODEL, TINY_TRAIN, data, specs  # noqa: F401  (fixtures)


def test_folds_deal_basins_round_robin_and_refuse_impossible_counts() -> None:
    assert basin_folds(["a", "b", "c", "d", "e"], 2) == [["a", "c", "e"], ["b", "d"]]
    with pytest.raises(ValueError, match="group.ungauged_folds must be between 2 and the group's 3 basins"):
        basin_folds(["a", "b", "c"], 4)


def test_the_held_out_basins_discharge_never_reaches_the_scalers(data) -> None:  # noqa: F811
    held = data.basin_ids[0]
    training, ungauged = hold_out(data, [held])
    start, end = data.splits["train"]
    others = [discharge_mm_per_day(data.series[b].frame[DISCHARGE], data.series[b].meta.area_km2)
              .loc[start:end] for b in data.basin_ids[1:]]
    assert training.scaler.maximum[DISCHARGE] == pd.concat(others).max()  # max over the training basins only
    assert training.basin_ids == data.basin_ids[1:] and ungauged.basin_ids == [held]
    assert ungauged.scaler is training.scaler and ungauged.static is training.static
    # z-scores over the two training basins: the held-out basin's attribute is not part of the mean
    name = training.static.names[0]
    by_hand = np.mean([data.static_raw[b][name] for b in data.basin_ids[1:]])
    assert training.static.mean[name] == pytest.approx(by_hand)
    with pytest.raises(DataError, match="hold out at least one and at most all but one"):
        hold_out(data, data.basin_ids)


def test_every_basin_is_predicted_once_by_a_model_that_never_saw_it(data, tmp_path) -> None:  # noqa: F811
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = predict_ungauged(data, TINY_MODEL, TINY_TRAIN, 3, tmp_path, torch.device("cpu"))
    finally:
        torch.set_num_threads(threads)
    assert list(result) == data.basin_ids
    assert sorted(r.fold for r in result.values()) == [0, 1, 2]
    for basin_id, basin in result.items():
        assert basin_id not in basin.trained_on and len(basin.trained_on) == 2
        test = basin.predictions["test"]
        observed = data.series[basin_id].frame[DISCHARGE].to_numpy()[test["days"]]
        np.testing.assert_array_equal(test["observed"], observed)
        assert np.isfinite(test["simulated"]).all()
        for split, scores in basin.metrics.items():
            p = basin.predictions[split]
            assert scores["nse"] == metrics.nse(p["observed"], p["simulated"]), (basin_id, split)


def test_a_held_out_discharge_changes_its_scores_and_not_its_predictions(data, tmp_path) -> None:  # noqa: F811
    """Change one basin's observed discharge: its predictions stay identical to the bit; its scores move."""
    changed = data.basin_ids[0]
    series = data.series[changed]
    frame = series.frame.copy()
    frame[DISCHARGE] = frame[DISCHARGE] * 2.0 + 1.0
    replaced = {**data.series, changed: dataclasses.replace(series, frame=frame)}
    other = RegionalData(data.group_id, replaced, data.static_raw, data.splits, data.scaler, data.static,
                         data.fingerprint + ":changed")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        before = predict_ungauged(data, TINY_MODEL, TINY_TRAIN, 3, tmp_path / "a", torch.device("cpu"))
        after = predict_ungauged(other, TINY_MODEL, TINY_TRAIN, 3, tmp_path / "b", torch.device("cpu"))
    finally:
        torch.set_num_threads(threads)
    for split in ("train", "validation", "test"):
        np.testing.assert_array_equal(after[changed].predictions[split]["simulated"],
                                      before[changed].predictions[split]["simulated"])
        np.testing.assert_array_equal(after[changed].predictions[split]["observed"],
                                      before[changed].predictions[split]["observed"] * 2.0 + 1.0)
        assert after[changed].metrics[split]["nse"] != before[changed].metrics[split]["nse"]
    # the other basins' models trained on the changed discharge: theirs may move, the held-out one's may not
    assert after[changed].trained_on == before[changed].trained_on
