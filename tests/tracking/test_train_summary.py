"""``TrainSummary`` reads a train stage's ``metrics/train.json`` exactly as it was written.

The file is the one ``hydroprobe train`` writes in the tiny project on real Salmon data.
"""

from __future__ import annotations

import json
import math

import pytest

from hydroprobe.probes.compare.summaries import Convergence, TrainSummary, finite


@pytest.fixture
def written(in_project) -> dict:
    return json.loads((in_project / "models/lstm/metrics/train.json").read_text())


def test_every_number_is_the_files_own(written: dict) -> None:
    summary = TrainSummary.from_json(written)
    for split in ("train", "validation", "test"):
        for score in ("nse", "kge"):
            assert summary.score(split, score) == written["selected"][split][score]
            assert summary.spread(split, score) == {key: written["distribution"][split][score][key]
                                                    for key in ("median", "p05", "p95")}
        assert summary.ensemble_score(split) == written["ensemble"][split]["nse"]
    assert summary.members == written["ensemble"]["members"] == len(written["ensemble"]["seeds"])
    block = written["convergence"]
    assert summary.convergence == Convergence(block["selected"]["converged"], block["selected"]["best"],
                                              block["budget"], block["unit"], block.get("train_further"))


def test_missing_blocks_are_none_not_zero() -> None:
    """An imported model's skill file: selected scores only, no replicates, no convergence."""
    summary = TrainSummary.from_json({"selected": {"test": {"nse": 0.7, "kge": float("nan")}}})
    assert summary.score("test") == 0.7
    assert summary.score("test", "kge") is None and summary.score("validation") is None
    assert summary.spread("test") == {"median": None, "p05": None, "p95": None}
    assert summary.ensemble_score("test") is None and not summary.has_ensemble
    assert summary.convergence is None and summary.members is None
    assert [finite(v) for v in (None, True, "x", math.inf, "0.5", 2)] == [None, None, None, None, 0.5, 2.0]
    assert json.dumps(TrainSummary().spread("test")) == '{"median": null, "p05": null, "p95": null}'
