"""The comparison report's ensemble section, written from :func:`.ensemble.ensemble_comparison`."""

from __future__ import annotations

from collections.abc import Mapping

from hydroprobe.probes.compare.ensemble import PHYSICS

COLUMNS = (
    ("test_nse", "Test NSE", ".3f"),
    ("validation_nse", "Validation NSE", ".3f"),
    ("flow_from_nothing_mm", "Case 1 flow from nothing (mm)", ",.1f"),
    ("recovered_mean", "Case 2 recovered, mean", ".0%"),
    ("unaccounted_share", "Case 2 unaccounted, mean", ".0%"),
    ("elasticity", "Elasticity", ".2f"),
)
ROWS = (("selected", "selected replicate"), ("ensemble", "ensemble mean"), ("median_member", "median member"))


def _fmt(value: float | None, style: str) -> str:
    return "—" if value is None else format(value, style)


def table(per_model: Mapping) -> list[str]:
    lines = ["| Model | " + " | ".join(name for _, name, _ in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 1) + "|"]
    for label, entry in per_model.items():
        for key, name in ROWS:
            row = entry[key]
            who = f"{label}, {name}" + (f" ({entry['members']})" if key == "ensemble" else "")
            lines.append(f"| {who} | " + " | ".join(_fmt(row[k], style) for k, _, style in COLUMNS) + " |")
    return lines


def sentence(label: str, entry: Mapping) -> str:
    """The numbers behind one model's answer, ensemble against the selected replicate."""
    ensemble, selected, typical = entry["ensemble"], entry["selected"], entry["median_member"]
    text = (f"The {label} ensemble mean of {entry['members']} replicates has test NSE "
            f"{_fmt(ensemble['test_nse'], '.3f')} (selected {_fmt(selected['test_nse'], '.3f')}, "
            f"median member {_fmt(typical['test_nse'], '.3f')})")
    verdicts = entry["physics_vs_selected"]
    physics = [f"{name} {_fmt(ensemble[key], style)} vs {_fmt(selected[key], style)} ({verdicts[key]})"
               for key, name, style, _ in PHYSICS if key in verdicts]
    return text + ("; against the selected replicate: " + ", ".join(physics) if physics else "") + "."


def ensemble_markdown(comparison: Mapping) -> str:
    """The section appended to ``reports/fragments/comparison.md``."""
    per_model = comparison["per_model"]
    lines = ["### Replicate ensemble mean beside the selected replicate", "", comparison["answer"], ""]
    if per_model:
        lines += [
            "The ensemble mean is the mean discharge of every replicate, a model of its own (registered "
            "with alias `ensemble`). More skilful: higher test NSE than both the selected replicate and the "
            "median member. More physical: better than the selected replicate on more of these than worse: "
            "less flow from no precipitation, less of the Case 2 added water unaccounted, elasticity "
            "closer to the observed band (differences under 1 % are ties).",
            "",
            *table(per_model),
            "",
            " ".join(sentence(label, entry) for label, entry in per_model.items()),
            "",
        ]
    return "\n".join(lines) + "\n"
