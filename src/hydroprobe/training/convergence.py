"""Did training finish, and does the selection mean anything? Evidence for the verdict.

A probe result describes the model it probed. If that model stopped because
its budget ran out while its validation loss was still falling, its probe
numbers are provisional: more training may change them. And picking the best
of a few replicates by validation NSE is only worth something where
validation and test skill rank the replicates alike; the project's own GPU
runs found a rank correlation of only 0.36–0.47 over 100 replicates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hydroprobe.training.replicates import TrainingOutcome
from hydroprobe.training.trainer import ReplicateResult

#: A best epoch in the last LATE_SHARE of the budget means the curve may still be falling.
LATE_SHARE = 0.10
#: The validation-loss trend is measured over the last TREND_SHARE of the epochs run.
TREND_SHARE = 0.20


@dataclass(frozen=True)
class Budget:
    """What training was allowed: ``steps`` epochs (or calibration runs) and how to allow more."""

    steps: int
    unit: str  # "epoch" or "model run"
    train_further: str  # the one command that trains the model further


def replicate_convergence(result: ReplicateResult, budget: Budget) -> dict:
    """Best step against the budget, and the validation-loss trend over the last 20 % of the curve.

    ``trend`` is the relative change of validation loss from the start of that
    tail to its end (negative: still falling). A replicate that early-stopped
    before its budget ran out is converged by definition of early stopping.
    """
    curve = np.asarray(result.validation_loss, dtype=float)
    tail = max(2, int(np.ceil(TREND_SHARE * len(curve)))) if len(curve) >= 2 else len(curve)
    start, end = (curve[-tail], curve[-1]) if tail else (np.nan, np.nan)
    trend = float((end - start) / start) if tail and start else None
    return {
        "best": result.best_epoch,
        "run": result.epochs_run,
        "budget": budget.steps,
        "validation_loss_trend": trend,
        "converged": converged(result.best_epoch, result.epochs_run, budget.steps),
    }


def converged(best: int, run: int, budget: int) -> bool:
    """Early-stopped before the budget ran out, or its best step not in the budget's last tenth."""
    return bool(run < budget or best <= (1 - LATE_SHARE) * budget)


def convergence_summary(outcome: TrainingOutcome, budget: Budget) -> dict:
    """Per replicate, and for the selected one, whether training finished; how to train further."""
    per_seed = {o.seed: replicate_convergence(o.result, budget) for o in outcome.replicates}
    return {
        "unit": budget.unit,
        "budget": budget.steps,
        "selected": per_seed[outcome.best.seed],
        "not_converged_seeds": [seed for seed, row in per_seed.items() if not row["converged"]],
        "replicates": {str(seed): row for seed, row in per_seed.items()},
        "train_further": budget.train_further,
    }


def selection_noise(outcome: TrainingOutcome) -> dict:
    """Spearman rank correlation of validation and test NSE over replicates; the selected one's test rank.

    ``selected_test_rank`` 1 means the replicate chosen by validation NSE is also
    the best on test. The correlation needs three replicates (null below that).
    """
    table = pd.DataFrame(
        {"seed": [o.seed for o in outcome.replicates],
         "validation": [o.metrics["validation"]["nse"] for o in outcome.replicates],
         "test": [o.metrics["test"]["nse"] for o in outcome.replicates]}
    )
    ranks = table["test"].rank(ascending=False, method="min")
    selected = int(ranks[table["seed"] == outcome.best.seed].iloc[0])
    correlation = (float(table["validation"].corr(table["test"], method="spearman"))
                   if len(table) >= 3 else None)
    return {"replicates": len(table), "validation_test_rank_correlation": correlation,
            "selected_test_rank": selected}
