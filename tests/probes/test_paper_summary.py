"""``PaperSummary`` reads a paper-probe stage's ``metrics/probes_paper.json`` exactly as it was written.

The file is the committed default run's (the Salmon LSTM, ``models/lstm/``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hydroprobe.probes.compare.paper_summary import PaperSummary, Spread

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def written() -> dict:
    return json.loads((REPO / "models/lstm/metrics/probes_paper.json").read_text())


def test_every_typed_field_is_the_files_own(written: dict) -> None:
    paper = PaperSummary.from_json(written)
    observed = written["observed"]
    assert (paper.basin, paper.runoff_ratio, paper.melt_flow_m3s, paper.area_km2) == (
        written["basin"], observed["runoff_ratio"], observed["melt_flow_excluding_peaks_m3s"],
        observed["area_km2"])
    # Case 2: the levels above zero, in the file's order, each leaf with every replicate
    above_zero = [key for key, level in written["levels"].items() if level["value"] > 0]
    assert paper.level_keys == above_zero and len(above_zero) == len(written["settings"]["levels"])
    for level in paper.levels:
        entry = written["case2"][level.key]
        assert level.value == written["levels"][level.key]["value"]
        recovered = entry["mass_recovered"]
        assert level.mass_recovered == Spread(*(recovered[k] for k in ("champion", "median", "p05", "p95")),
                                              tuple(recovered["replicates"]))
        assert level.term("flow_mm").champion == entry["water_balance"]["flow_mm"]["champion"]
        assert set(level.balance) == set(entry["water_balance"])
    node = written["case1"]["observed_climatology"]
    assert paper.case1["observed_climatology"]["peak_flow_m3s"].stats() == {
        key: node["peak_flow_m3s"][key] for key in ("champion", "median", "p05", "p95")}
    assert paper.case1["observed_climatology"]["peak_date"].champion == node["peak_date"]["champion"]
    peak = written["case2"]["peak_grows_monotonically"]
    assert (paper.peak_grows, paper.peak_grows_fraction) == (peak["champion"], peak["fraction_true"])
    assert paper.has_ensemble and paper.raw is written


def test_an_absent_leaf_is_none_never_zero(written: dict) -> None:
    """An LSTM has no ET or storage term; a model without replicates has no spread."""
    level = PaperSummary.from_json(written).levels[0]
    assert level.term("no_such_term_mm") == Spread()
    assert Spread().stats(scale=1e6) == dict.fromkeys(("champion", "median", "p05", "p95"))
    assert Spread.from_json({"champion": 2.0, "median": float("nan")}).stats(10) == {
        "champion": 20.0, "median": None, "p05": None, "p95": None}
