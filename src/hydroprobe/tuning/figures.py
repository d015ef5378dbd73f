"""Optimisation history and parameter importance of a study, as PNG files.

Importance (fANOVA) needs at least two complete trials with differing
values; with fewer the figure is skipped and the reason returned, so a short
or heavily pruned study still produces its history.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers or CI

import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402
from optuna.visualization import matplotlib as optuna_plots  # noqa: E402

HISTORY = "history.png"
IMPORTANCE = "importance.png"


def _save(axes, path: Path) -> Path:
    figure = axes.figure
    figure.set_size_inches(7, 4.5)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def save_figures(study: optuna.Study, out_dir: Path) -> tuple[list[Path], str | None]:
    """Write the figures into ``out_dir``; return their paths and why importance was skipped, if it was."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        written = [
            _save(
                optuna_plots.plot_optimization_history(study, target_name="validation NSE"), out_dir / HISTORY
            )
        ]
        stale = out_dir / IMPORTANCE
        stale.unlink(missing_ok=True)
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if len(complete) < 2:
            return written, f"parameter importance needs >= 2 complete trials (have {len(complete)})"
        try:
            axes = optuna_plots.plot_param_importances(study, target_name="validation NSE")
        except (RuntimeError, ValueError) as error:
            plt.close("all")
            return written, f"parameter importance failed: {error}"
        written.append(_save(axes, out_dir / IMPORTANCE))
    return written, None
