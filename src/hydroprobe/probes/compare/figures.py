"""The two comparison figures: where Case 2's added water goes per model, and Case 1 on one axis.

Side by side, the conserving references show what a closed balance looks
like (flow, ET or trash and storage change summing to the added water),
so the LSTM's unaccounted residual is read against them rather than
against zero; and one Case 1 axis shows at a glance whose spring peak comes
out of nothing. Each function returns what it drew (:class:`PlottedFigure`)
so tests can check the plotted numbers, not only that a PNG exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hydroprobe.layout import COMPARE_FIGURES
from hydroprobe.probes.compare.inputs import ModelInput
from hydroprobe.probes.compare.metrics import CASE1_SCENARIO

FIGURES = COMPARE_FIGURES

#: Stacked balance terms and colours, as in the paper-probe balance figure (residual last).
BALANCE_STACK = {
    "flow": "tab:blue",
    "et": "tab:green",
    "storage_change": "tab:purple",
    "residual": "tab:red",
}


@dataclass
class PlottedFigure:
    """A written figure and the numbers drawn on it (data units), keyed by model label.

    The bars' rectangles carry their term as ``gid`` so a test can also read
    the heights back from ``figure``.
    """

    path: Path
    figure: Figure
    values: dict[str, dict] = field(default_factory=dict)


def _save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def _term_label(term: str, model: ModelInput) -> str:
    if term == "et":
        return "ET" if model.et_term == "none" else model.et_term
    return term.replace("_", " ")


def _balance_values(model: ModelInput) -> tuple[list[str], dict[str, list[float | None]]]:
    """Level keys and the champion's mm of each balance term (None: the model cannot report it)."""
    levels = [level for level in model.paper.levels if level.balance]
    values = {term: [level.term(f"{term}_mm").champion for level in levels]
              for term in ("added", *BALANCE_STACK)}
    return [level.key for level in levels], values


def _balance_panel(ax: Axes, model: ModelInput, keys: list[str], values: dict[str, list]) -> None:
    x = np.arange(len(keys))
    positive, negative = np.zeros(len(keys)), np.zeros(len(keys))
    for term, color in BALANCE_STACK.items():
        heights = np.array([np.nan if v is None else v for v in values[term]], dtype=float)
        if np.isnan(heights).all():
            continue  # a term the model cannot report is absent, not zero
        heights = np.nan_to_num(heights)
        bottom = np.where(heights >= 0, positive, negative)
        ax.bar(x, heights, bottom=bottom, width=0.6, color=color, label=_term_label(term, model), gid=term)
        positive += np.clip(heights, 0, None)
        negative += np.clip(heights, None, 0)
    added = [np.nan if v is None else v for v in values["added"]]
    ax.scatter(x, added, marker="_", s=500, color="black", label="added precipitation", zorder=3)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.margins(y=0.08)  # room above the added-precipitation tick
    values_by_key = {level.key: level.value for level in model.paper.levels}
    ax.set_xticks(x, [f"{values_by_key[key]:g}" for key in keys])
    ax.set_xlabel(f"level ({model.paper.level_units})", fontsize=8)
    ax.set_title(f"{model.label}{' (conserving)' if model.conserving else ''}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")


def case2_balance_bars(models: Sequence[ModelInput], path: Path) -> PlottedFigure:
    """One panel per model: the added water's flow / ET / storage change / residual per level (mm/yr).

    Champion values; negative terms stack below zero, the black tick is the
    added precipitation a closed balance sums to. ``values[label]`` holds
    ``levels`` and each term's per-level mm (None where not reported).
    """
    fig = Figure(figsize=(1.0 + 3.4 * len(models), 3.8))
    axes = fig.subplots(1, len(models), sharey=True, squeeze=False)[0]
    drawn: dict[str, dict] = {}
    for ax, model in zip(axes, models, strict=True):
        keys, values = _balance_values(model)
        _balance_panel(ax, model, keys, values)
        drawn[model.label] = {"levels": keys, **values}
    axes[0].set_ylabel("added water, mm per year over the basin")
    fig.suptitle("Case 2: where the added snow-season water goes (champions)", fontsize=10)
    fig.tight_layout()
    return PlottedFigure(_save(fig, path), fig, drawn)


def _month_ticks(ax: Axes, frame: pd.DataFrame) -> None:
    first = frame.index[frame["month_day"].str.endswith("-01")]
    ax.set_xticks(frame["day"][first])
    ax.set_xticklabels(pd.to_datetime("2001-" + frame["month_day"][first]).dt.strftime("%b").str[0])
    ax.set_xlim(frame["day"].iloc[0], frame["day"].iloc[-1])


def case1_hydrographs(models: Sequence[ModelInput], path: Path) -> PlottedFigure:
    """Every model's Case 1 zero-precipitation hydrograph (observed temperature climatology) on one axis.

    Champion line and, where the CSV has it, the replicate 5–95 % band. The
    only observed discharge in the models' files is the training-period
    melt-season flow excluding peaks (``probes_paper.json``), drawn dashed;
    a daily observed discharge climatology is not in them. ``values[label]``
    holds ``day``, ``champion`` and, if drawn, ``p05``/``p95`` (arrays).
    """
    fig = Figure(figsize=(9, 4))
    ax = fig.subplots()
    colors = colormaps["tab10"](np.arange(len(models)) % 10)
    drawn: dict[str, dict] = {}
    column = f"{CASE1_SCENARIO}_discharge_m3s"
    for model, color in zip(models, colors, strict=True):
        frame = model.case1
        values = {"day": frame["day"].to_numpy(), "champion": frame[column].to_numpy(dtype=float)}
        if f"{column}_p05" in frame and f"{column}_p95" in frame:
            values["p05"] = frame[f"{column}_p05"].to_numpy(dtype=float)
            values["p95"] = frame[f"{column}_p95"].to_numpy(dtype=float)
            ax.fill_between(values["day"], values["p05"], values["p95"], color=color, alpha=0.2, linewidth=0)
        ax.plot(values["day"], values["champion"], color=color, linewidth=1.3, label=model.label)
        drawn[model.label] = values
    melt_flow = models[0].paper.melt_flow_m3s if models else None
    if melt_flow is not None:
        ax.axhline(
            melt_flow,
            color="grey",
            linestyle="--",
            linewidth=1,
            label="observed melt-season flow excl. peaks",
        )
        drawn["observed_melt_flow_m3s"] = {"value": melt_flow}
    ax.axhline(0, color="black", linewidth=0.6)
    if models:
        _month_ticks(ax, models[0].case1)
    ax.set_ylabel("discharge (m³/s)")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(
        "Case 1: zero precipitation, observed temperature climatology (lines: champions; bands: 5–95 %)",
        fontsize=10,
    )
    fig.tight_layout()
    return PlottedFigure(_save(fig, path), fig, drawn)


def write_comparison_figures(models: Sequence[ModelInput], figure_dir: Path) -> dict[str, Path]:
    """Both figures under ``figure_dir`` with the names of :data:`FIGURES`; returns their paths by key."""
    figure_dir = Path(figure_dir)
    return {
        "case2_balance": case2_balance_bars(models, figure_dir / FIGURES["case2_balance"]).path,
        "case1_hydrographs": case1_hydrographs(models, figure_dir / FIGURES["case1_hydrographs"]).path,
    }
