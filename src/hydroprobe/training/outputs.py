"""Files the ``train`` stage leaves for DVC: metrics JSON, replicate table, plot data, figures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE  # noqa: E402
from hydroprobe.data.dataset import BasinDataset  # noqa: E402
from hydroprobe.training.convergence import (  # noqa: E402
    LATE_SHARE,
    Budget,
    convergence_summary,
    selection_noise,
)
from hydroprobe.training.replicates import TrainingOutcome  # noqa: E402

PAPER_ISHIKARI = {  # paper §2.3: RMSE (m³/s), r, NSE per split for the Ishikari River
    "train": {"rmse": 144.7, "r": 0.946, "nse": 0.877},
    "validation": {"rmse": 190.9, "r": 0.940, "nse": 0.879},
    "test": {"rmse": 174.3, "r": 0.904, "nse": 0.800},
}


def train_metrics(
    outcome: TrainingOutcome, environment: dict, budget: Budget, ensemble: dict | None = None
) -> dict:
    """``metrics/train.json``; ``ensemble`` (the members' mean, :mod:`.ensemble_mean`) is added when given."""
    best = outcome.best
    summary = {
        "selection": "highest validation NSE",
        "replicates": len(outcome.replicates),
        "config_hash": outcome.config_hash,
        "environment": environment,
        "convergence": convergence_summary(outcome, budget),
        "selection_noise": selection_noise(outcome),
        "selected": {"seed": best.seed, "best_epoch": best.result.best_epoch, **best.metrics},
        "distribution": outcome.distribution(),
        "samples": outcome.samples,
    }
    return {**summary, "ensemble": ensemble} if ensemble else summary


def replicate_table(outcome: TrainingOutcome) -> pd.DataFrame:
    rows = []
    for o in outcome.replicates:
        row = {
            "seed": o.seed,
            "best_epoch": o.result.best_epoch,
            "epochs_run": o.result.epochs_run,
            "seconds": round(o.result.seconds, 2),
            "reused": o.reused,
        }
        row.update({f"{s}_{m}": v for s, scores in o.metrics.items() for m, v in scores.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def loss_curves(outcome: TrainingOutcome) -> pd.DataFrame:
    """Long table: epoch, seed, train_loss, validation_loss for every replicate."""
    frames = [
        pd.DataFrame(
            {
                "epoch": np.arange(1, o.result.epochs_run + 1),
                "seed": o.seed,
                "train_loss": o.result.train_loss,
                "validation_loss": o.result.validation_loss,
            }
        )
        for o in outcome.replicates
    ]
    return pd.concat(frames, ignore_index=True)


def test_hydrograph(dataset: BasinDataset, days: np.ndarray, simulated: np.ndarray) -> pd.DataFrame:
    """Every day from the first to the last sample; discharge is empty where it was not
    observed (or not simulated), so plots show the gaps instead of bridging them."""
    frame = dataset.series.frame.iloc[days[0] : days[-1] + 1]
    simulated_all = np.full(len(frame), np.nan)
    simulated_all[days - days[0]] = np.round(simulated, 3)
    return pd.DataFrame(
        {
            "date": frame.index.strftime("%Y-%m-%d"),
            "observed": frame[DISCHARGE].to_numpy(),
            "simulated": simulated_all,
            "precipitation": frame[PRECIPITATION].to_numpy(),
            "temperature": frame[TEMPERATURE].to_numpy(),
        }
    )


def plot_hydrograph(table: pd.DataFrame, title: str, path: Path) -> None:
    """Paper Fig. 2: precipitation, temperature and observed vs simulated discharge."""
    dates = pd.to_datetime(table["date"])
    fig, axes = plt.subplots(3, 1, figsize=(11, 7), sharex=True, height_ratios=[1, 1, 2])
    axes[0].bar(dates, table["precipitation"], width=1.0, color="tab:blue")
    axes[0].set_ylabel("P (mm/d)")
    axes[1].plot(dates, table["temperature"], color="tab:red", lw=0.6)
    axes[1].set_ylabel("T (°C)")
    axes[2].plot(dates, table["observed"], color="black", lw=0.8, label="observed")
    axes[2].plot(dates, table["simulated"], color="tab:orange", lw=0.8, label="simulated")
    axes[2].set_ylabel("Q (m³/s)")
    axes[2].legend(loc="upper right")
    axes[0].set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_losses(curves: pd.DataFrame, best_seed: int, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 4))
    for seed, group in curves.groupby("seed"):
        selected = seed == best_seed
        ax.plot(group["epoch"], group["validation_loss"], lw=1.6 if selected else 0.7,
                color="tab:orange" if selected else "0.6", label="selected" if selected else None)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation MSE (normalised)")
    ax.set_title(f"Validation loss of {curves['seed'].nunique()} replicates")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(value: float, metric: str) -> str:
    return f"{value:.1f}" if metric == "rmse" else f"{value:.3f}"


def reproducibility(outcome: TrainingOutcome, environment: dict) -> list[str]:
    """What a user may expect to reproduce, beside this run's replicate spread."""
    spread = outcome.distribution()["test"]["nse"]
    where = ", ".join(f"{key} {environment[key]}" for key in ("engine", "device", "cpu_model", "threads",
                                                              "torch") if key in environment)
    return [
        f"Trained with {where}. Training is deterministic: the same command on the same processor "
        "family, thread count, engine and torch build gives the same numbers to the last digit. On "
        "another processor (e.g. Intel vs AMD) float rounding differs in the last bit and training "
        "grows it into a different replicate (one seed moved by 0.1 test NSE between two CPUs), so "
        "rely on the replicate distribution — here test NSE median "
        f"{spread['median']:.3f}, 5–95 % {spread['p05']:.3f}–{spread['p95']:.3f} — not on one seed's "
        "digits.",
        "",
    ]


def trust(outcome: TrainingOutcome, budget: Budget) -> list[str]:
    """Whether the selected replicate finished training, and how much its selection is worth."""
    convergence, noise = convergence_summary(outcome, budget), selection_noise(outcome)
    selected = convergence["selected"]
    if selected["converged"]:
        state = (f"Converged: the selected replicate's best {budget.unit} is {selected['best']} of a "
                 f"budget of {budget.steps}")
    else:
        state = (f"**Not converged**: the selected replicate's best {budget.unit} is {selected['best']} "
                 f"of {budget.steps}, in the last {LATE_SHARE:.0%} of the budget, so its numbers and every "
                 f"probe of it are provisional. Train further with `{budget.train_further}`")
    late = convergence["not_converged_seeds"]
    state += f"; {len(late)} of {len(outcome.replicates)} replicate(s) ended in the last tenth of the budget."
    rho = noise["validation_test_rank_correlation"]
    noise_text = (
        f"Selection noise: validation and test NSE rank the replicates with Spearman ρ = {rho:.2f}; "
        if rho is not None else "Selection noise: too few replicates to rank (needs 3); ")
    noise_text += (f"the replicate selected by validation NSE is number {noise['selected_test_rank']} of "
                   f"{noise['replicates']} on test.")
    return [state, "", noise_text, ""]


def fragment(
    outcome: TrainingOutcome, basin_name: str, figures: str, environment: dict, budget: Budget,
    ensemble: dict | None = None, recipe: str = "",
) -> str:
    """Report section: selected replicate, ensemble mean and replicate spread beside the paper's Ishikari."""
    best, spread = outcome.best, outcome.distribution()
    ensemble = ensemble or {}
    lines = [
        "## Training and accuracy",
        "",
        f"{basin_name}: {len(outcome.replicates)} replicate(s); selected seed {best.seed} "
        f"(highest validation NSE, best epoch {best.result.best_epoch}). Paper: Ishikari River, "
        "best of 100 replicates. RMSE in m³/s. *Ensemble mean*: the mean of the "
        f"{ensemble.get('members', len(outcome.replicates))} replicates' discharge, a model of its own.",
        "",
        *([f"Recipe: {recipe}.", ""] if recipe else []),
        "| split | metric | paper (Ishikari) | selected | ensemble mean | replicate median "
        "| replicate 5–95 % |",
        "|---|---|---|---|---|---|---|",
    ]
    for split in ("train", "validation", "test"):
        for metric in ("nse", "kge", "rmse", "r"):
            paper = PAPER_ISHIKARI[split].get(metric)
            paper_text = "—" if paper is None else _fmt(paper, metric)
            s = spread[split][metric]
            mean = ensemble.get(split, {}).get(metric)
            mean_text = "—" if mean is None else _fmt(mean, metric)
            lines.append(
                f"| {split} | {metric.upper() if metric != 'r' else 'r'} | {paper_text} | "
                f"{_fmt(best.metrics[split][metric], metric)} | {mean_text} | {_fmt(s['median'], metric)} | "
                f"{_fmt(s['p05'], metric)} – {_fmt(s['p95'], metric)} |"
            )
    lines += ["", *trust(outcome, budget), *reproducibility(outcome, environment)]
    lines += [
        f"![Test-period hydrograph]({figures}/hydrograph_test.png)",
        "",
        f"![Validation loss of every replicate]({figures}/loss_curves.png)",
    ]
    return "\n".join(lines) + "\n"


def write_all(
    outcome: TrainingOutcome,
    environment: dict,
    budget: Budget,
    hydrograph: pd.DataFrame,
    basin_name: str,
    metrics_path: Path,
    table_path: Path,
    plots_dir: Path,
    figures_dir: Path,
    fragment_path: Path,
    ensemble: dict | None = None,
    recipe: str = "",
) -> None:
    for folder in (metrics_path.parent, table_path.parent, plots_dir, figures_dir):
        folder.mkdir(parents=True, exist_ok=True)
    summary = train_metrics(outcome, environment, budget, ensemble)
    metrics_path.write_text(json.dumps(summary, indent=2) + "\n")
    replicate_table(outcome).to_csv(table_path, index=False, float_format="%.6g")
    curves = loss_curves(outcome)
    curves.to_csv(plots_dir / "loss_curves.csv", index=False, float_format="%.6g")
    hydrograph.to_csv(plots_dir / "hydrograph_test.csv", index=False)
    best = outcome.best
    title = f"{basin_name}, test period — seed {best.seed}, NSE {best.metrics['test']['nse']:.3f}"
    plot_hydrograph(hydrograph, title, figures_dir / "hydrograph_test.png")
    plot_losses(curves, best.seed, figures_dir / "loss_curves.png")
    fragment_path.parent.mkdir(parents=True, exist_ok=True)
    relative = Path(os.path.relpath(figures_dir, fragment_path.parent)).as_posix()
    fragment_path.write_text(fragment(outcome, basin_name, relative, environment, budget, ensemble, recipe))
