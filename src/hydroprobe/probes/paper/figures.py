"""Paper-style figures: Fig. 3 (Case 1) and Fig. 4 (Case 2) hydrographs under their input
panels, Case 2's added precipitation against the flow the models gave back, and
where that added water went (flow, ET, storage, residual).

Lines are the champion; shaded bands the 5–95 % range over replicates, so a
reader sees at once whether a finding holds beyond one seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hydroprobe.layout import PAPER_FIGURES

FIGURES = PAPER_FIGURES

#: Stacked terms of the added-water balance and their colours (residual last: what is unaccounted).
BALANCE_STACK = {
    "flow": "tab:blue",
    "et": "tab:green",
    "storage_change": "tab:purple",
    "residual": "tab:red",
}


def _month_ticks(ax: Axes, frame: pd.DataFrame) -> None:
    first = frame.index[frame["month_day"].str.endswith("-01")]
    ax.set_xticks(frame["day"][first])
    ax.set_xticklabels(pd.to_datetime("2001-" + frame["month_day"][first]).dt.strftime("%b").str[0])
    ax.set_xlim(frame["day"].iloc[0], frame["day"].iloc[-1])


def _colors(count: int) -> np.ndarray:
    return colormaps["viridis"](np.linspace(0, 0.9, count))


def _discharge_panel(ax: Axes, frame: pd.DataFrame, keys: dict[str, str], observed_melt_flow: float) -> None:
    for (key, label), color in zip(keys.items(), _colors(len(keys)), strict=True):
        if f"{key}_discharge_m3s_p05" in frame:
            ax.fill_between(
                frame["day"],
                frame[f"{key}_discharge_m3s_p05"],
                frame[f"{key}_discharge_m3s_p95"],
                color=color,
                alpha=0.2,
                linewidth=0,
            )
        ax.plot(frame["day"], frame[f"{key}_discharge_m3s"], color=color, label=label, linewidth=1.2)
    ax.axhline(
        observed_melt_flow,
        color="grey",
        linestyle="--",
        linewidth=1,
        label="observed melt-season flow excl. peaks",
    )
    ax.set_ylabel("discharge (m³/s)")
    ax.legend(fontsize=7, loc="upper left")
    _month_ticks(ax, frame)


def hydrograph_figure(
    frame: pd.DataFrame,
    keys: dict[str, str],
    inputs: list[tuple[str, str, bool]],
    observed_melt_flow: float,
    title: str,
    path: Path,
) -> Path:
    """Input panels above the discharge panel, one line per scenario ``key`` (legend: its label).

    ``inputs`` are ``(quantity, y label, one line per scenario?)``; a quantity
    shared by all scenarios (Case 2 temperature) is drawn once, in black.
    """
    fig = Figure(figsize=(9, 2.2 * (len(inputs) + 1.5)))
    axes = fig.subplots(
        len(inputs) + 1, 1, sharex=True, gridspec_kw={"height_ratios": [1] * len(inputs) + [2]}
    )
    for ax, (quantity, label, per_key) in zip(axes, inputs, strict=False):
        drawn = list(keys) if per_key else list(keys)[:1]
        for key, color in zip(drawn, _colors(len(keys)), strict=False):
            ax.plot(
                frame["day"], frame[f"{key}_{quantity}"], color=color if per_key else "black", linewidth=1
            )
        ax.set_ylabel(label)
    _discharge_panel(axes[-1], frame, keys, observed_melt_flow)
    for letter, ax in zip("abcd", axes, strict=False):
        ax.set_title(f"({letter})", loc="left", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def mass_figure(result: dict, path: Path) -> Path:
    """Added precipitation volume vs annual flow increase per level (champion; replicate 5–95 % bars)."""
    case2 = result["case2"]
    keys = [k for k, v in case2.items() if isinstance(v, dict) and "added_precipitation_km3" in v]
    added = [case2[k]["added_precipitation_km3"]["champion"] for k in keys]
    increase = [case2[k]["volume_increase_km3"] for k in keys]
    champion = [v["champion"] for v in increase]
    x = np.arange(len(keys))
    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    ax.bar(x - 0.2, added, width=0.4, color="tab:blue", label="added precipitation")
    errors = None
    if all(v["p05"] is not None for v in increase):  # replicate band around the champion
        low = [c - v["p05"] for c, v in zip(champion, increase, strict=True)]
        high = [v["p95"] - c for c, v in zip(champion, increase, strict=True)]
        errors = np.clip([low, high], 0, None)
    ax.bar(
        x + 0.2,
        champion,
        width=0.4,
        color="tab:orange",
        label="flow increase (champion)",
        yerr=errors,
        capsize=3,
    )
    for i, k in enumerate(keys):
        ax.annotate(
            f"{case2[k]['mass_recovered']['champion']:.0%}",
            (x[i] + 0.2, max(champion[i], 0)),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks(x, [f"{result['levels'][k]['value']:g}" for k in keys])
    ax.set_xlabel(f"precipitation level ({result['settings']['level_units']})")
    ax.set_ylabel("km³ per year")
    ax.legend(fontsize=8)
    ax.set_title("Case 2: added snow-season precipitation vs flow returned", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def balance_figure(result: dict, path: Path) -> Path:
    """Stacked bars per level: flow, ET, storage change, residual of the added water (champion, mm/yr).

    Terms the model cannot report (null) are left out of the stack; the black
    tick marks the added precipitation the stack must sum to.
    """
    case2 = result["case2"]
    keys = [k for k in result["levels"] if "water_balance" in case2.get(k, {})]
    x = np.arange(len(keys))
    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    positive, negative = np.zeros(len(keys)), np.zeros(len(keys))
    for term, color in BALANCE_STACK.items():
        values = np.array([case2[k]["water_balance"][f"{term}_mm"]["champion"] for k in keys], dtype=float)
        if np.isnan(values).all():
            continue
        values = np.nan_to_num(values)
        bottom = np.where(values >= 0, positive, negative)
        ax.bar(x, values, bottom=bottom, width=0.6, color=color, label=term.replace("_", " "))
        positive += np.clip(values, 0, None)
        negative += np.clip(values, None, 0)
    added = [case2[k]["water_balance"]["added_mm"]["champion"] for k in keys]
    ax.scatter(x, added, marker="_", s=600, color="black", label="added precipitation", zorder=3)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(x, [f"{result['levels'][k]['value']:g}" for k in keys])
    ax.set_xlabel(f"precipitation level ({result['settings']['level_units']})")
    ax.set_ylabel("mm per year over the basin")
    ax.legend(fontsize=8)
    ax.set_title(f"Case 2: where the added water goes ({result['champion']})", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def write_figures(frames: dict[str, pd.DataFrame], result: dict, figure_dir: Path) -> dict[str, Path]:
    melt_flow = result["observed"]["melt_flow_excluding_peaks_m3s"]
    basin = result["basin"]
    scenarios = {key: key.replace("_", " ") for key in result["inputs"]["case1"]}
    levels = {
        key: f"{level['value']:g} ({level['precipitation_mm_d']:.2f} mm/d)"
        for key, level in result["levels"].items()
    }
    return {
        "case1": hydrograph_figure(
            frames["case1"],
            scenarios,
            [("temperature_c", "temperature (°C)", True)],
            melt_flow,
            f"{basin} — Case 1: zero precipitation",
            figure_dir / FIGURES["case1"],
        ),
        "case2": hydrograph_figure(
            frames["case2"],
            levels,
            [
                ("precipitation_mm_d", "precipitation (mm/d)", True),
                ("temperature_c", "temperature (°C)", False),
            ],
            melt_flow,
            f"{basin} — Case 2: constant snow-season precipitation",
            figure_dir / FIGURES["case2"],
        ),
        "case2_mass": mass_figure(result, figure_dir / FIGURES["case2_mass"]),
        "case2_balance": balance_figure(result, figure_dir / FIGURES["case2_balance"]),
    }
