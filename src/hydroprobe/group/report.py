"""``reports/groups/<group>.md``: the group's bench basin by basin and over basins, and the answer.

Read only from ``group_train.json`` and ``group_probe.json`` (parsed once, at the file's edge, into
:class:`BasinRow`), so the report never re-runs a model and cannot disagree with the recorded
numbers. The question is the single-basin comparison's, asked at group scale: does the regional
LSTM return more of the added snow-season water (Case 2, *relative to the conserving regional
MC-LSTM*, which books every drop) and make less flow from nothing (Case 1) than the single-basin
LSTMs?
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hydroprobe.group import pipeline  # noqa: E402
from hydroprobe.training.convergence import converged  # noqa: E402

NUMBERS = (
    "test_nse",
    "flow_from_nothing_mm",
    "recovered_mean",
    "relative_recovery",
    "balance_residual_max",
    "elasticity_error",
    "rules_passed",
)
LABELS = {
    "test_nse": ("test NSE", ".3f"),
    "flow_from_nothing_mm": ("Case 1 flow from nothing, mm (last year)", ",.0f"),
    "recovered_mean": ("Case 2 added water returned as flow", ".0%"),
    "relative_recovery": ("Case 2 recovery relative to the regional MC-LSTM", ".2f"),
    "balance_residual_max": ("Case 2 water unaccounted for (largest level)", ".1%"),
    "elasticity_error": ("elasticity error (model − observed)", "+.2f"),
    "rules_passed": ("climate rules passed", ".1f"),
}


def report_path(root: Path, group_id: str) -> Path:
    return Path(root) / "reports" / "groups" / f"{group_id}.md"


def summary_path(root: Path, group_id: str) -> Path:
    return pipeline.group_dir(root, group_id) / "group_report.json"


@dataclass(frozen=True)
class Model:
    """One model of the bench as the report names it."""

    key: str
    label: str
    scope: str
    conserving: bool


def bench(trained: dict) -> list[Model]:
    """The models as the report names them: a basin-scope model is "single-basin <kind label>"."""
    return [
        Model(key, m["label"] if m["scope"] == "group" else f"single-basin {m['label']}", m["scope"],
              m["conserving"])
        for key, m in trained["models"].items()
    ]


def basin_rows(trained: dict, probed: dict) -> dict[str, dict[str, dict]]:
    """``[basin][model]`` → test NSE, the probe headline numbers and the recovery relative to the
    conserving group-scope model (the regional MC-LSTM)."""
    conserving = next((m.key for m in bench(trained) if m.conserving and m.scope == "group"), None)
    rows: dict[str, dict[str, dict]] = {}
    for basin_id, models in probed["basins"].items():
        reference = models.get(conserving, {}).get("recovered_mean") if conserving else None
        rows[basin_id] = {
            key: {
                **numbers,
                "test_nse": numbers["metrics"]["test"]["nse"],
                "relative_recovery": _ratio(numbers["recovered_mean"], reference),
            }
            for key, numbers in models.items()
        }
    return rows


def _ratio(value: float, reference: float | None) -> float | None:
    return None if reference is None or abs(reference) < 1e-9 else value / reference


def _stats(values: list[float | None]) -> dict[str, float | int | None]:
    finite = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if not finite.size:
        return {"median": None, "p25": None, "p75": None, "count": 0}
    return {
        "median": float(np.median(finite)),
        "p25": float(np.percentile(finite, 25)),
        "p75": float(np.percentile(finite, 75)),
        "count": int(finite.size),
    }


def summarise(rows: dict[str, dict[str, dict]], keys: list[str]) -> dict[str, dict]:
    """Median and quartiles over the basins where every model was probed."""
    basins = [b for b, models in rows.items() if set(keys) <= set(models)]
    return {
        key: {name: _stats([rows[b][key][name] for b in basins]) for name in NUMBERS}
        | {"basins": len(basins)}
        for key in keys
    }


def sign_test(wins: int, n: int) -> float:
    """Two-sided p-value of ``wins`` of ``n`` paired basins under "either model is as likely to win"."""
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(wins, n - wins) + 1)) / 2**n
    return min(1.0, 2 * tail)


def verdict(rows: dict, trained: dict) -> str:
    """The plain-language answer: basin-by-basin counts with a sign test, and the medians.

    "Yes" needs both counts significant (p < 0.05) in the regional LSTM's favour; a count that
    could be chance is said to be so, whatever the medians look like.
    """
    models = {m.scope: m for m in bench(trained) if not m.conserving}
    regional, single = models.get("group"), models.get("basin")
    paired = [b for b, r in rows.items() if regional and single and {regional.key, single.key} <= set(r)]
    if not paired:
        return (
            "No basin has both a regional and a single-basin LSTM probed, so the question cannot be answered."
        )
    r, s = regional.key, single.key
    n = len(paired)
    more = sum(_greater(rows[b][r]["relative_recovery"], rows[b][s]["relative_recovery"]) for b in paired)
    less = sum(
        abs(rows[b][r]["flow_from_nothing_mm"]) < abs(rows[b][s]["flow_from_nothing_mm"]) for b in paired
    )
    clear = {name: (wins, sign_test(wins, n)) for name, wins in (("recovery", more), ("nothing", less))}
    favour = [wins > n / 2 and p < 0.05 for wins, p in clear.values()]
    against = [wins < n / 2 and p < 0.05 for wins, p in clear.values()]
    answer = "Yes" if all(favour) else "No" if all(against) else "Partly" if any(favour) else "Not clearly"
    rel = {k: _stats([rows[b][k]["relative_recovery"] for b in paired])["median"] for k in (r, s)}
    nothing = {k: _stats([rows[b][k]["flow_from_nothing_mm"] for b in paired])["median"] for k in (r, s)}
    return (
        f"**{answer}.** In {less} of {n} basins the {regional.label} makes less flow from no precipitation "
        f"at all than the basin's own LSTM (Case 1, last year: median {_fmt(nothing[r], ',.0f')} mm against "
        f"{_fmt(nothing[s], ',.0f')} mm; sign test p = {clear['nothing'][1]:.2g}). In {more} of {n} it "
        "returns more of the added snow-season water, measured against what the conserving regional MC-LSTM "
        f"returns on the same basin (median ratio {_fmt(rel[r], '.2f')} against {_fmt(rel[s], '.2f')}; "
        f"sign test p = {clear['recovery'][1]:.2g}). A p above 0.05 means the basin-by-basin count could be "
        "chance. "
        "Neither LSTM conserves water by construction; whatever the regional one does better it learned "
        "from seeing many basins."
    )


def _behind(trained: dict, summary: dict) -> str:
    """What the answer rests on: basins, replicates and epochs of every model, and their skill."""
    parts = []
    for key, model in trained["models"].items():
        p = trained["profile"]["models"][key]
        skill = _fmt(summary[key]["test_nse"]["median"], ".3f")
        if model["scope"] == "basin":
            parts.append(
                f"a single-basin {model['label']} on each of {len(model['basins'])} basins "
                f"({p['replicates']} replicate(s) each, ≤ {p['max_epochs']} epochs; median test NSE {skill})"
            )
        else:
            epochs = ", ".join(str(r["best_epoch"]) for r in model["replicates"])
            parts.append(
                f"the {model['label']} ({p['replicates']} replicate(s), best epoch {epochs} of ≤ "
                f"{p['max_epochs']}; median test NSE {skill})"
            )
    basins = summary[next(iter(summary))]["basins"]
    return f"Behind these numbers: {basins} basins; " + "; ".join(parts) + "."


def _greater(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and a > b


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None or not np.isfinite(value) else format(value, spec)


def _summary_table(summary: dict, models: list[Model]) -> list[str]:
    keys = [m.key for m in models]
    lines = [
        f"| over {summary[keys[0]]['basins']} basins: median [25–75 %] | "
        + " | ".join(m.label for m in models)
        + " |",
        "|---" * (len(models) + 1) + "|",
    ]
    for name, (label, spec) in LABELS.items():
        cells = [
            f"{_fmt(summary[k][name]['median'], spec)} [{_fmt(summary[k][name]['p25'], spec)}, "
            f"{_fmt(summary[k][name]['p75'], spec)}]"
            for k in keys
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _basin_table(rows: dict, trained: dict, models: list[Model]) -> list[str]:
    names = " / ".join(m.key for m in models)
    lines = [
        f"| basin | frac_snow | test NSE ({names}) | Case 1 from nothing, mm | Case 2 returned "
        "(runoff ratio) | relative to MC-LSTM |",
        "|---" * 6 + "|",
    ]
    for basin_id, row in rows.items():

        def cells(name: str, spec: str, row=row) -> str:
            return " / ".join(_fmt(row[m.key][name], spec) if m.key in row else "–" for m in models)

        runoff = next(iter(row.values()))["runoff_ratio"]
        info = trained["basins"][basin_id]
        lines.append(
            f"| {info['gauge']} | {_fmt(info['frac_snow'], '.2f')} | {cells('test_nse', '.3f')} | "
            f"{cells('flow_from_nothing_mm', ',.0f')} | {cells('recovered_mean', '.0%')} "
            f"({_fmt(runoff, '.0%')}) | {cells('relative_recovery', '.2f')} |"
        )
    return lines


def _cdf(axis, values: dict[str, list], labels: dict[str, str], title: str) -> None:
    for key, numbers in values.items():
        ordered = np.sort(np.asarray([v for v in numbers if v is not None and np.isfinite(v)], dtype=float))
        if ordered.size:
            axis.step(ordered, np.arange(1, ordered.size + 1) / ordered.size, where="post", label=labels[key])
    axis.set_xlabel(title)
    axis.set_ylabel("share of basins")
    axis.legend(loc="lower right", fontsize=8)


def write_figures(rows: dict, models: list[Model], folder: Path) -> dict[str, Path]:
    """CDFs over basins of test NSE, flow from nothing and Case 2 recovery relative to the MC-LSTM."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cdf_nse_recovery.png"
    labels = {m.key: m.label for m in models}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for axis, name in zip(axes, ("test_nse", "flow_from_nothing_mm", "relative_recovery"), strict=True):
        values = {m.key: [rows[b][m.key][name] for b in rows if m.key in rows[b]] for m in models}
        _cdf(axis, values, labels, LABELS[name][0])
    axes[0].set_xlim(left=max(-0.5, axes[0].get_xlim()[0]))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {"cdf": path}


def _profile_lines(trained: dict, probed: dict) -> list[str]:
    profile = trained["profile"]
    subset = profile["basins"] < profile["of_group"]
    lines = [
        f"- Basins: **{profile['basins']} of the group's {profile['of_group']}**"
        + (" (a subset; `group.gauges: all` runs every basin)" if subset else "")
        + f"; single-basin models on {profile['single_basin_baselines']} of them. Group definition "
        f"`{profile['definition']}` (basins, splits, attributes).",
        f"- Attributes (z-scored over the basins): {', '.join(profile['static_attributes'])}.",
        "- Every model trains sequence-to-sequence: random windows of the stated length, the loss (NSE*, "
        "Kratzert et al. 2019, ε = 0.1) on their last days, replicates stacked, early stopping on the median "
        "validation NSE over basins, evaluation in tiles of the same windows (the MC-LSTM in one pass: "
        "its stores carry water from day to day). The paper trains its LSTM "
        "sequence-to-one (a 365-day window predicts its last day) on one basin: here a 730-day window "
        "predicts 365 days at once, which is what makes 35 basins fit two CPU cores.",
    ]
    for key, model in trained["models"].items():
        p = profile["models"][key]
        lines.append(
            f"- `{key}` ({model['label']}): hidden size {p['hidden_size']}, window {p['window']} days "
            f"scored on {p['loss_span']}, {p['windows_per_epoch']:,} windows an epoch in batches of "
            f"{p['batch_size']}, learning rate {p['learning_rate']}, ≤ {p['max_epochs']} epochs "
            f"(patience {p['patience']}), {p['replicates']} replicate(s); "
            f"{_trained_line(model, p['max_epochs'])}"
        )
    env = next(iter(trained["models"].values()))["environment"]
    lines.append(
        f"- Machine: {env['cpu_model']} ({env['processor']}), {env['threads']} torch threads, "
        f"torch {env['torch']}, numpy {env['numpy']}, Python {env['python']}."
    )
    for key, model in probed["models"].items():
        lines.append(f"- Probed `{key}`: `{model['name']}` v{model['version']} (`@champion`).")
    return lines


def _trained_line(model: dict, budget: int) -> str:
    """Epochs, time and convergence (best epoch not in the last tenth of the budget, or early-stopped)."""
    if model["scope"] == "basin":
        runs = [r for b in model["basins"].values() for r in b["replicates"]]
        seconds = sum(b["seconds"] for b in model["basins"].values())
        done = sum(converged(r["best_epoch"], r["epochs_run"], budget) for r in runs)
        return (
            f"{len(model['basins'])} basins, best epochs {min(r['best_epoch'] for r in runs)}–"
            f"{max(r['best_epoch'] for r in runs)}; converged in {done} of {len(runs)} "
            f"({len(runs) - done} still improving at the budget); {seconds / 60:.1f} min in all."
        )
    best = ", ".join(
        f"seed {r['seed']}: best epoch {r['best_epoch']} of {r['epochs_run']} "
        f"({'converged' if converged(r['best_epoch'], r['epochs_run'], budget) else 'not converged'})"
        for r in model["replicates"]
    )
    return f"{best}; {model['seconds'] / 60:.1f} min."


def _ungauged_lines(folds: dict | None, rows: dict, probed: dict) -> list[str]:
    lines = ["## Basins the models never saw", ""]
    if folds:
        held = _stats([b["metrics"]["test"]["nse"] for b in folds["basins"].values()])
        seen = _stats([rows[b][folds["model"]]["test_nse"] for b in folds["basins"] if b in rows])
        lines += [
            f"**{folds['folds']}-fold over basins** (`{folds['model']}`): each basin predicted from its "
            "forcing and attributes by a model trained on the other folds (scalers refitted without it). "
            f"Median test NSE **{_fmt(held['median'], '.3f')}** [{_fmt(held['p25'], '.3f')}, "
            f"{_fmt(held['p75'], '.3f')}] over {held['count']} basins, against "
            f"{_fmt(seen['median'], '.3f')} when they are in training.",
            "",
        ]
    else:
        lines += [
            "The k-fold over basins has not been run: `hydroprobe group ungauged --folds 5 && "
            "hydroprobe group report` adds it here.",
            "",
        ]
    outside = probed.get("ungauged") or {}
    for basin in outside.values():
        lines += [
            f"**{basin['gauge']}** (brought from outside the group, never trained on):",
            "",
            "| model | test NSE | Case 1 from nothing, mm | Case 2 returned |",
            "|---|---|---|---|",
        ]
        for key, numbers in basin["models"].items():
            lines.append(
                f"| {key} | {_fmt(numbers['metrics']['test']['nse'], '.3f')} | "
                f"{_fmt(numbers['flow_from_nothing_mm'], ',.0f')} | "
                f"{_fmt(numbers['recovered_mean'], '.0%')} |"
            )
        lines.append("")
    return lines


def _read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def write_report(root: Path, group_id: str) -> dict:
    """Write the markdown report, its figure and ``group_report.json``; return the summary."""
    trained = json.loads(pipeline.train_record_path(root, group_id).read_text())
    probed = json.loads(pipeline.probe_record_path(root, group_id).read_text())
    models = bench(trained)
    rows = basin_rows(trained, probed)
    summary = summarise(rows, [m.key for m in models])
    path = report_path(root, group_id)
    figures = write_figures(rows, models, path.parent / group_id)
    lines = [
        f"# Regional study: group `{group_id}`",
        "",
        "Does an LSTM trained on many snow basins at once keep snow water better than an LSTM trained on one "
        "basin? The regional LSTM, a mass-conserving regional MC-LSTM and each basin's own LSTM go through "
        "the same probes (paper Cases 1–2, climate scenarios) on every basin.",
        "",
        "## Answer",
        "",
        verdict(rows, trained),
        "",
        _behind(trained, summary),
        "",
        "## Over basins",
        "",
        *_summary_table(summary, models),
        "",
        f"![CDFs over basins]({group_id}/{figures['cdf'].name})",
        "",
        "## Basin by basin",
        "",
        "Each model's `@champion` (group models) or selected model (single-basin). Relative to MC-LSTM: the "
        "share of added Case 2 water the model returns as flow divided by the share the regional MC-LSTM "
        "returns on the same basin.",
        "",
        *_basin_table(rows, trained, models),
        "",
        *_ungauged_lines(_read(pipeline.ungauged_record_path(root, group_id)), rows, probed),
        "## Profile",
        "",
        *_profile_lines(trained, probed),
        "",
        "Data: Caravan (Kratzert et al. 2023, CC BY 4.0; ERA5-Land) and CAMELS (Newman et al. 2015; "
        "Addor et al. 2017; CC BY 4.0).",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    content = {
        "group": group_id,
        "summary": {"models": summary},
        "basins": rows,
        "profile": trained["profile"],
    }
    pipeline.write_json(summary_path(root, group_id), content)
    return content
