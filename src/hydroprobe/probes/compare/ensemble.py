"""Each compared model's replicate ensemble beside its selected replicate: skill and physics.

The selected replicate is the paper's subject, but selection by validation NSE
mostly picks noise (issue 14), and the mean of the replicates is the field's
more reliable model. So per model this module states the selected replicate,
its ensemble mean and (where the files hold it) the median member on the
same yardsticks: test and validation NSE; Case 1 flow from nothing (water a
model makes with no precipitation: less is more physical); the Case 2 share
of added water left unaccounted (closer to 0 is more physical); and the
precipitation elasticity's distance from the basin's observed 5–95 % band
(0 inside it). It then answers, in one sentence generated from those
numbers, whether the ensemble mean is more skilful and more physical.

Everything is read from the models' own ``train.json``, ``probes_paper.json``,
``case1.csv`` and ``probes_climate.json`` (``ensemble`` blocks and
``*_ensemble`` columns); nothing is re-run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hydroprobe.probes.compare.inputs import ModelInput
from hydroprobe.probes.compare.metrics import case1_summary, case2_summary
from hydroprobe.probes.compare.paper_summary import PaperSummary
from hydroprobe.probes.compare.summaries import ClimateEntry

#: Physics yardsticks: (key, label, unit style, resolution); for each, a smaller magnitude is more
#: physical. Below its resolution a difference is no difference: 1 mm a year of flow from nothing,
#: half a per cent of the added water, 0.01 of elasticity (a conserving model's 1e-15 "unaccounted"
#: against another's 2e-15 is float rounding, not physics).
PHYSICS = (
    ("flow_from_nothing_mm", "Case 1 flow from nothing (mm/yr)", ",.1f", 1.0),
    ("unaccounted_share", "Case 2 added water unaccounted", ".0%", 0.005),
    ("elasticity_distance", "elasticity outside the observed band", ".2f", 0.01),
)
#: Differences smaller than this share of the larger magnitude count as a tie.
TIE = 0.01


def with_champion(tree: Any, values: Any) -> Any:
    """``tree`` (a spread tree) with every leaf's ``champion`` replaced by the matching plain value."""
    if isinstance(tree, dict) and "champion" in tree and not isinstance(values, dict):
        return {**tree, "champion": values}
    if isinstance(tree, dict) and isinstance(values, dict):
        return {key: with_champion(value, values[key]) if key in values else value
                for key, value in tree.items()}
    return tree


def ensemble_view(model: ModelInput) -> ModelInput | None:
    """The model as its ensemble mean (paper numbers and Case 1 columns swapped in); None without one."""
    raw = model.paper.raw
    if not model.paper.has_ensemble:
        return None
    swapped = {case: with_champion(raw[case], raw["ensemble"][case]) for case in ("case1", "case2")}
    paper = PaperSummary.from_json({**raw, **swapped})
    frame = model.case1.copy()
    for column in [c for c in frame.columns if c.endswith("_discharge_m3s_ensemble")]:
        frame[column.removesuffix("_ensemble")] = frame[column]
    return dataclasses.replace(model, label=f"{model.label} ensemble", paper=paper, case1=frame)


def _band_distance(value: float | None, band: Mapping | None) -> float | None:
    if value is None or not band:
        return None
    return float(max(band["p05"] - value, value - band["p95"], 0.0))


def _case2_means(model: ModelInput, stat: str) -> tuple[float | None, float | None]:
    """Mean over levels of the recovered fraction and the residual share (``champion`` or ``median``)."""
    levels = case2_summary(model)["levels"].values()
    recovered = [level["mass_recovered"][stat] for level in levels]
    residual = [level["residual_share"][stat] for level in levels]
    def mean(values):
        return None if not values or any(v is None for v in values) else float(np.mean(values))
    return mean(recovered), mean(residual)


def _row(model: ModelInput, test: float | None, validation: float | None, stat: str,
         elasticity: float | None, band: Mapping | None) -> dict:
    recovered, residual = _case2_means(model, stat)
    return {
        "test_nse": test, "validation_nse": validation,
        "flow_from_nothing_mm": case1_summary(model)["flow_from_nothing_mm"] if stat == "champion" else None,
        "recovered_mean": recovered, "unaccounted_share": residual, "elasticity": elasticity,
        "elasticity_distance": _band_distance(elasticity, band),
    }


def _verdict(ensemble: Mapping, other: Mapping) -> dict[str, str]:
    """Per physics yardstick: ``better``, ``worse`` or ``tie`` for the ensemble (absent where unknown)."""
    out = {}
    for key, _, _, resolution in PHYSICS:
        a, b = ensemble.get(key), other.get(key)
        if a is None or b is None:
            continue
        a, b = abs(a), abs(b)
        tie = abs(a - b) <= max(TIE * max(a, b), resolution)
        out[key] = "tie" if tie else ("better" if a < b else "worse")
    return out


def model_ensemble(model: ModelInput, climate: ClimateEntry | None) -> dict | None:
    """One model's selected / ensemble / median-member rows and the two answers; None without an ensemble."""
    view, train, climate = ensemble_view(model), model.train, climate or ClimateEntry()
    if view is None or not train.has_ensemble:
        return None
    median = {split: train.spread(split)["median"] for split in ("test", "validation")}
    band = climate.band
    rows = {
        "selected": _row(model, train.score("test"), train.score("validation"), "champion",
                         climate.elasticity, band),
        "ensemble": _row(view, train.ensemble_score("test"), train.ensemble_score("validation"), "champion",
                         climate.ensemble_elasticity, band),
        "median_member": _row(model, median["test"], median["validation"], "median",
                              climate.median_elasticity, band),
    }
    ensemble, selected, typical = rows["ensemble"], rows["selected"], rows["median_member"]
    skilful = None if ensemble["test_nse"] is None else bool(
        ensemble["test_nse"] > (selected["test_nse"] or -np.inf)
        and ensemble["test_nse"] > (typical["test_nse"] or -np.inf))
    physics = _verdict(ensemble, selected)
    better, worse = (sum(v == word for v in physics.values()) for word in ("better", "worse"))
    physical = None if not physics else better > worse
    return {"members": train.members, **rows, "physics_vs_selected": physics,
            "more_skilful": skilful, "more_physical": physical}


def ensemble_comparison(models: Sequence[tuple[ModelInput, ClimateEntry | None]]) -> dict:
    """``{per_model: {label: model_ensemble}, answer}`` for each ``(model, its climate entry)``."""
    per_model = {}
    for model, climate in models:
        entry = model_ensemble(model, climate)
        if entry is not None:
            per_model[model.label] = entry
    return {"per_model": per_model, "answer": answer(per_model)}


def _yes(flag: bool | None, word: str) -> str:
    return f"{word} unknown" if flag is None else (f"more {word}" if flag else f"not more {word}")


def answer(per_model: Mapping) -> str:
    """One plain sentence: is the ensemble mean more skilful and more physical than its members?"""
    if not per_model:
        return "No compared model has a replicate ensemble (run the train and probe stages again)."
    parts = [f"{label}: {_yes(e['more_skilful'], 'skilful')} and {_yes(e['more_physical'], 'physical')}"
             for label, e in per_model.items()]
    return ("Is the replicate ensemble mean more skilful and more physical than its members? "
            + "; ".join(parts) + ".")
