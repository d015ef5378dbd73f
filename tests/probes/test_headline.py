"""The headline a model shows in `dvc exp show` is read off its full metrics, not recomputed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hydroprobe.probes.compare.headline import HEADLINE_KEYS, headline
from hydroprobe.probes.compare.summaries import ClimateEntry, TrainSummary

REPO = Path(__file__).resolve().parents[2]
MODELS = [(label, kind, REPO / "models" / kind)
          for label, kind in (("LSTM", "lstm"), ("MC-LSTM", "mclstm"), ("GR4J-CemaNeige", "gr4jcn"))]


@pytest.mark.parametrize(("label", "kind", "base"), MODELS)
def test_headline_picks_the_committed_default_run_numbers(label: str, kind: str, base: Path) -> None:
    comparison = json.loads((REPO / "metrics/comparison.json").read_text())
    climate = json.loads((base / "metrics/probes_climate.json").read_text())
    train = json.loads((base / "metrics/train.json").read_text())
    numbers = headline(label, comparison, ClimateEntry.read(base, kind), TrainSummary.from_json(train))
    assert tuple(numbers) == HEADLINE_KEYS
    assert numbers["nse_ensemble"] == train["ensemble"]["test"]["nse"]
    model = comparison["per_model"][label]
    assert numbers["nse"] == model["skill"]["test"]["nse"]["selected"]
    assert numbers["recovered"] == model["case2"]["mass_recovered_mean"]
    values = climate["models"][kind]["rules"]["elasticity_in_observed_band"]["champion"]["values"]
    assert set(values) == {"pall0.8", "pall0.9", "pall1.1", "pall1.2"}
    assert numbers["elasticity"] == pytest.approx(np.mean(list(values.values())), rel=1e-12)
    assert all(isinstance(value, float) for value in numbers.values())


def test_headline_without_a_climate_probe_says_null() -> None:
    comparison = json.loads((REPO / "metrics/comparison.json").read_text())
    numbers = headline("LSTM", comparison, None, TrainSummary())
    assert numbers["elasticity"] is None and numbers["nse_ensemble"] is None
    assert numbers["nse"] == comparison["per_model"]["LSTM"]["skill"]["test"]["nse"]["selected"]
