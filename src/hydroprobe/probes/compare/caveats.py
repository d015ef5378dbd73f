"""What the verdict must say before its numbers: models still training, models too poor to read.

A probe number describes the model it probed. A model whose best epoch came at the end of
its budget may change with more training, and one below the skill floor describes a poor
model rather than physics; the report says both before it states any finding.
"""

from __future__ import annotations

from collections.abc import Mapping


def converged_cell(model: Mapping) -> str:
    """``yes (31/40)``, ``**no** (40/40)`` or ``—`` where a model brings no convergence evidence."""
    trust = model.get("trust") or {}
    if trust.get("converged") is None:
        return "—"
    word = "yes" if trust["converged"] else "**no**"
    return f"{word} ({trust['best']}/{trust['budget']})"


def caveats(metrics: Mapping) -> list[str]:
    """Which models' numbers are provisional (not converged) or describe a poor model (below the floor)."""
    sentences = []
    for label in metrics["models"]:
        trust = metrics["per_model"][label].get("trust") or {}
        if trust.get("converged") is False:
            sentences.append(
                f"{label} did not converge (best {trust['unit']} {trust['best']} of {trust['budget']}): "
                f"its skill and probe numbers below are provisional; train it further with "
                f"`{trust['train_further']}`."
            )
        if trust.get("below_skill_floor"):
            sentences.append(
                f"{label}'s validation NSE {trust['validation_nse']:.2f} is below the skill floor "
                f"{trust['skill_floor']:.2f}: its probe numbers describe a poor model and should "
                "not be read as physics."
            )
    return sentences
