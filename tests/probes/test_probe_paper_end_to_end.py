"""A tiny trained LSTM through the whole paper-probe stage: files, keys, figures, report."""

import dataclasses
import json
import re

import numpy as np
import pandas as pd
import pytest

from hydroprobe.probes.assemble import basin_report, combined_report
from hydroprobe.probes.hypothetical import Scenario, simulate_years
from hydroprobe.probes.paper import output_files, run_paper_probes

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HEADLINE = ("peak_flow_m3s", "peak_day_of_year", "peak_date", "winter_low_flow_m3s", "melt_season_volume_km3")


@pytest.fixture(scope="module")
def lstm_run(tiny_lstms, salmon_dataset, tmp_path_factory):
    from hydroprobe.probes.paper import ProbeSettings

    out = tmp_path_factory.mktemp("lstm")
    settings = ProbeSettings(years=1, accumulation_season=("10-15", "03-15"))
    result = run_paper_probes(tiny_lstms[0], tiny_lstms, salmon_dataset, settings, out)
    return result, out


def test_every_output_file_is_written(lstm_run):
    result, out = lstm_run
    paths = output_files(out)
    assert [p.relative_to(out).as_posix() for p in paths] == [
        "metrics/probes_paper.json",
        "plots/probes/case1.csv",
        "plots/probes/case2.csv",
        "reports/figures/probes_case1.png",
        "reports/figures/probes_case2.png",
        "reports/figures/probes_case2_mass.png",
        "reports/figures/probes_case2_balance.png",
        "reports/fragments/paper_cases.md",
    ]
    for path in paths:
        assert path.is_file(), path
    for path in paths[3:7]:
        content = path.read_bytes()
        assert content.startswith(PNG_MAGIC) and len(content) > 10_000
    assert json.loads(paths[0].read_text()) == result


def test_metrics_json_has_champion_and_replicate_spread(lstm_run):
    result, _ = lstm_run
    assert result["champion"] == "tiny-lstm-seed0"
    assert result["replicates"] == ["tiny-lstm-seed0", "tiny-lstm-seed1"]
    assert set(result) >= {"conventions", "settings", "observed", "inputs", "levels", "case1", "case2"}
    assert set(result["case1"]) == {
        "observed_climatology",
        "sinusoid",
        "sinusoid_warmer",
        "sinusoid_colder",
        "shift_effects",
    }
    peak = result["case1"]["observed_climatology"]["peak_flow_m3s"]
    assert set(peak) == {"champion", "median", "p05", "p95", "replicates"}
    assert peak["champion"] == peak["replicates"][0]
    assert peak["p05"] <= peak["median"] <= peak["p95"]
    for key in HEADLINE:
        assert key in result["case1"]["sinusoid"]
    level = result["case2"]["level_0p9"]
    assert set(level) == {
        "melt_peak_flow_m3s",
        "annual_volume_km3",
        "volume_increase_km3",
        "added_precipitation_km3",
        "mass_recovered",
        "water_balance",
    }
    balance = level["water_balance"]
    assert balance["et_mm"]["champion"] is None and balance["storage_change_mm"]["champion"] is None
    assert balance["added_km3"]["champion"] == pytest.approx(level["added_precipitation_km3"]["champion"])
    assert balance["flow_km3"]["champion"] == pytest.approx(level["volume_increase_km3"]["champion"])
    residual = balance["added_mm"]["champion"] - balance["flow_mm"]["champion"]
    assert balance["residual_mm"]["champion"] == pytest.approx(residual)
    assert "water_balance" not in result["case2"]["level_0"]
    ratio = level["volume_increase_km3"]["champion"] / level["added_precipitation_km3"]["champion"]
    assert level["mass_recovered"]["champion"] == pytest.approx(ratio)
    assert "mass_recovered" not in result["case2"]["level_0"]
    assert isinstance(result["case2"]["peak_grows_monotonically"]["champion"], bool)


def test_hydrograph_csvs_are_wide_tables_for_dvc_plots(lstm_run):
    _, out = lstm_run
    case1 = pd.read_csv(out / "plots/probes/case1.csv")
    assert len(case1) == 365
    assert list(case1.columns[:9]) == [
        "day",
        "year",
        "month_day",
        "observed_climatology_precipitation_mm_d",
        "observed_climatology_temperature_c",
        "observed_climatology_discharge_m3s",
        "observed_climatology_discharge_m3s_median",
        "observed_climatology_discharge_m3s_p05",
        "observed_climatology_discharge_m3s_p95",
    ]
    assert case1["sinusoid_discharge_m3s"].notna().all()
    assert (case1["sinusoid_precipitation_mm_d"] == 0).all()
    case2 = pd.read_csv(out / "plots/probes/case2.csv")
    champion = [c for c in case2 if c.endswith("_discharge_m3s")]
    assert champion == [f"level_{v}_discharge_m3s" for v in ("0", "0p3", "0p6", "0p9", "1p2", "1p5")]
    assert not any(
        "." in column for column in (*case1.columns, *case2.columns)
    )  # Vega-Lite reads '.' as nesting


def test_fragment_has_the_paper_table_and_working_figure_links(lstm_run):
    result, out = lstm_run
    fragment = out / "reports/fragments/paper_cases.md"
    text = fragment.read_text()
    assert "| Quantity | Paper (Ishikari) | Champion | Replicate median | Replicate 5–95 % |" in text
    assert "| Observed runoff ratio, training period | 87% |" in text
    mass = result["case2"]["level_0p3"]["mass_recovered"]
    assert f"| {mass['champion']:.0%} | {mass['median']:.0%} |" in text
    assert "| Level | Added (mm) | Flow (mm) | ET (mm) | Δ storage (mm) | Residual (mm) |" in text
    balance = result["case2"]["level_0p3"]["water_balance"]
    added, residual = balance["added_mm"], balance["residual_mm"]
    assert f"| 0.3 | {added['champion']:+.0f} ({added['median']:+.0f}) | " in text
    assert f"| n/a | n/a | {residual['champion']:+.0f} ({residual['median']:+.0f}) |" in text
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links == [
        "../figures/probes_case1.png",
        "../figures/probes_case2.png",
        "../figures/probes_case2_mass.png",
        "../figures/probes_case2_balance.png",
    ]
    for link in links:
        assert (fragment.parent / link).is_file()


def test_assembled_report_orders_fragments_and_rebases_links(lstm_run, tmp_path):
    _, out = lstm_run
    fragments = out / "reports/fragments"
    (fragments / "zz_notes.md").write_text("## Notes\n\nSee [the data](../../data/README.md).\n")
    (fragments / "climate.md").write_text("## Climate\n\n![warming](../figures/probes_case2.png)\n")
    report = basin_report(out, "Salmon River", "salmon_river", models=[])
    text = report.read_text()
    assert report == out / "reports/basins/salmon_river.md"
    assert text.startswith("# Salmon River\n")
    assert text.index("## Paper cases") < text.index("## Climate") < text.index("## Notes")
    # figures are copied beside the basin's snapshot, other links are rebased
    assert "](salmon_river/reports_figures_probes_case1.png)" in text
    assert (out / "reports/basins/salmon_river/reports_figures_probes_case2.png").read_bytes() == (
        out / "reports/figures/probes_case2.png"
    ).read_bytes()
    assert "](../../data/README.md)" in text
    for fragment in ("zz_notes.md", "climate.md"):
        (fragments / fragment).unlink()


def test_combined_report_has_a_section_per_basin(lstm_run):
    _, out = lstm_run
    basin_report(out, "Salmon River", "salmon_river", models=[])
    other = out / "reports/basins/matapedia.md"
    other.write_text("# Matapedia River\n\n## Training and accuracy\n\n![q](matapedia/q.png)\n")
    text = combined_report(out, out / "reports/probe_report.md", first="salmon_river").read_text()
    assert text.startswith("# Probe report\n")
    assert text.index("## Salmon River") < text.index("## Matapedia River")
    assert "### Training and accuracy" in text and "](basins/matapedia/q.png)" in text
    other.unlink()


def test_assembling_without_fragments_says_what_to_run(tmp_path):
    from hydroprobe.errors import DataError

    with pytest.raises(DataError, match="hydroprobe probe paper"):
        basin_report(tmp_path, "Nowhere", "nowhere", models=[])


def test_a_window_longer_than_a_year_gets_a_longer_spin_up(tiny_lstms):
    # the same tiny weights read a 400-day window: two spin-up years, and no NaN after them
    long = dataclasses.replace(tiny_lstms[1], window=400)
    scenario = Scenario("dry", np.zeros(365), np.linspace(-10.0, 15.0, 365))
    flow = simulate_years(long, scenario, years=1)
    assert flow.shape == (1, 365) and np.isfinite(flow).all()


def test_no_replicates_leaves_the_spread_empty(tiny_lstms, salmon_dataset, tmp_path):
    from hydroprobe.probes.paper import ProbeSettings

    settings = ProbeSettings(years=1, levels=(1.0,), accumulation_season=("10-15", "03-15"))
    result = run_paper_probes(tiny_lstms[1], [], salmon_dataset, settings, tmp_path)
    assert result["case1"]["sinusoid"]["peak_flow_m3s"]["median"] is None
    assert isinstance(result["case2"]["level_1"]["mass_recovered"]["champion"], float)
    assert "| — |" in (tmp_path / "reports/fragments/paper_cases.md").read_text()
