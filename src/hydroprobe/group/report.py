"""``reports/groups/<group>.md``: regional vs single-basin LSTMs, basin by basin and over basins.

Read only from ``group_train.json`` and ``group_probe.json``, so the report
never re-runs a model and cannot disagree with the recorded numbers.
"Conserves snow water better" is judged on the two paper probes: flow made
from no precipitation at all (Case 1, last simulated year; a conserving model
makes ~0 mm) and the share of added snow-season precipitation returned as
flow (Case 2), held against the basin's observed runoff ratio; the gap
``|recovered − runoff ratio|`` is the yardstick, since a model that returns
much more than the basin's runoff ratio invents water and one that returns
much less loses it.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hydroprobe.group import pipeline  # noqa: E402

KINDS = {"regional": "regional LSTM", "single": "single-basin LSTM"}
COLOURS = {"regional": "tab:blue", "single": "tab:orange"}


def report_path(root: Path, group_id: str) -> Path:
    return Path(root) / "reports" / "groups" / f"{group_id}.md"


def summary_path(root: Path, group_id: str) -> Path:
    return pipeline.group_dir(root, group_id) / "group_report.json"


def basin_rows(trained: dict, probed: dict) -> dict[str, dict[str, dict]]:
    """``[basin][kind]`` → test NSE of the selected replicate and the probe headline numbers."""
    rows: dict[str, dict[str, dict]] = {}
    best = {r["seed"]: r for r in trained["regional"]["replicates"]}[trained["regional"]["best_seed"]]
    for basin_id, kinds in probed["basins"].items():
        rows[basin_id] = {}
        for kind, numbers in kinds.items():
            if kind == "regional":
                nse = best["metrics"][basin_id]["test"]["nse"]
            else:
                nse = trained["single"][basin_id]["selected"]["test"]["nse"]
            gap = abs(numbers["recovered_mean"] - numbers["runoff_ratio"])
            rows[basin_id][kind] = {"test_nse": nse, "recovery_gap": gap, **numbers}
    return rows


def _stats(values: list[float]) -> dict[str, float | int | None]:
    finite = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if not finite.size:
        return {"median": None, "min": None, "max": None, "count": 0}
    return {
        "median": float(np.median(finite)),
        "min": float(finite.min()),
        "max": float(finite.max()),
        "count": int(finite.size),
    }


SUMMARY_KEYS = (
    "test_nse",
    "flow_from_nothing_mm",
    "recovered_mean",
    "recovery_gap",
    "elasticity_error",
    "rules_passed",
)


def summarise(rows: dict[str, dict[str, dict]], basins: list[str] | None = None) -> dict[str, dict]:
    """Median, min and max over ``basins`` (default: those with both kinds) of each headline number."""
    basins = basins or [b for b, kinds in rows.items() if set(KINDS) <= set(kinds)]
    return {
        kind: {key: _stats([rows[b][kind][key] for b in basins]) for key in SUMMARY_KEYS}
        | {"basins": len(basins)}
        for kind in KINDS
    }


def verdict(rows: dict[str, dict[str, dict]]) -> str:
    """The plain-language answer, from counts of basins where the regional model does better."""
    paired = [b for b, kinds in rows.items() if set(KINDS) <= set(kinds)]
    if not paired:
        return "No basin has both models probed, so the question cannot be answered from this run."
    less_nothing = sum(
        abs(rows[b]["regional"]["flow_from_nothing_mm"]) < abs(rows[b]["single"]["flow_from_nothing_mm"])
        for b in paired
    )
    closer = sum(rows[b]["regional"]["recovery_gap"] < rows[b]["single"]["recovery_gap"] for b in paired)
    n = len(paired)
    both = less_nothing > n / 2 and closer > n / 2
    neither = less_nothing < n / 2 and closer < n / 2
    answer = "Yes, in this run" if both else "No, in this run" if neither else "Not clearly"
    return (
        f"**{answer}.** In {less_nothing} of {n} basins the regional LSTM makes less flow out of no "
        f"precipitation (Case 1) than the basin's own LSTM, and in {closer} of {n} its Case 2 recovery of "
        "added snow-season precipitation is closer to the basin's observed runoff ratio. Neither model "
        "conserves water by construction: whatever the regional model does better here it learned from "
        "seeing many basins, and a few basins and a short training budget make this a small sample."
    )


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None or not np.isfinite(value) else format(value, spec)


def _basin_table(rows: dict, trained: dict) -> list[str]:
    lines = [
        "| basin | frac_snow | test NSE R / S | Case 1 from nothing, mm R / S | Case 2 recovered R / S "
        "(runoff ratio) | elasticity error R / S | rules passed R / S |",
        "|---" * 7 + "|",
    ]
    for basin_id, kinds in rows.items():
        info = trained["basins"][basin_id]
        r, s = kinds["regional"], kinds.get("single")

        def pair(key: str, spec: str, r=r, s=s) -> str:
            return f"{_fmt(r[key], spec)} / {_fmt(s[key], spec) if s else 'not trained'}"

        rules = f"{r['rules_passed']}/{r['rules_applicable']} / " + (
            f"{s['rules_passed']}/{s['rules_applicable']}" if s else "not trained"
        )
        lines.append(
            f"| {info['gauge']} | {_fmt(info.get('frac_snow'), '.2f')} | {pair('test_nse', '.3f')} | "
            f"{pair('flow_from_nothing_mm', ',.0f')} | {pair('recovered_mean', '.0%')} "
            f"({_fmt(r['runoff_ratio'], '.0%')}) | {pair('elasticity_error', '+.2f')} | {rules} |"
        )
    return lines


def _summary_table(summary: dict) -> list[str]:
    labels = {
        "test_nse": ("test NSE", ".3f"),
        "flow_from_nothing_mm": ("Case 1 flow from nothing, mm", ",.0f"),
        "recovered_mean": ("Case 2 recovered", ".0%"),
        "recovery_gap": ("gap: recovered vs runoff ratio", ".0%"),
        "elasticity_error": ("elasticity error (model − observed)", "+.2f"),
        "rules_passed": ("climate rules passed", ".1f"),
    }
    lines = [
        f"| over {summary['regional']['basins']} basins: median [min, max] | regional LSTM | "
        "single-basin LSTM |",
        "|---|---|---|",
    ]
    for key, (label, spec) in labels.items():
        cells = [
            f"{_fmt(summary[k][key]['median'], spec)} [{_fmt(summary[k][key]['min'], spec)}, "
            f"{_fmt(summary[k][key]['max'], spec)}]"
            for k in KINDS
        ]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    return lines


def _cdf(axis, values: dict[str, list[float]], label: str) -> None:
    for kind, numbers in values.items():
        ordered = np.sort(np.asarray([v for v in numbers if v is not None and np.isfinite(v)], dtype=float))
        if ordered.size:
            axis.step(
                ordered,
                np.arange(1, ordered.size + 1) / ordered.size,
                where="post",
                color=COLOURS[kind],
                label=KINDS[kind],
            )
    axis.set_xlabel(label)
    axis.set_ylabel("share of basins")
    axis.legend(loc="lower right", fontsize=8)


def write_figures(rows: dict, trained: dict, folder: Path) -> dict[str, Path]:
    """CDFs of test NSE and Case 2 recovery over basins; both against frac_snow."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"cdf": folder / "cdf_nse_recovery.png", "frac_snow": folder / "vs_frac_snow.png"}
    per_kind = {
        key: {k: [rows[b][k][key] for b in rows if k in rows[b]] for k in KINDS}
        for key in ("test_nse", "recovered_mean")
    }
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    _cdf(axes[0], per_kind["test_nse"], "test NSE")
    _cdf(axes[1], per_kind["recovered_mean"], "Case 2: share of added precipitation returned as flow")
    fig.tight_layout()
    fig.savefig(paths["cdf"], dpi=110)
    plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for kind in KINDS:
        basins = [b for b in rows if kind in rows[b]]
        snow = [trained["basins"][b].get("frac_snow", np.nan) for b in basins]
        for axis, key in zip(axes, ("test_nse", "recovered_mean"), strict=True):
            axis.scatter(snow, [rows[b][kind][key] for b in basins], color=COLOURS[kind], label=KINDS[kind])
    axes[1].scatter(
        [trained["basins"][b].get("frac_snow", np.nan) for b in rows],
        [rows[b]["regional"]["runoff_ratio"] for b in rows],
        marker="_",
        s=200,
        color="black",
        label="observed runoff ratio",
    )
    for axis, label in zip(axes, ("test NSE", "Case 2 recovered"), strict=True):
        axis.set_xlabel("frac_snow (CAMELS)")
        axis.set_ylabel(label)
        axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(paths["frac_snow"], dpi=110)
    plt.close(fig)
    return paths


def _profile_lines(trained: dict, probed: dict) -> list[str]:
    profile, env = trained["profile"], trained["environment"]
    subset = profile["basins"] < profile["of_group"]
    return [
        f"- Basins: **{profile['basins']} of the group's {profile['of_group']}**"
        + (" (quick profile: a subset; `group.gauges: all` runs every basin)" if subset else "")
        + f"; single-basin baselines on {profile['single_basin_baselines']} of them.",
        f"- Both kinds: LSTM hidden size {profile['hidden_size']}, window {profile['window']} days, "
        f"≤ {profile['max_epochs']} epochs (patience {profile['patience']}), "
        f"{profile['replicates']} replicates, "
        f"batch {profile['batch_size']}, learning rate {profile['learning_rate']}.",
        f"- Regional inputs: precipitation, temperature and static attributes "
        f"{', '.join(profile['static_attributes'])} (z-scored over the group's basins); one min-max scaler "
        "for all basins with discharge in mm/d; NSE* loss (Kratzert et al. 2019, ε = 0.1); selection: "
        f"{trained['regional']['selection']} (seed {trained['regional']['best_seed']}).",
        f"- Probed regional model: `{probed['regional_model']['name']}` "
        f"v{probed['regional_model']['version']} "
        f"(`@champion`; promotion: {trained['regional']['promotion']['reason']}).",
        f"- Machine: {env['cpu_model']} ({env['processor']}), {env['threads']} torch threads, "
        f"torch {env['torch']}.",
    ]


def _ungauged_lines(trained: dict, rows: dict) -> list[str]:
    """Prediction in ungauged basins beside the same basins' in-training skill (or why it is absent)."""
    ungauged = trained.get("ungauged")
    if not ungauged:
        return ["## Prediction in ungauged basins", "",
                "Not run (`group.ungauged_folds: 0`): every basin here is in training. "
                "`-S group.ungauged_folds=5` predicts each basin with a model trained on the others.", ""]
    basins = ungauged["basins"]
    held = _stats([b["metrics"]["test"]["nse"] for b in basins.values()])
    seen = _stats([rows[b]["regional"]["test_nse"] for b in basins if b in rows])
    lines = ["## Prediction in ungauged basins", "",
             f"{ungauged['folds']}-fold over basins: each basin predicted from its forcing and attributes by "
             "a regional model trained on the other folds (scalers refitted without it). Median test NSE "
             f"**{_fmt(held['median'], '.3f')}** [{_fmt(held['min'], '.3f')}, {_fmt(held['max'], '.3f')}] "
             f"over {held['count']} basins, against {_fmt(seen['median'], '.3f')} when they are in training.",
             "", "| basin | fold | test NSE, ungauged | test NSE, in training |", "|---|---|---|---|"]
    for basin_id, basin in basins.items():
        in_training = rows[basin_id]["regional"]["test_nse"] if basin_id in rows else None
        lines.append(f"| {trained['basins'][basin_id]['gauge']} | {basin['fold']} | "
                     f"{_fmt(basin['metrics']['test']['nse'], '.3f')} | {_fmt(in_training, '.3f')} |")
    return [*lines, ""]


def write_report(root: Path, group_id: str) -> dict:
    """Write the markdown report, its figures and ``group_report.json``; return the summary."""
    trained = json.loads(pipeline.train_record_path(root, group_id).read_text())
    probed = json.loads(pipeline.probe_record_path(root, group_id).read_text())
    rows = basin_rows(trained, probed)
    summary = summarise(rows)
    path = report_path(root, group_id)
    figures = write_figures(rows, trained, path.parent / group_id)
    lines = [
        f"# Regional vs single-basin LSTM: group `{group_id}`",
        "",
        "Does a regional LSTM, trained on many snow basins at once, conserve snow water better than an "
        "LSTM trained on one basin? Both are the paper's LSTM; both go through the same probes (paper "
        "Cases 1–2, climate scenarios) on each basin.",
        "",
        "## Answer",
        "",
        verdict(rows),
        "",
        "## Over basins",
        "",
        *_summary_table(summary),
        "",
        "## Basin by basin",
        "",
        "R = regional LSTM (champion), S = the basin's single-basin LSTM (selected replicate). Elasticity "
        "error: the model's precipitation elasticity (mean over the all-year precipitation scenarios) minus "
        "the basin's observed estimate. Rules: the climate-probe plausibility rules the champion passes.",
        "",
        *_basin_table(rows, trained),
        "",
        f"![CDFs of test NSE and Case 2 recovery]({group_id}/{figures['cdf'].name})",
        "",
        f"![NSE and recovery against frac_snow]({group_id}/{figures['frac_snow'].name})",
        "",
        "## Profile",
        "",
        *_profile_lines(trained, probed),
        "",
        *_ungauged_lines(trained, rows),
        "Data: Caravan (Kratzert et al. 2023, CC BY 4.0; ERA5-Land) and CAMELS (Newman et al. 2015; "
        "Addor et al. 2017; CC BY 4.0).",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    content = {"group": group_id, "summary": summary, "basins": rows, "profile": trained["profile"]}
    pipeline.write_json(summary_path(root, group_id), content)
    return content
