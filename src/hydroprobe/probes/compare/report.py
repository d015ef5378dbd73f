"""The report section that puts the models side by side, written from :func:`comparison_metrics`.

Its sentences state the non-conserving models' Case 2 recovery relative to
the conserving references, computed from the metrics, because "17–39 %
recovered" means little until one knows what a model that cannot lose
water recovers from the same inputs. Image links are relative to
``relative_to`` (the fragment's folder), as in the other report fragments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from hydroprobe.probes.compare.caveats import caveats, converged_cell
from hydroprobe.probes.compare.metrics import BALANCE_TERMS, SCORES, SPLITS

NUMBER_WORDS = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six"}
CAPTIONS = {
    "case1_hydrographs": "Case 1, all models: zero precipitation, observed temperature climatology",
    "case2_balance": "Case 2, all models: where the added water goes",
}
ET_HEADERS = {"none": "ET", "trash": "trash", "ET": "ET"}


def heading(count: int) -> str:
    """``## Three models side by side`` (the number follows the models given)."""
    word = NUMBER_WORDS.get(count, str(count)) if count > 1 else ""
    return f"## {word} models side by side" if word else "## Models side by side"


def _fmt(value: float | None, style: str) -> str:
    if value is None:
        return "—"
    text = format(value, style)
    # a closed balance leaves a residual of -1e-13: "-0%" reads as a finding, "0%" does not
    return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text


def _cell(node: Mapping | None, style: str) -> str:
    """``champion (median) [p05 – p95]``, leaving out what is absent; n/a for an unreported term."""
    node = node or {}
    if node.get("champion") is None:
        return "n/a"
    text = format(node["champion"], style)
    if node.get("median") is not None:
        text += f" ({format(node['median'], style)})"
    if node.get("p05") is not None and node.get("p95") is not None:
        text += f" [{format(node['p05'], style)} – {format(node['p95'], style)}]"
    return text


def _band_cell(node: Mapping | None, style: str) -> str:
    """``champion [p05, p95]`` for the dense balance tables."""
    node = node or {}
    if node.get("champion") is None:
        return "n/a"
    text = format(node["champion"], style)
    if node.get("p05") is not None and node.get("p95") is not None:
        text += f" [{format(node['p05'], style)}, {format(node['p95'], style)}]"
    return text


def _level_name(metrics: Mapping, key: str) -> str:
    level = metrics["levels"].get(key, {})
    if level.get("value") is None:
        return key
    return f"{level['value']:g} ({_fmt(level.get('precipitation_mm_d'), '.2f')} mm/d)"


def skill_table(metrics: Mapping) -> list[str]:
    header = [f"{score.upper()} {split}" for score in SCORES for split in SPLITS]
    lines = ["| Model | Mass-conserving | Converged | " + " | ".join(header) + " |",
             "|---" * (len(header) + 3) + "|"]
    for label in metrics["models"]:
        model = metrics["per_model"][label]
        cells = []
        for score in SCORES:
            for split in SPLITS:
                node = model["skill"][split][score]
                cells.append(_cell({"champion": node["selected"], "median": node["median"]}, ".2f"))
        lines.append(f"| {label} | {'yes' if model['conserving'] else 'no'} | {converged_cell(model)} | "
                     + " | ".join(cells) + " |")
    return lines


def case1_table(metrics: Mapping) -> list[str]:
    lines = [
        "| Model | Peak (m³/s) | Peak date | Peak / observed melt flow | Winter low flow (m³/s) "
        "| Melt-season volume (mm/yr) | Last-year flow (mm) | Last / first year |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label in metrics["models"]:
        case1 = metrics["per_model"][label]["case1"]
        cells = [
            _cell(case1["peak_flow_m3s"], ",.1f"),
            case1["peak_date"] or "—",
            _cell(case1["peak_fraction_of_observed_melt_flow"], ".2f"),
            _cell(case1["winter_low_flow_m3s"], ",.1f"),
            _cell(case1["melt_season_volume_mm"], ",.1f"),
            _fmt(case1["flow_from_nothing_mm"], ",.1f"),
            _fmt(case1["last_over_first_year"], ".2f"),
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _yes_no(value: object) -> str:
    return "—" if value is None else ("yes" if value else "no")


def recovery_table(metrics: Mapping) -> list[str]:
    labels = metrics["models"]
    case2 = {label: metrics["per_model"][label]["case2"] for label in labels}
    lines = ["| Case 2 | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]

    def row(name: str, cells: list[str]) -> None:
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    for key in metrics["levels"]:
        row(
            f"Recovered, level {_level_name(metrics, key)}",
            [_cell(case2[label]["levels"].get(key, {}).get("mass_recovered"), ".0%") for label in labels],
        )
    row("Recovered, mean over levels", [_fmt(case2[label]["mass_recovered_mean"], ".0%") for label in labels])
    row("Recovered: trend over levels", [case2[label]["mass_recovered_trend"] for label in labels])
    row(
        "Annual flow grows with every level",
        [_yes_no(case2[label]["flow_increase_trend"] == "increasing") for label in labels],
    )
    row(
        "Melt peak grows with every level",
        [_yes_no(case2[label]["peak_grows_monotonically"]) for label in labels],
    )
    row(
        "Recovered / observed runoff ratio, mean",
        [_fmt(case2[label]["recovered_over_runoff_ratio"]["mean"], ".2f") for label in labels],
    )
    for term, name in (("et", "ET or trash"), ("storage_change", "Storage change"), ("residual", "Residual")):
        row(
            f"{name} share of added water, mean",
            [_fmt(case2[label]["share_means"][f"{term}_share"], ".0%") for label in labels],
        )
    return lines


def relative_table(metrics: Mapping) -> list[str]:
    keys = list(metrics["levels"])
    lines = [
        "| Recovered ÷ reference | "
        + " | ".join(_level_name(metrics, key) for key in keys)
        + " | All levels |",
        "|---" * (len(keys) + 2) + "|",
    ]
    for label, references in metrics["relative_recovery"].items():
        for reference, ratio in references.items():
            cells = [
                _cell(
                    {
                        "champion": ratio["levels"].get(key, {}).get("champion"),
                        "median": ratio["levels"].get(key, {}).get("median"),
                    },
                    ".2f",
                )
                for key in keys
            ]
            overall = {"champion": ratio["champion_all_levels"], "median": ratio["median_all_levels"]}
            mean = _cell(overall, ".2f")
            lines.append(f"| {label} ÷ {reference} | " + " | ".join(cells) + f" | {mean} |")
    return lines


def balance_table(metrics: Mapping, unit: str) -> list[str]:
    """Model × level rows of the added-water balance in ``unit`` (``mm`` or ``km3``)."""
    style = "+,.0f" if unit == "mm" else "+.3f"
    names = {"added": "Added", "flow": "Flow", "et": "ET / trash", "storage_change": "Δ storage"}
    header = [names.get(term, "Residual") for term in BALANCE_TERMS]
    lines = ["| Model | Level | " + " | ".join(header) + " |", "|---" * (len(header) + 2) + "|"]
    for label in metrics["models"]:
        model = metrics["per_model"][label]
        for key, level in model["case2"]["levels"].items():
            balance = level["balance"]
            cells = [_band_cell(balance[f"{term}_{unit}"], style) for term in BALANCE_TERMS]
            if model["et_term"] != "none" and balance[f"et_{unit}"]["champion"] is not None:
                cells[2] += f" ({ET_HEADERS.get(model['et_term'], model['et_term'])})"
            lines.append(f"| {label} | {_level_name(metrics, key)} | " + " | ".join(cells) + " |")
    return lines


def _range(values: list[float | None], style: str, suffix: str = "") -> str:
    defined = [v for v in values if v is not None]
    if not defined:
        return "—"
    low, high = format(min(defined), style), format(max(defined), style)
    return f"{low}{suffix}" if low == high else f"{low}–{high}{suffix}"


def findings(metrics: Mapping) -> list[str]:
    """Two to four sentences per non-conserving model, every number computed from ``metrics``."""
    per_model, observed = metrics["per_model"], metrics["observed"]
    runoff = _fmt(observed.get("runoff_ratio"), ".0%")
    references = [label for label in metrics["models"] if per_model[label]["conserving"]]
    others = [label for label in metrics["models"] if not per_model[label]["conserving"]]
    sentences: list[str] = []
    if not others:
        recovered = ", ".join(
            f"{label} {_fmt(per_model[label]['case2']['mass_recovered_mean'], '.0%')}" for label in references
        )
        return [f"All models conserve mass; on average they recover {recovered} of the added water."]
    for label in others:
        case1, case2 = per_model[label]["case1"], per_model[label]["case2"]
        recovered = [level["mass_recovered"]["champion"] for level in case2["levels"].values()]
        text = (
            f"The {label} champion returns {_range(recovered, '.0%')} of the added snow-season water as "
            f"extra flow (mean {_fmt(case2['mass_recovered_mean'], '.0%')})"
        )
        if references:
            text += "; the conserving " + " and ".join(
                f"{ref} returns {_fmt(per_model[ref]['case2']['mass_recovered_mean'], '.0%')}"
                for ref in references
            )
        sentences.append(text + ".")
        relative = metrics["relative_recovery"].get(label, {})
        ratios = [
            f"{_fmt(ratio['champion_all_levels'], '.2f')}× {ref}'s (per level "
            f"{_range([v['champion'] for v in ratio['levels'].values()], '.2f', '×')})"
            for ref, ratio in relative.items()
        ]
        over_runoff = _fmt(case2["recovered_over_runoff_ratio"]["mean"], ".2f")
        if ratios:
            sentences.append(
                f"Relative to the conserving references the {label} recovers {' and '.join(ratios)}, "
                f"and {over_runoff}× the observed runoff ratio of {runoff}."
            )
            closure = []
            for ref in references:
                shares = per_model[ref]["case2"]["share_means"]
                closure.append(
                    f"{ref} books {_fmt(shares['et_share'], '.0%')} as {per_model[ref]['et_term']} and "
                    f"{_fmt(shares['storage_change_share'], '.0%')} as storage change, leaving "
                    f"{_fmt(shares['residual_share'], '.0%')}"
                )
            sentences.append(
                f"Of the added water, {'; '.join(closure)} unaccounted, while the {label} leaves "
                f"{_fmt(case2['share_means']['residual_share'], '.0%')} unaccounted on average."
            )
        else:
            sentences.append(
                f"No conserving reference is among the models, so the {label}'s recovery is stated only "
                f"against the observed runoff ratio of {runoff}: {over_runoff}× on average."
            )
        peers = "; ".join(
            f"{ref} {_fmt(per_model[ref]['case1']['peak_flow_m3s']['champion'], ',.1f')} m³/s and "
            f"{_fmt(per_model[ref]['case1']['flow_from_nothing_mm'], ',.1f')} mm"
            for ref in references
        )
        sentences.append(
            f"With no precipitation at all the {label} champion peaks at "
            f"{_fmt(case1['peak_flow_m3s']['champion'], ',.1f')} m³/s ({case1['peak_date'] or '—'}) and lets "
            f"out {_fmt(case1['flow_from_nothing_mm'], ',.1f')} mm in the last simulated year"
            + (f" (conserving: {peers})." if peers else ".")
        )
    return sentences


def comparison_markdown(metrics: Mapping, figure_paths: Mapping[str, Path], relative_to: Path) -> str:
    """The report section for ``metrics`` (:func:`comparison_metrics`), images linked from ``relative_to``."""
    labels = list(metrics["models"])
    if len(labels) < 2:
        return "\n".join(
            [
                heading(len(labels)),
                "",
                f"Only {', '.join(labels) or 'no model'} was given: comparisons need references "
                "(the mass-conserving MC-LSTM and GR4J-CemaNeige of params `models`).",
                "",
            ]
        )

    def image(key: str) -> list[str]:
        if key not in figure_paths:
            return []
        link = Path(os.path.relpath(figure_paths[key], relative_to)).as_posix()
        return [f"![{CAPTIONS.get(key, key)}]({link})", ""]

    kinds = {True: "mass-conserving", False: "not mass-conserving"}
    described = ", ".join(
        f"{label} ({kinds[bool(metrics['per_model'][label]['conserving'])]})" for label in labels
    )
    runoff = _fmt(metrics["observed"].get("runoff_ratio"), ".0%")
    warnings = caveats(metrics)
    return "\n".join(
        [
            heading(len(labels)),
            "",
            f"Basin `{metrics.get('basin')}`: {described}. Cells are champion (replicate median) "
            "[replicate 5–95 %] where a model has replicates. Case 1 is the observed temperature "
            "climatology with zero precipitation; *last-year flow* is the champion's flow in the last "
            "simulated year, after the spin-up and every earlier year had drained the stores.",
            "",
            *([f"**Caveats.** {' '.join(warnings)}", ""] if warnings else []),
            " ".join(findings(metrics)),
            "",
            "### Skill (NSE, KGE)",
            "",
            *skill_table(metrics),
            "",
            "### Case 1: flow from no precipitation",
            "",
            *image("case1_hydrographs"),
            *case1_table(metrics),
            "",
            "### Case 2: added water recovered as flow",
            "",
            *recovery_table(metrics),
            "",
            f"Observed runoff ratio (training period): {runoff}.",
            "",
            "### Case 2: recovery relative to the conserving references",
            "",
            *(
                relative_table(metrics)
                if metrics["relative_recovery"]
                else ["No non-conserving model with a conserving reference to compare against."]
            ),
            "",
            "### Case 2: where the added water goes",
            "",
            *image("case2_balance"),
            "Added water of each level minus level 0, per simulated year: champion [replicate 5–95 %]; "
            "residual = added − flow − ET/trash − Δ storage (unreported terms, n/a, count as 0).",
            "",
            "mm over the basin:",
            "",
            *balance_table(metrics, "mm"),
            "",
            "km³:",
            "",
            *balance_table(metrics, "km3"),
            "",
        ]
    )
