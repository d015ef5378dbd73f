"""Figures of the climate probe: response curves and the mean annual hydrograph under warming.

Response curves show each model's champion, the replicate median and its
5–95 % range, against the band of the basin's observed elasticity, so that
a reader sees at once whether a model's sensitivity is physically credible.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hydroprobe.layout import CLIMATE_FIGURES


def _series(result: dict, label: str, names: list[str], metric: str) -> tuple[np.ndarray, ...]:
    """Champion, replicate median, 5 % and 95 % of ``metric`` over scenarios ``names``."""
    scenarios = result["models"][label]["scenarios"]

    def pick(value):
        return np.nan if value is None else value

    champion = np.array([pick(scenarios[n]["champion"][metric]) for n in names], dtype=float)
    spread = [scenarios[n]["spread"][metric] for n in names]
    return (
        champion,
        *(np.array([pick(s[k]) for s in spread], dtype=float) for k in ("median", "p05", "p95")),
    )


def _curve(axis, x, values, colour: str, name: str) -> None:
    champion, median, low, high = values
    order = np.argsort(x)
    x = np.asarray(x)[order]
    axis.fill_between(x, low[order], high[order], color=colour, alpha=0.2, label=f"{name}: replicates 5–95 %")
    axis.plot(x, median[order], color=colour, linestyle="--", label=f"{name}: replicate median")
    axis.plot(x, champion[order], color=colour, marker="o", label=f"{name}: champion")


def plot_responses(result: dict, folder: Path) -> list[Path]:
    """``climate_response_precipitation.png`` and ``climate_response_temperature.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    scenarios = result["scenarios"]
    labels = list(result["models"])
    rain_all, rain_season, warming = (
        [n for n, s in scenarios.items() if s["kind"] == kind]
        for kind in ("precipitation", "snow_season", "warming")
    )
    band = result["observed_elasticity"]
    paths = []

    figure, axes = plt.subplots(1, len(labels), figsize=(5 * len(labels), 4), squeeze=False)
    for axis, label in zip(axes[0], labels, strict=True):
        changes = [scenarios[n]["precipitation_change_percent"] for n in rain_all + rain_season]
        span = np.linspace(min([0.0, *changes]), max([0.0, *changes]), 50)
        axis.fill_between(
            span,
            band["p05"] * span,
            band["p95"] * span,
            color="grey",
            alpha=0.25,
            label=f"observed ε 5–95 % ({band['p05']:.2f}–{band['p95']:.2f})",
        )
        axis.plot(span, band["median"] * span, color="grey", label=f"observed ε = {band['median']:.2f}")
        for names, colour, name in (
            (rain_all, "tab:blue", "all year"),
            (rain_season, "tab:green", "snow season"),
        ):
            if names:
                x = [scenarios[n]["precipitation_change_percent"] for n in names]
                _curve(axis, x, _series(result, label, names, "delta_flow_percent"), colour, name)
        axis.axhline(0, color="black", linewidth=0.5)
        axis.set(title=label, xlabel="ΔP (%)", ylabel="Δ mean annual flow (%)")
        axis.legend(fontsize=7)
    paths.append(folder / CLIMATE_FIGURES["precipitation"])
    figure.tight_layout()
    figure.savefig(paths[-1], dpi=120)
    plt.close(figure)

    figure, axes = plt.subplots(2, len(labels), figsize=(5 * len(labels), 7), squeeze=False)
    x = [scenarios[n]["temperature_shift"] for n in warming]
    for column, label in enumerate(labels):
        for row, (metric, unit) in enumerate(
            (
                ("delta_flow_percent", "Δ mean annual flow (%)"),
                ("delta_centre_of_timing_days", "Δ centre of timing (days)"),
            )
        ):
            axis = axes[row][column]
            if warming:
                _curve(axis, x, _series(result, label, warming, metric), "tab:red", "warming")
            axis.axhline(0, color="black", linewidth=0.5)
            axis.set(title=label, xlabel="ΔT (°C)", ylabel=unit)
            axis.legend(fontsize=7)
    paths.append(folder / CLIMATE_FIGURES["temperature"])
    figure.tight_layout()
    figure.savefig(paths[-1], dpi=120)
    plt.close(figure)
    return paths


def plot_hydrographs(hydrographs: dict[str, dict[str, np.ndarray]], path: Path) -> Path:
    """Mean annual hydrograph of each model's champion under each warming level (one panel a model)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(1, len(hydrographs), figsize=(5 * len(hydrographs), 4), squeeze=False)
    for axis, (label, curves) in zip(axes[0], hydrographs.items(), strict=True):
        colours = plt.cm.autumn_r(np.linspace(0.2, 1.0, max(len(curves) - 1, 1)))
        for i, (name, flow) in enumerate(curves.items()):
            colour = "black" if i == 0 else colours[i - 1]
            axis.plot(np.arange(1, len(flow) + 1), flow, color=colour, label=name)
        axis.set(title=f"{label} champion", xlabel="day of water year (1 = 1 Oct)", ylabel="mean flow (m³/s)")
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
