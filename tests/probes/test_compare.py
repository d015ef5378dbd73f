"""The three-model comparison on real LSTM outputs.

The LSTM's files are made here as the pipeline makes them: the paper probes
of two tiny LSTMs trained on the real Salmon record (metrics/probes_paper.json,
plots/probes/case1.csv) beside the repository's committed metrics/train.json
(the probe CSVs are DVC outputs, absent from a fresh clone). The conserving
references are derived from those same files in the test: their Case 2
balance is rewritten so that flow + ET + storage change = added water, and
their recovered fraction is set from the real observed runoff ratio, so
every expected number below is computed here from the inputs, not typed in.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hydroprobe.errors import DataError
from hydroprobe.layout import Layout
from hydroprobe.models.kinds import kind_of
from hydroprobe.probes.compare import (
    ModelInput,
    case1_hydrographs,
    case2_balance_bars,
    comparison_markdown,
    comparison_metrics,
    is_monotonic,
    load_model_input,
    monotonicity,
    write_comparison_figures,
)
from hydroprobe.probes.compare.metrics import CASE1_SCENARIO, RECOVERY_STEP
from hydroprobe.probes.compare.summaries import TrainSummary
from hydroprobe.probes.paper import ProbeSettings, run_paper_probes
from hydroprobe.probes.water_balance import TERMS

STATS = ("champion", "median", "p05", "p95")
COLUMN = f"{CASE1_SCENARIO}_discharge_m3s"


@pytest.fixture(scope="module")
def lstm_base(tiny_lstms, salmon_dataset, repo_root: Path, tmp_path_factory) -> Path:
    """The files ``compare`` reads for the model under test, written by the paper-probe stage's function."""
    base = tmp_path_factory.mktemp("lstm")
    settings = ProbeSettings(years=2, accumulation_season=("10-15", "03-15"))
    run_paper_probes(tiny_lstms[0], tiny_lstms, salmon_dataset, settings, base)
    shutil.copyfile(repo_root / "models/lstm/metrics/train.json", base / "metrics/train.json")
    return base


@pytest.fixture(scope="module")
def lstm(lstm_base: Path) -> ModelInput:
    return load_model_input(lstm_base, "LSTM", kind_of("lstm"))


def _conserving_paper(paper: dict, recovered_by_level: dict[str, float], et_fraction: float) -> dict:
    """The LSTM's probe metrics with each level's balance closed at ``recovered`` × added water.

    Flow = recovered × added; the rest splits into ET (``et_fraction``) and
    storage change; residual 0; ``mass_recovered`` and ``volume_increase_km3``
    follow from the flow, for the champion, every replicate and their spread.
    """
    paper = copy.deepcopy(paper)
    for key, recovered in recovered_by_level.items():
        entry = paper["case2"][key]
        balance = entry["water_balance"]
        for unit in ("mm", "km3"):
            added = balance[f"added_{unit}"]
            for stat in (*STATS, "replicates"):
                values = np.atleast_1d(np.asarray(added[stat], dtype=float))
                flow = recovered * values
                rest = values - flow
                parts = {
                    "flow": flow,
                    "et": et_fraction * rest,
                    "storage_change": (1 - et_fraction) * rest,
                    "residual": np.zeros_like(values),
                }
                for term, part in parts.items():
                    balance[f"{term}_{unit}"][stat] = (
                        part.tolist() if stat == "replicates" else float(part[0])
                    )
        for stat in (*STATS, "replicates"):
            flow = balance["flow_km3"][stat]
            entry["volume_increase_km3"][stat] = flow
            entry["mass_recovered"][stat] = [recovered] * len(flow) if stat == "replicates" else recovered
    return paper


def _single_run(paper: dict, train: TrainSummary) -> tuple[dict, TrainSummary]:
    """Drop every replicate spread, as for a conceptual model calibrated once."""

    def strip(node):
        if isinstance(node, dict):
            if "champion" in node and "median" in node:  # a numeric spread leaf
                return {**node, **dict.fromkeys(("median", "p05", "p95")), "replicates": []}
            return {key: strip(value) for key, value in node.items()}
        return node

    return strip(copy.deepcopy(paper)), dataclasses.replace(train, distribution={})


def _draining(frame: pd.DataFrame, factor: float) -> pd.DataFrame:
    """The real Case 1 frame with the last simulated year's discharge scaled by ``factor``."""
    frame = frame.copy()
    last = frame["year"] == frame["year"].max()
    columns = [c for c in frame if "_discharge_m3s" in c]
    frame.loc[last, columns] = frame.loc[last, columns] * factor
    return frame


@pytest.fixture(scope="module")
def models(lstm: ModelInput) -> list[ModelInput]:
    runoff = lstm.paper.raw["observed"]["runoff_ratio"]
    keys = lstm.paper.level_keys
    mclstm_paper = _conserving_paper(lstm.paper.raw, dict.fromkeys(keys, runoff), et_fraction=0.3)
    rising = {key: runoff * (1 + 0.1 * i) for i, key in enumerate(keys)}
    gr4j_paper, gr4j_train = _single_run(
        _conserving_paper(lstm.paper.raw, rising, et_fraction=0.8), lstm.train)
    gr4j_frame = _draining(lstm.case1, 0.25).drop(
        columns=[c for c in lstm.case1 if c.endswith(("_p05", "_p95"))]
    )
    return [
        lstm,
        ModelInput("MC-LSTM", "mclstm", True, lstm.train, mclstm_paper, _draining(lstm.case1, 0.5)),
        ModelInput("GR4J-CemaNeige", "gr4jcn", True, gr4j_train, gr4j_paper, gr4j_frame),
    ]


@pytest.fixture(scope="module")
def metrics(models: list[ModelInput]) -> dict:
    return comparison_metrics(models)


def test_loader_reads_the_committed_lstm_outputs(lstm: ModelInput, repo_root: Path, tmp_path: Path) -> None:
    assert (
        lstm.train.score("test")
        == json.loads((repo_root / "models/lstm/metrics/train.json").read_text())["selected"]["test"]["nse"]
    )
    assert "water_balance" in lstm.paper.raw["case2"]["level_0p3"]
    assert COLUMN in lstm.case1 and len(lstm.case1) % 365 == 0
    with pytest.raises(DataError, match=r"models/mclstm/metrics/train\.json"):
        load_model_input(Layout(tmp_path, "salmon_river", "mclstm").out_root, "MC-LSTM", kind_of("mclstm"))
    with pytest.raises(ValueError, match="contain no '.'"):
        ModelInput("v1.2", "lstm", False, {}, {}, lstm.case1)


def test_monotonicity_of_hand_made_lists() -> None:
    assert monotonicity([0.17, 0.21, 0.19, 0.38]) == "non-monotonic"
    assert not is_monotonic([0.17, 0.21, 0.19, 0.38])
    assert monotonicity([0.1, 0.2, 0.2, 0.3]) == "increasing"
    assert monotonicity([0.3, 0.2, 0.1]) == "decreasing"
    assert monotonicity([0.35, 0.35 + 1e-14, 0.35]) == "constant"
    assert is_monotonic([0.35, 0.35, 0.35])
    assert monotonicity([0.1, None, 0.3]) == "undefined"
    assert monotonicity([0.1]) == "undefined"


def test_relative_recovery_matches_hand_computed_ratios(models: list[ModelInput], metrics: dict) -> None:
    lstm, *references = models
    keys = lstm.paper.level_keys
    assert list(metrics["relative_recovery"]) == ["LSTM"]
    for reference in references:
        ratios = metrics["relative_recovery"]["LSTM"][reference.label]
        expected = [
            lstm.paper.raw["case2"][key]["mass_recovered"]["champion"]
            / reference.paper.raw["case2"][key]["mass_recovered"]["champion"]
            for key in keys
        ]
        assert [ratios["levels"][key]["champion"] for key in keys] == pytest.approx(expected, rel=1e-12)
        recovered = [
            (lstm.paper.raw["case2"][key]["mass_recovered"]["champion"],
             reference.paper.raw["case2"][key]["mass_recovered"]["champion"]) for key in keys
        ]
        overall = sum(m for m, _ in recovered) / sum(r for _, r in recovered)
        assert ratios["champion_all_levels"] == pytest.approx(overall, rel=1e-12)
    # the MC-LSTM-like reference has replicates: median over median
    mc = references[0]
    median = sum(lstm.paper.raw["case2"][k]["mass_recovered"]["median"] for k in keys) / sum(
        mc.paper.raw["case2"][k]["mass_recovered"]["median"] for k in keys
    )
    assert metrics["relative_recovery"]["LSTM"]["MC-LSTM"]["median_all_levels"] == pytest.approx(median)
    # the single-run reference has none
    assert metrics["relative_recovery"]["LSTM"]["GR4J-CemaNeige"]["median_all_levels"] is None
    runoff = lstm.paper.raw["observed"]["runoff_ratio"]
    over = metrics["per_model"]["LSTM"]["case2"]["recovered_over_runoff_ratio"]
    for key in keys:
        assert over[key] == pytest.approx(lstm.paper.raw["case2"][key]["mass_recovered"]["champion"] / runoff)


def test_case2_balance_shares_and_trends(models: list[ModelInput], metrics: dict) -> None:
    lstm = models[0]
    keys = lstm.paper.level_keys
    for model in models:
        summary = metrics["per_model"][model.label]["case2"]
        recovered = [model.paper.raw["case2"][k]["mass_recovered"]["champion"] for k in keys]
        assert summary["mass_recovered_trend"] == monotonicity(recovered, RECOVERY_STEP)
        assert summary["mass_recovered_mean"] == pytest.approx(np.mean(recovered))
        for key in keys:
            balance = model.paper.raw["case2"][key]["water_balance"]
            level = summary["levels"][key]
            for term in TERMS:
                for unit in ("mm", "km3"):
                    assert (
                        level["balance"][f"{term}_{unit}"]["champion"]
                        == balance[f"{term}_{unit}"]["champion"]
                    )
            added = balance["added_mm"]["champion"]
            residual = balance["residual_mm"]["champion"]
            assert level["residual_share"]["champion"] == pytest.approx(residual / added)
            et = balance["et_mm"]["champion"]
            assert level["et_share"]["champion"] == (None if et is None else pytest.approx(et / added))
    lstm_summary = metrics["per_model"]["LSTM"]["case2"]
    assert lstm_summary["share_means"]["et_share"] is None  # an LSTM reports no ET
    assert metrics["per_model"]["MC-LSTM"]["case2"]["mass_recovered_trend"] == "constant"
    assert metrics["per_model"]["GR4J-CemaNeige"]["case2"]["mass_recovered_trend"] == "increasing"
    assert metrics["per_model"]["MC-LSTM"]["case2"]["share_means"]["residual_share"] == pytest.approx(0.0)
    # share spread over replicates: the real LSTM's residual share per replicate
    level = lstm.paper.raw["case2"]["level_1p5"]["water_balance"]
    shares = np.divide(level["residual_mm"]["replicates"], level["added_mm"]["replicates"])
    assert lstm_summary["levels"]["level_1p5"]["residual_share"]["median"] == pytest.approx(np.median(shares))


def test_case1_peak_and_flow_from_nothing(models: list[ModelInput], metrics: dict) -> None:
    for model in models:
        case1 = metrics["per_model"][model.label]["case1"]
        node = model.paper.raw["case1"][CASE1_SCENARIO]
        assert case1["peak_flow_m3s"]["champion"] == node["peak_flow_m3s"]["champion"]
        frame = model.case1
        years = sorted(frame["year"].unique())
        volumes = [frame.loc[frame["year"] == y, COLUMN].sum() * 86_400 / 1e9 for y in years]
        assert case1["annual_volume_km3"] == pytest.approx(volumes)
        area = model.paper.raw["observed"]["area_km2"]
        assert case1["flow_from_nothing_mm"] == pytest.approx(volumes[-1] * 1e6 / area)
        # a ratio to a first year without positive flow is undefined (a tiny LSTM can even flow backwards)
        expected = volumes[-1] / volumes[0] if volumes[0] > 0 else None
        assert case1["last_over_first_year"] == (None if expected is None else pytest.approx(expected))
        assert case1["melt_season_volume_mm"]["champion"] == pytest.approx(
            node["melt_season_volume_km3"]["champion"] * 1e6 / area
        )
    # the stand-in MC-LSTM is the LSTM with its last year's flow halved
    lstm_last = metrics["per_model"]["LSTM"]["case1"]["flow_from_nothing_mm"]
    assert metrics["per_model"]["MC-LSTM"]["case1"]["flow_from_nothing_mm"] == pytest.approx(0.5 * lstm_last)
    lstm_ratio = metrics["per_model"]["LSTM"]["case1"]["last_over_first_year"]
    if lstm_ratio is not None:
        mclstm_ratio = metrics["per_model"]["MC-LSTM"]["case1"]["last_over_first_year"]
        assert mclstm_ratio == pytest.approx(0.5 * lstm_ratio)


def test_skill_and_json(models: list[ModelInput], metrics: dict, lstm_base: Path) -> None:
    train = json.loads((lstm_base / "metrics/train.json").read_text())  # as the train stage wrote it
    skill = metrics["per_model"]["LSTM"]["skill"]
    for split in ("train", "validation", "test"):
        for score in ("nse", "kge"):
            assert skill[split][score]["selected"] == train["selected"][split][score]
            assert skill[split][score]["median"] == train["distribution"][split][score]["median"]
    assert metrics["per_model"]["GR4J-CemaNeige"]["skill"]["test"]["nse"]["median"] is None
    text = json.dumps(metrics, allow_nan=False)
    assert json.loads(text)["models"] == ["LSTM", "MC-LSTM", "GR4J-CemaNeige"]
    assert metrics["observed"]["runoff_ratio"] == models[0].paper.raw["observed"]["runoff_ratio"]
    assert not any("." in key for key in _keys(metrics))  # DVC and MLflow flatten on dots


def _keys(node) -> list[str]:
    if not isinstance(node, dict):
        return []
    return [*node, *(k for value in node.values() for k in _keys(value))]


def test_markdown_states_the_computed_numbers(
    models: list[ModelInput], metrics: dict, tmp_path: Path
) -> None:
    figures = {
        "case2_balance": tmp_path / "figures" / "a.png",
        "case1_hydrographs": tmp_path / "figures" / "b.png",
    }
    text = comparison_markdown(metrics, figures, tmp_path / "fragments")
    assert text.startswith("## Three models side by side")
    assert "](../figures/a.png)" in text and "](../figures/b.png)" in text
    for reference in ("MC-LSTM", "GR4J-CemaNeige"):
        mean = metrics["relative_recovery"]["LSTM"][reference]["champion_all_levels"]
        assert f"{mean:.2f}× {reference}'s" in text
        assert f"| LSTM ÷ {reference} |" in text
    lstm = models[0]
    recovered_mean = np.mean(
        [lstm.paper.raw["case2"][k]["mass_recovered"]["champion"] for k in lstm.paper.level_keys]
    )
    assert f"(mean {recovered_mean:.0%})" in text
    assert f"observed runoff ratio of {lstm.paper.raw['observed']['runoff_ratio']:.0%}" in text
    peak = lstm.paper.raw["case1"][CASE1_SCENARIO]["peak_flow_m3s"]["champion"]
    assert f"peaks at {peak:,.1f} m³/s" in text
    flow = lstm.paper.raw["case2"]["level_1p5"]["water_balance"]["flow_mm"]
    assert f"{flow['champion']:+,.0f} [{flow['p05']:+,.0f}, {flow['p95']:+,.0f}]" in text
    flow_km3 = lstm.paper.raw["case2"]["level_1p5"]["water_balance"]["flow_km3"]["champion"]
    assert f"{flow_km3:+.3f}" in text

    two = comparison_markdown(comparison_metrics(models[:2]), {}, tmp_path)
    assert two.startswith("## Two models side by side") and "GR4J" not in two
    one = comparison_markdown(comparison_metrics(models[:1]), {}, tmp_path)
    assert "comparisons need references" in one
    no_reference = comparison_markdown(
        comparison_metrics(
            [
                models[0],
                models[0].__class__(
                    "LSTM-2", "lstm", False, models[0].train, models[0].paper, models[0].case1
                ),
            ]
        ),
        {},
        tmp_path,
    )
    assert "No conserving reference" in no_reference


def test_balance_bars_plot_the_champion_terms(models: list[ModelInput], tmp_path: Path) -> None:
    plotted = case2_balance_bars(models, tmp_path / "bars.png")
    assert plotted.path.stat().st_size > 0 and plotted.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    axes = plotted.figure.axes
    assert len(axes) == len(models)
    for ax, model in zip(axes, models, strict=True):
        keys = model.paper.level_keys
        assert plotted.values[model.label]["levels"] == keys
        drawn = {}
        for patch in ax.patches:
            drawn.setdefault(patch.get_gid(), []).append(patch.get_height())
        for term in ("flow", "et", "storage_change", "residual"):
            expected = [model.paper.raw["case2"][k]["water_balance"][f"{term}_mm"]["champion"] for k in keys]
            assert plotted.values[model.label][term] == expected
            if any(v is None for v in expected):
                assert term not in drawn  # unreported, so not drawn as zero
            else:
                assert drawn[term] == pytest.approx(expected)


def test_case1_hydrographs_share_one_axis(models: list[ModelInput], tmp_path: Path) -> None:
    plotted = case1_hydrographs(models, tmp_path / "case1.png")
    assert plotted.path.stat().st_size > 0
    (ax,) = plotted.figure.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    for model in models:
        assert np.array_equal(lines[model.label].get_ydata(), model.case1[COLUMN].to_numpy(dtype=float))
        has_band = f"{COLUMN}_p05" in model.case1
        assert ("p05" in plotted.values[model.label]) == has_band
    assert "p05" not in plotted.values["GR4J-CemaNeige"]
    melt = models[0].paper.raw["observed"]["melt_flow_excluding_peaks_m3s"]
    assert plotted.values["observed_melt_flow_m3s"]["value"] == melt
    written = write_comparison_figures(models, tmp_path / "figures")
    assert all(path.is_file() and path.stat().st_size > 0 for path in written.values())
    assert not math.isnan(lines["LSTM"].get_ydata().sum())


def test_recovery_steps_below_half_a_percentage_point_are_level() -> None:
    from hydroprobe.probes.compare.metrics import RECOVERY_STEP

    mclstm_like = [0.600, 0.606, 0.608, 0.609, 0.608]  # the Salmon MC-LSTM champion's Case 2 recovery
    assert monotonicity(mclstm_like) == "non-monotonic"
    assert monotonicity(mclstm_like, RECOVERY_STEP) == "increasing"
    assert monotonicity([0.30, 0.32, 0.29], RECOVERY_STEP) == "non-monotonic"


def test_the_verdict_says_which_numbers_are_provisional(models: list[ModelInput], salmon, tmp_path) -> None:
    """The MC-LSTM trained with a 2-epoch budget on the real record: the verdict names it, the command
    that trains it further, and (with a floor above its skill) that its probes describe a poor model."""
    import dataclasses

    import torch

    from hydroprobe.data.dataset import BasinDataset, normalize, write_prepared
    from hydroprobe.tracking.fits import FITS
    from hydroprobe.tracking.fits import budget as fit_budget
    from hydroprobe.training.config import ModelConfig, TrainConfig
    from hydroprobe.training.outputs import train_metrics
    from hydroprobe.training.replicates import train_replicates

    splits = {"train": (pd.Timestamp("1961-01-01"), pd.Timestamp("1961-10-31")),
              "validation": (pd.Timestamp("1961-11-01"), pd.Timestamp("1962-03-31")),
              "test": (pd.Timestamp("1962-04-01"), pd.Timestamp("1962-06-30"))}
    write_prepared(dataclasses.replace(salmon, frame=salmon.frame.loc["1960-12-01":"1962-06-30"]), splits,
                   tmp_path / "basin")
    normalize(tmp_path / "basin")
    outcome = train_replicates(
        BasinDataset.load(tmp_path / "basin"), ModelConfig(hidden_size=4),
        TrainConfig(window=30, batch_size=64, learning_rate=0.003, max_epochs=2, replicates=1),
        tmp_path / "cache", torch.device("cpu"),
    )
    assert outcome.best.result.best_epoch == 2  # still improving when the budget ran out
    budget = fit_budget(FITS["gradient"], 2, "models.mclstm.train.max_epochs")
    train = train_metrics(outcome, {"engine": "ensemble"}, budget)
    lstm, mclstm, gr4j = models
    short = ModelInput(mclstm.label, mclstm.kind, True, train, mclstm.paper, mclstm.case1)
    floor = train["selected"]["validation"]["nse"] + 0.01
    metrics = comparison_metrics([lstm, short, gr4j], skill_floor=floor)
    text = comparison_markdown(metrics, {}, tmp_path)
    caveat = text.split("**Caveats.** ", 1)[1].split("\n", 1)[0]
    assert ("MC-LSTM did not converge (best epoch 2 of 2): its skill and probe numbers below are "
            "provisional; train it further with `dvc exp run -S models.mclstm.train.max_epochs=4`."
            ) in caveat
    assert f"below the skill floor {floor:.2f}: its probe numbers describe a poor model" in caveat
    assert "| MC-LSTM | yes | **no** (2/2) |" in text
