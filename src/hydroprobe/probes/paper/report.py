"""The paper-cases section of the probe report: figures and a paper-vs-this-run table.

Every headline number appears as the paper reported it for the Ishikari River
(§3–4) beside this run's champion and the median and 5–95 % range
over replicates. Image links are relative to the fragment's own folder;
:mod:`hydroprobe.probes.assemble` rewrites them for the assembled report.
"""

from __future__ import annotations

import os
from pathlib import Path

from hydroprobe.probes.paper.ensemble import ensemble_lines
from hydroprobe.probes.water_balance import TERMS

#: Ishikari River numbers from the paper (§2.4, §3.1, §3.2, §4).
PAPER = {
    "melt_flow": 1100.0,
    "case1_peak": 558.0,
    "sinusoid_range": "0.2–0.9",
    "shift": "±0.05 (±2.08 °C)",
    "accumulation_precipitation": 3.31,
    "runoff_ratio": 0.87,
    "mass_recovered_range": "17–39 %",
    # levels 0.01 … 0.05 normalised (1.01 … 5.06 mm/d ≈ 0.3 … 1.5 × the observed 3.31 mm/d)
    "level_peaks": (663.1, 881.3, 1184.6, 1129.4, None),
    "level_increase": (0.35, 1.12, 2.43, 2.67, 2.83),
    "level_added": (2.08, 4.16, 6.24, 8.32, 10.40),
}


def _fmt(value: object, style: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return format(value, style)


def _row(label: str, paper: object, node: dict, style: str) -> str:
    """A table row from a spread leaf ``{"champion", "median", "p05", "p95"}``."""
    band = f"{_fmt(node['p05'], style)} – {_fmt(node['p95'], style)}" if node.get("p05") is not None else "—"
    return (
        f"| {label} | {_fmt(paper, style)} | {_fmt(node['champion'], style)} "
        f"| {_fmt(node.get('median'), style)} | {band} |"
    )


def _fixed(label: str, paper: object, value: object, style: str) -> str:
    return f"| {label} | {_fmt(paper, style)} | {_fmt(value, style)} | — | — |"


def paper_table(result: dict) -> list[str]:
    observed, case1, case2 = result["observed"], result["case1"], result["case2"]
    sinusoid = observed["temperature_sinusoid"]
    effects = case1["shift_effects"]
    lines = [
        "| Quantity | Paper (Ishikari) | Champion | Replicate median | Replicate 5–95 % |",
        "|---|---|---|---|---|",
        _fixed(
            "Observed melt-season flow excl. peaks (m³/s)",
            PAPER["melt_flow"],
            observed["melt_flow_excluding_peaks_m3s"],
            ",.0f",
        ),
        _fixed(
            "Temperature sinusoid, normalised range",
            PAPER["sinusoid_range"],
            f"{sinusoid['min_normalized']:.2f}–{sinusoid['max_normalized']:.2f}",
            "",
        ),
        _fixed(
            "Temperature shift",
            PAPER["shift"],
            f"±{result['settings']['temperature_shift']:g} (±{observed['temperature_shift_c']:.2f} °C)",
            "",
        ),
        _row(
            "Case 1 peak, observed climatology, P = 0 (m³/s)",
            PAPER["case1_peak"],
            case1["observed_climatology"]["peak_flow_m3s"],
            ",.1f",
        ),
        _row(
            "Case 1 peak / observed melt flow",
            PAPER["case1_peak"] / PAPER["melt_flow"],
            case1["observed_climatology"]["peak_fraction_of_observed_melt_flow"],
            ".2f",
        ),
        _row("Case 1 peak day of year, sinusoid", "spring", case1["sinusoid"]["peak_day_of_year"], ".0f"),
        _row(
            "Case 1 winter low flow, sinusoid (m³/s)", None, case1["sinusoid"]["winter_low_flow_m3s"], ",.1f"
        ),
        _row(
            "Warmer: winter low-flow change (m³/s)",
            "increase",
            effects["warmer_winter_low_flow_change_m3s"],
            "+,.1f",
        ),
        _row("Warmer: peak change (m³/s)", "decrease", effects["warmer_peak_flow_change_m3s"], "+,.1f"),
        _row(
            "Colder: winter low-flow change (m³/s)",
            "decrease",
            effects["colder_winter_low_flow_change_m3s"],
            "+,.1f",
        ),
        _row("Colder: peak change (m³/s)", "increase", effects["colder_peak_flow_change_m3s"], "+,.1f"),
        _fixed(
            "Observed accumulation-season precipitation (mm/d)",
            PAPER["accumulation_precipitation"],
            observed["accumulation_precipitation_mm_d"],
            ".2f",
        ),
    ]
    levels = [key for key in result["levels"] if result["levels"][key]["value"] > 0]
    paper_aligned = len(levels) == len(PAPER["level_peaks"])
    for i, key in enumerate(levels):
        level, entry = result["levels"][key], case2[key]
        name = f"level {level['value']:g} ({level['precipitation_mm_d']:.2f} mm/d)"
        paper = {
            k: (PAPER[k][i] if paper_aligned else None)
            for k in ("level_peaks", "level_increase", "level_added")
        }
        ratio = paper["level_increase"] / paper["level_added"] if paper_aligned else None
        lines += [
            _row(
                f"Case 2 melt peak, {name} (m³/s)", paper["level_peaks"], entry["melt_peak_flow_m3s"], ",.1f"
            ),
            _row(
                f"Case 2 annual flow increase, {name} (km³)",
                paper["level_increase"],
                entry["volume_increase_km3"],
                ".3f",
            ),
            _row(
                f"Case 2 added precipitation, {name} (km³)",
                paper["level_added"],
                entry["added_precipitation_km3"],
                ".3f",
            ),
            _row(f"Case 2 mass recovered, {name}", ratio, entry["mass_recovered"], ".0%"),
        ]
    monotonic = case2["peak_grows_monotonically"]
    share = monotonic["fraction_true"]
    lines += [
        f"| Case 2 melt peak grows with every level | no | {'yes' if monotonic['champion'] else 'no'} "
        f"| {_fmt(share, '.0%')} of replicates | — |",
        _row("Case 2 mass recovered, smallest over levels", 0.17, case2["mass_recovered_min"], ".0%"),
        _row("Case 2 mass recovered, largest over levels", 0.39, case2["mass_recovered_max"], ".0%"),
        _fixed(
            "Observed runoff ratio, training period", PAPER["runoff_ratio"], observed["runoff_ratio"], ".0%"
        ),
    ]
    return lines


def _balance_cell(node: dict) -> str:
    """``champion (replicate median)`` in mm; n/a for a term the model cannot report."""
    champion, median = node["champion"], node.get("median")
    if champion is None:
        return "n/a"
    return f"{champion:+.0f}" + (f" ({median:+.0f})" if median is not None else "")


def balance_table(result: dict) -> list[str]:
    """Level × {added, flow, ET, storage change, residual} of the added water, mm per year."""
    case2 = result["case2"]
    levels = [key for key in result["levels"] if "water_balance" in case2.get(key, {})]
    lines = [
        "| Level | Added (mm) | Flow (mm) | ET (mm) | Δ storage (mm) | Residual (mm) |",
        "|---|---|---|---|---|---|",
    ]
    for key in levels:
        balance = case2[key]["water_balance"]
        cells = [_balance_cell(balance[f"{term}_mm"]) for term in TERMS]
        lines.append(f"| {result['levels'][key]['value']:g} | " + " | ".join(cells) + " |")
    return lines


def fragment(result: dict, figures: dict[str, Path], relative_to: Path) -> str:
    def link(name: str) -> str:
        return Path(os.path.relpath(figures[name], relative_to)).as_posix()

    replicates = len(result["replicates"])
    settings = result["settings"]
    return "\n".join(
        [
            "## Paper cases: hypothetical inputs (Cases 1 and 2)",
            "",
            f"Basin `{result['basin']}`; champion `{result['champion']}` and {replicates} replicates. "
            "Lines are the champion, bands and ranges the 5–95 % spread over replicates. "
            f"Each scenario: {settings['years']} simulated years after a 365-day spin-up; "
            "365-day years (29 February dropped before averaging). Melt season "
            f"{'–'.join(settings['melt_season'])}, winter months {settings['winter_months']}, "
            f"accumulation window {'–'.join(settings['accumulation_season'])}; observed melt-season "
            f"flow excludes days above the {settings['peak_exclusion_percentile']:g}th percentile.",
            "",
            f"![Case 1: zero precipitation]({link('case1')})",
            "",
            f"![Case 2: constant snow-season precipitation]({link('case2')})",
            "",
            f"![Case 2: added precipitation vs flow returned]({link('case2_mass')})",
            "",
            *paper_table(result),
            "",
            *ensemble_lines(result),
            "Where the added water goes (added precipitation of each level minus level 0, per "
            "simulated year over the basin; champion, replicate median in parentheses). ET is the "
            "MC-LSTM's trash outflow and n/a for an LSTM, which keeps no water balance; residual = "
            "added − flow − ET − Δ storage (n/a terms as 0) is water made or lost without account.",
            "",
            f"![Case 2: balance of the added water]({link('case2_balance')})",
            "",
            *balance_table(result),
            "",
            "Paper levels are 0.01–0.05 normalised (1.01–5.06 mm/d, about 0.3–1.5 × the observed "
            "mean); paper values are matched to this run's levels by rank when there are five. "
            "Mass recovered = annual flow increase over the zero level / added precipitation volume; "
            "a mass-conserving model gives about the runoff ratio or more.",
            "",
        ]
    )


def write_fragment(result: dict, figures: dict[str, Path], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(fragment(result, figures, path.parent))
    return path
