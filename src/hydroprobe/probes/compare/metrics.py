"""The side-by-side numbers: skill, Case 1 flow from nothing, Case 2 recovery and where the added water goes.

The paper judged its LSTM's Case 2 recovery (17–39 %) against the observed
runoff ratio, but a runoff ratio mixes years, seasons and storage; the fair
yardstick is a model that *must* conserve mass, fed the same hypothetical
inputs. So every non-conserving model's recovered fraction is also stated
as a ratio to each conserving reference's, level by level and on average.

Every number comes from the models' own ``metrics/train.json``,
``metrics/probes_paper.json`` and ``plots/probes/case1.csv``; the result is
JSON-ready (undefined numbers are ``None``) for ``metrics/comparison.json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hydroprobe.probes.compare.inputs import ModelInput
from hydroprobe.probes.compare.paper_summary import Spread
from hydroprobe.probes.compare.summaries import Convergence, TrainSummary, finite
from hydroprobe.probes.spread import spread
from hydroprobe.probes.volumes import flow_volume_km3

SPLITS = ("train", "validation", "test")
SCORES = ("nse", "kge")
#: The Case 1 scenario compared: observed temperature climatology, zero precipitation.
CASE1_SCENARIO = "observed_climatology"
#: Terms of the added-water balance, as :mod:`hydroprobe.probes.water_balance` writes them.
BALANCE_TERMS = ("added", "flow", "et", "storage_change", "residual")
#: The terms stated as a share of the added water.
SHARE_TERMS = ("flow", "et", "storage_change", "residual")
#: Monotonicity verdicts that count as monotonic.
MONOTONIC = ("increasing", "decreasing", "constant")

CONVENTIONS = {
    "skill": "NSE and KGE per split: 'selected' is the champion replicate (train.json's selection rule), "
    "median/p05/p95 are over replicates",
    "case1": f"scenario '{CASE1_SCENARIO}': observed daily temperature climatology with zero precipitation, "
    "after a discarded spin-up of the same climate",
    "flow_from_nothing": "champion's flow in the last simulated year of the Case 1 scenario, from "
    "plots/probes/case1.csv, in km³, mm over the basin and mean m³/s: the year furthest from the last "
    "water a model was given, so a conserving model's stores have drained most while a model that makes "
    "water makes it every year; last_over_first_year < 1 is a draining store, about 1 a periodic source. "
    "The replicate spread of the spring part is melt_season_volume (probes_paper.json)",
    "mass_recovered": "Case 2: annual flow increase over level 0 / added precipitation volume",
    "shares": "Case 2 balance terms of the added water / added water (flow, ET or trash, storage change, "
    "residual); null where a model cannot report the term (an LSTM's ET and storage change)",
    "trend": "increasing: never falls and rises at least once over the levels (relative tolerance 1e-9); "
    "decreasing likewise; constant; non-monotonic; undefined when a level has no value",
    "relative_recovery": "a non-conserving model's mass recovered / a conserving reference's, per level "
    "(champion over champion, median over median; null where the reference recovers <= 0) and the mean "
    "of the per-level ratios",
    "recovered_over_runoff_ratio": "mass recovered / observed training-period runoff ratio",
}



def _mean(values: Sequence[float | None]) -> float | None:
    """Mean of the defined values (None if there are none)."""
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else None


def _positive_ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``; None where either is undefined or the denominator is not positive."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


#: Recovered fractions that differ by less than half a percentage point of the added water are
#: level: an MC-LSTM returning 60.9 % and then 60.8 % has no trend worth a "non-monotonic".
RECOVERY_STEP = 0.005


def monotonicity(values: Sequence[float | None], tolerance: float = 1e-9) -> str:
    """``increasing``, ``decreasing``, ``constant``, ``non-monotonic`` or ``undefined`` (a gap, < 2 values).

    Steps smaller than ``tolerance`` × the largest magnitude count as flat, so
    float noise in a constant series does not read as a trend.
    """
    numbers = [finite(v) for v in values]
    if len(numbers) < 2 or any(v is None for v in numbers):
        return "undefined"
    array = np.asarray(numbers, dtype=np.float64)
    steps = np.diff(array)
    flat = tolerance * max(1.0, float(np.abs(array).max()))
    rises, falls = bool((steps > flat).any()), bool((steps < -flat).any())
    if rises and falls:
        return "non-monotonic"
    if rises:
        return "increasing"
    return "decreasing" if falls else "constant"


def is_monotonic(values: Sequence[float | None], tolerance: float = 1e-9) -> bool:
    """Whether :func:`monotonicity` finds one direction (or none) over ``values``."""
    return monotonicity(values, tolerance) in MONOTONIC


def skill(train: TrainSummary) -> dict[str, dict[str, dict[str, float | None]]]:
    """``{split: {score: {selected, median, p05, p95}}}`` of a model's ``metrics/train.json``."""
    return {split: {score: {"selected": train.score(split, score), **train.spread(split, score)}
                    for score in SCORES}
            for split in SPLITS}


def yearly_volumes_km3(model: ModelInput, scenario: str = CASE1_SCENARIO) -> list[float]:
    """The champion's flow volume (km³) in each simulated year of a Case 1 ``scenario``."""
    frame, column = model.case1, f"{scenario}_discharge_m3s"
    if column not in frame:
        raise KeyError(f"{model.label}: plots/probes/case1.csv has no column '{column}'")
    return [
        flow_volume_km3(frame.loc[frame["year"] == year, column]) for year in sorted(frame["year"].unique())
    ]


def case1_summary(model: ModelInput) -> dict:
    """Peak, timing and the flow a model lets out with no precipitation at all (see ``CONVENTIONS``)."""
    node = model.paper.case1[CASE1_SCENARIO]
    to_mm = 1e6 / model.paper.area_km2  # 1 km³ over A km² is 10⁶ / A mm
    volumes = yearly_volumes_km3(model)
    last = volumes[-1]
    last_year = model.case1.loc[
        model.case1["year"] == model.case1["year"].max(), f"{CASE1_SCENARIO}_discharge_m3s"
    ]
    def leaf(metric: str) -> Spread:
        return node.get(metric, Spread())

    return {
        "peak_flow_m3s": leaf("peak_flow_m3s").stats(),
        "peak_date": leaf("peak_date").champion,
        "peak_fraction_of_observed_melt_flow": leaf("peak_fraction_of_observed_melt_flow").stats(),
        "winter_low_flow_m3s": leaf("winter_low_flow_m3s").stats(),
        "melt_season_volume_km3": leaf("melt_season_volume_km3").stats(),
        "melt_season_volume_mm": leaf("melt_season_volume_km3").stats(to_mm),
        "annual_volume_km3": volumes,
        "flow_from_nothing_km3": last,
        "flow_from_nothing_mm": last * to_mm,
        "flow_from_nothing_m3s": float(last_year.mean()),
        "last_over_first_year": _positive_ratio(last, volumes[0]),
    }


def _share(term: Spread, added: Spread) -> dict[str, float | None]:
    """A balance term as a share of the added water: champion, and spread over replicate shares."""
    champion = _positive_ratio(finite(term.champion), finite(added.champion))
    pairs = zip(term.replicates, added.replicates, strict=False)
    shares = [s for s in (_positive_ratio(finite(t), finite(a)) for t, a in pairs) if s is not None]
    band = spread(shares) if shares else dict.fromkeys(("median", "p05", "p95"))
    return {"champion": champion, **{key: finite(value) for key, value in band.items()}}


def case2_summary(model: ModelInput) -> dict:
    """Recovered fraction, balance (mm, km³) and shares per level, and their behaviour over levels."""
    paper = model.paper
    keys = paper.level_keys
    levels: dict[str, dict] = {}
    for level in paper.levels:
        levels[level.key] = {
            "mass_recovered": level.mass_recovered.stats(),
            "flow_increase_km3": level.volume_increase_km3.stats(),
            "balance": {
                f"{term}_{unit}": level.term(f"{term}_{unit}").stats()
                for term in BALANCE_TERMS
                for unit in ("mm", "km3")
            },
            **{f"{term}_share": _share(level.term(f"{term}_mm"), level.term("added_mm"))
               for term in SHARE_TERMS},
        }
    recovered = [levels[key]["mass_recovered"]["champion"] for key in keys]
    increase = [levels[key]["flow_increase_km3"]["champion"] for key in keys]
    over_runoff = {key: _positive_ratio(value, paper.runoff_ratio)
                   for key, value in zip(keys, recovered, strict=True)}
    return {
        "levels": levels,
        "mass_recovered_mean": _mean(recovered),
        "mass_recovered_trend": monotonicity(recovered, RECOVERY_STEP),
        "mass_recovered_monotonic": is_monotonic(recovered, RECOVERY_STEP),
        "flow_increase_trend": monotonicity(increase),
        "peak_grows_monotonically": paper.peak_grows,
        "peak_grows_monotonically_fraction": paper.peak_grows_fraction,
        "share_means": {
            f"{term}_share": _mean([levels[key][f"{term}_share"]["champion"] for key in keys])
            for term in SHARE_TERMS
        },
        "recovered_over_runoff_ratio": {**over_runoff, "mean": _mean(list(over_runoff.values()))},
    }


def relative_recovery(model: Mapping, reference: Mapping) -> dict:
    """``model``'s mass recovered over ``reference``'s on their common levels (``case2_summary`` dicts)."""
    keys = [key for key in model["levels"] if key in reference["levels"]]
    levels = {
        key: {
            stat: _positive_ratio(
                model["levels"][key]["mass_recovered"][stat], reference["levels"][key]["mass_recovered"][stat]
            )
            for stat in ("champion", "median")
        }
        for key in keys
    }
    # all levels together: summed recovered fractions (the added water is the same per level for every
    # model), so a level where the reference returns almost nothing cannot dominate as a mean of ratios would
    def summed(summary: Mapping, stat: str) -> float | None:
        values = [summary["levels"][key]["mass_recovered"][stat] for key in keys]
        return None if any(v is None for v in values) else float(sum(values))

    return {
        "levels": levels,
        **{f"{stat}_all_levels": _positive_ratio(summed(model, stat), summed(reference, stat))
           for stat in ("champion", "median")},
    }


def trust(train: TrainSummary, skill_floor: float) -> dict:
    """Whether a model's numbers can carry a verdict: finished training, and skilful enough.

    ``converged`` is None for a model without convergence evidence (an imported one).
    """
    convergence = train.convergence or Convergence()
    validation = train.score("validation")
    return {
        "converged": convergence.converged,
        "best": convergence.best,
        "budget": convergence.budget,
        "unit": convergence.unit,
        "train_further": convergence.train_further,
        "validation_nse": validation,
        "skill_floor": skill_floor,
        "below_skill_floor": validation is not None and validation < skill_floor,
    }


def comparison_metrics(models: Sequence[ModelInput], skill_floor: float = 0.6) -> dict:
    """Everything the side-by-side report states, per model and relative to the conserving references.

    Layout: ``basin``, ``models`` (labels, in order), ``conventions``,
    ``observed`` (runoff ratio, observed melt-season flow, area, of the first
    model's file), ``levels`` (value and mm/d of the first model's Case 2
    levels), ``per_model.<label>`` (``kind``, ``conserving``, ``et_term``,
    ``trust`` (convergence and skill floor, :func:`trust`),
    ``skill``, ``case1``, ``case2``) and
    ``relative_recovery.<non-conserving label>.<conserving label>``.
    """
    if not models:
        raise ValueError("comparison_metrics needs at least one model")
    labels = [model.label for model in models]
    if len(set(labels)) != len(labels):
        raise ValueError(f"model labels must be unique: {labels}")
    first = models[0].paper
    per_model = {
        model.label: {
            "kind": model.kind,
            "conserving": model.conserving,
            "et_term": model.et_term,
            "skill": skill(model.train),
            "trust": trust(model.train, skill_floor),
            "case1": case1_summary(model),
            "case2": case2_summary(model),
        }
        for model in models
    }
    references = [model.label for model in models if model.conserving]
    relative = {
        model.label: {
            reference: relative_recovery(per_model[model.label]["case2"], per_model[reference]["case2"])
            for reference in references
        }
        for model in models
        if not model.conserving and references
    }
    return {
        "basin": first.basin,
        "models": labels,
        "conventions": CONVENTIONS,
        "observed": {
            "runoff_ratio": first.runoff_ratio,
            "melt_flow_excluding_peaks_m3s": first.melt_flow_m3s,
            "area_km2": first.area_km2,
        },
        "levels": {level.key: {"value": level.value, "precipitation_mm_d": level.precipitation_mm_d}
                   for level in first.levels},
        "per_model": per_model,
        "relative_recovery": relative,
    }
