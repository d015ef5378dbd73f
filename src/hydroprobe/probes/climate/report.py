"""The climate probe's report fragment: responses, rule verdicts and a plain-language verdict."""

from __future__ import annotations

import os
from pathlib import Path

from hydroprobe.probes.climate.ensemble import ensemble_lines

RESPONSE_COLUMNS = (
    ("delta_flow_percent", "ΔQ %", "{:+.1f}"),
    ("delta_flow_km3", "ΔQ km³/yr", "{:+.3f}"),
    ("delta_runoff_ratio", "Δ runoff ratio", "{:+.3f}"),
    ("returned_fraction", "returned", "{:.2f}"),
    ("elasticity", "ε", "{:.2f}"),
    ("delta_centre_of_timing_days", "ΔCT days", "{:+.1f}"),
    ("delta_peak_percent", "Δ peak %", "{:+.1f}"),
    ("delta_low_flow_7d_percent", "Δ 7-day low %", "{:+.1f}"),
)


def _number(value: float | None, style: str) -> str:
    return "–" if value is None else style.format(value + 0.0)  # + 0.0 turns -0.0 into 0.0


def _cell(entry: dict, metric: str, style: str) -> str:
    """``champion · median [p05, p95]`` of one metric."""
    spread = entry["spread"][metric]
    champion = _number(entry["champion"][metric], style)
    if spread["median"] is None:
        return champion
    low, middle, high = (_number(spread[k], style) for k in ("p05", "median", "p95"))
    return f"{champion} · {middle} [{low}, {high}]"


def _values(values: dict, scenarios: dict) -> str:
    return "; ".join(
        f"{scenarios[name]['label']}: {_number(value, '{:.3g}')}" for name, value in values.items()
    )


def _extrapolation(scenario: dict) -> str:
    counts = {k: v for k, v in scenario["extrapolation"].items() if k != "days"}
    return (
        ", ".join(f"{k[0].upper()} {v}" for k, v in counts.items())
        + f" of {scenario['extrapolation']['days']} d"
    )


def _verdict(label: str, model: dict) -> str:
    """Trusted (every run passes every rule), with caution (champion passes, some replicates
    do not: the answer depends on the seed) or not trusted (the champion breaks a rule)."""
    rules = [rule for rule in model["rules"].values() if rule["applicable"]]
    failed = [rule for rule in rules if not rule["champion"]["passed"]]
    split = [rule for rule in rules if rule["replicates"]["share"] not in (None, 0.0, 1.0)]
    if failed:
        text = f"**{label}: not to be trusted for climate-impact use on this basin.** Its champion fails: "
        text += "; ".join(
            f"{rule['failure']} ({rule['replicates']['passed']}/{rule['replicates']['count']} replicates "
            "pass this rule)"
            for rule in failed
        )
        text += "."
    elif split:
        text = (
            f"**{label}: usable only with caution.** The champion passes all {len(rules)} rules, "
            "but not every replicate does."
        )
    else:
        text = (
            f"**{label}: credible for climate-impact questions on this basin within the tested range.** "
            f"The champion and every replicate pass all {len(rules)} rules."
        )
    if split:
        text += " Replicates disagree on " + "; ".join(
            f"'{rule['statement']}' ({rule['replicates']['passed']}/{rule['replicates']['count']} pass)"
            for rule in split
        )
        text += ", so the answer depends on the random seed."
    return text


def _extrapolated(result: dict) -> str:
    """Which scenarios push more inputs beyond the training range than the observed forcing."""

    def beyond(scenario: dict) -> int:
        return sum(v for k, v in scenario["extrapolation"].items() if k != "days")

    reference = beyond(result["scenarios"]["baseline"])
    names = [
        f"{s['label']} ({beyond(s)})"
        for s in result["scenarios"].values()
        if s["kind"] != "baseline" and beyond(s) > reference
    ]
    if not names:
        return "No scenario pushes inputs further beyond the training range than the observed forcing does."
    return (
        f"Scaled inputs outside [0, 1] (extrapolation beyond the training range; observed forcing: "
        f"{reference}) in: {', '.join(names)}. Responses there rest on extrapolation."
    )


def render(result: dict, figure_links: list[str] = ()) -> str:
    """The fragment's Markdown; ``figure_links`` are paths relative to the fragment's folder."""
    scenarios = result["scenarios"]
    band = result["observed_elasticity"]
    years = result["water_years"]
    lines = [
        "## Climate sensitivity on observed forcing",
        "",
        f"Basin `{result['basin']}`, {result['split']} split {result['period'][0]}..{result['period'][1]}: "
        f"{len(years)} complete water years (Oct–Sep, {years[0] - 1}/{years[0]}–{years[-1] - 1}/{years[-1]})"
        f", after {result['settings']['spinup_days']} days of spin-up on the same perturbed forcing. "
        "Each model runs on the observed forcing and on every scenario; changes are against the same "
        "model's observed run.",
        "",
        f"Observed precipitation elasticity (Sankarasubramanian et al. 2001, {len(band['water_years'])} "
        f"complete water years): ε = {band['median']:.2f}, 5–95 % {band['p05']:.2f}–{band['p95']:.2f} "
        f"(bootstrap over years, n = {band['bootstrap']}).",
        "",
        "### Responses",
        "",
        "Cells: champion · replicate median [5 %, 95 %]. *Returned*: share of the added precipitation that "
        "leaves as flow. *Outside range*: scaled input values outside [0, 1] (P, T) on the evaluation days.",
        "",
        "| scenario | ΔP % | outside range | model | " + " | ".join(c[1] for c in RESPONSE_COLUMNS) + " |",
        "|---" * (4 + len(RESPONSE_COLUMNS)) + "|",
    ]
    for name, scenario in scenarios.items():
        if name == "baseline":
            continue
        for label, model in result["models"].items():
            entry = model["scenarios"][name]
            cells = [_cell(entry, metric, style) for metric, _, style in RESPONSE_COLUMNS]
            lines.append(
                f"| {scenario['label']} | {scenario['precipitation_change_percent']:+.1f} | "
                f"{_extrapolation(scenario)} | {label} | " + " | ".join(cells) + " |"
            )
    lines += [
        "",
        "### Plausibility rules",
        "",
        "| rule | model | champion | replicates passing | champion values | failing replicates |",
        "|---|---|---|---|---|---|",
    ]
    for label, model in result["models"].items():
        for rule in model["rules"].values():
            if not rule["applicable"]:
                lines.append(f"| {rule['statement']} | {label} | no scenario applies | – | – | – |")
                continue
            reps = rule["replicates"]
            share = (
                "–"
                if reps["share"] is None
                else f"{reps['passed']}/{reps['count']} ({100 * reps['share']:.0f} %)"
            )
            failing = "; ".join(f"#{i}: {', '.join(names)}" for i, names in reps["failed"].items()) or "none"
            lines.append(
                f"| {rule['statement']} | {label} | {'pass' if rule['champion']['passed'] else 'FAIL'} | "
                f"{share} | {_values(rule['champion']['values'], scenarios)} | {failing} |"
            )
    if figure_links:
        lines += ["", "### Figures", ""]
        lines += [f"![{Path(link).stem.replace('_', ' ')}]({link})" for link in figure_links]
    lines += ["", *ensemble_lines(result)]
    lines += ["### Can the models be trusted for climate-impact use?", ""]
    lines += [_verdict(label, model) + "\n" for label, model in result["models"].items()]
    lines.append(_extrapolated(result) + "\n")
    return "\n".join(lines)


def write_report(result: dict, path: Path, figures: list[Path] = ()) -> Path:
    """Write ``reports/fragments/climate.md``, linking ``figures`` relative to it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    links = [Path(os.path.relpath(figure, path.parent)).as_posix() for figure in figures]
    path.write_text(render(result, links))
    return path
