"""A handful of numbers per model, the ones `dvc exp show` and `dvc metrics show` put in columns.

The full metrics (every split, percentile, level, scenario and rule) run to
hundreds of keys per model; declared as DVC metrics they turn `dvc exp show`
into columns of "…". Each model gets one small headline file instead — skill,
recovery, flow from nothing, elasticity — and the detail stays in the JSON
files and figures the report reads.
"""

from __future__ import annotations

from hydroprobe.probes.compare.summaries import ClimateEntry, TrainSummary

#: Headline keys, in the order `dvc exp show` puts them. ``nse``: test NSE of the selected
#: replicate; ``nse_median``: over replicates; ``nse_ensemble``: of the replicates' mean
#: discharge (null for a model without replicates); ``from_nothing_mm``: Case 1 flow in the last
#: zero-precipitation year; ``recovered``: Case 2 share of added water returned as flow;
#: ``elasticity``: flow change / precipitation change (the observed band is in the report).
HEADLINE_KEYS = ("nse", "nse_median", "nse_ensemble", "from_nothing_mm", "recovered", "elasticity")


def headline(label: str, comparison: dict, climate: ClimateEntry | None, train: TrainSummary) -> dict:
    """One model's headline from the comparison metrics and its own climate-probe entry.

    ``climate`` may be None when the climate probe was not run (its numbers are then null);
    ``train`` is the model's ``train.json`` (its ensemble mean's score, when it has replicates).
    """
    model = comparison["per_model"][label]
    return {
        "nse": model["skill"]["test"]["nse"]["selected"],
        "nse_median": model["skill"]["test"]["nse"]["median"],
        "nse_ensemble": train.ensemble_score("test"),
        "from_nothing_mm": model["case1"]["flow_from_nothing_mm"],
        "recovered": model["case2"]["mass_recovered_mean"],
        "elasticity": (climate or ClimateEntry()).elasticity,
    }
