"""The climate probe on the replicate ensemble's mean, from the replicates' own runs.

Every replicate already runs on the observed and each perturbed climate, so
the ensemble (the members' mean discharge,
:class:`~hydroprobe.models.replicate_ensemble.ReplicateEnsemble`) needs no
run of its own: its daily flow under each climate is the replicates' mean,
and its signatures, responses and rule verdicts are computed from that flow
exactly as for any model (they are not linear, so they are not averaged).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hydroprobe.data.basin import PRECIPITATION
from hydroprobe.models.replicate_ensemble import mean_of
from hydroprobe.probes.climate.responses import response
from hydroprobe.probes.climate.rules import judge_model
from hydroprobe.probes.climate.signatures import annual_signatures


def _responses(signatures: dict[str, dict], scenarios: Sequence) -> dict[str, dict]:
    return {s.name: response(signatures["baseline"], signatures[s.name]) for s in scenarios}


def ensemble_entry(replicates: Sequence, climates: dict[str, pd.DataFrame], frame: dict) -> dict | None:
    """``{members, baseline, scenarios, rules}`` of the members' mean; None without replicates.

    ``replicates`` are the replicate runs' answers (``flows`` and ``signatures`` per climate);
    ``rules`` judges the ensemble as the champion, against the same replicates.
    """
    if not replicates:
        return None
    signatures = {}
    for name, climate in climates.items():
        first = replicates[0].flows[name]
        flow = pd.Series(mean_of([r.flows[name].to_numpy() for r in replicates]), index=first.index)
        signatures[name] = annual_signatures(
            flow, climate[PRECIPITATION], frame["area_km2"], frame["water_years"]
        )
    scenarios = frame["scenarios"]
    responses = _responses(signatures, scenarios)
    members = [_responses(r.signatures, scenarios) for r in replicates]
    return {
        "members": len(replicates),
        "baseline": signatures["baseline"],
        "scenarios": responses,
        "rules": judge_model(responses, members, scenarios, frame["context"]),
    }


def mean_elasticity(rules: dict, who: str = "champion") -> float | None:
    """Mean elasticity over the whole-year precipitation scenarios of a rules block's ``who`` run."""
    values = ((rules.get("elasticity_in_observed_band") or {}).get(who) or {}).get("values") or {}
    finite = [v for v in values.values() if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def ensemble_lines(result: dict) -> list[str]:
    """Report lines: per model, the ensemble mean's elasticity and rule passes beside the champion's."""
    rows = []
    for label, model in result["models"].items():
        ensemble = model.get("ensemble")
        if not ensemble:
            continue
        applicable = [key for key, rule in model["rules"].items() if rule["applicable"]]
        passes = {who: sum(block[key]["champion"]["passed"] for key in applicable)
                  for who, block in (("champion", model["rules"]), ("ensemble", ensemble["rules"]))}
        elasticity = {who: mean_elasticity(block)
                      for who, block in (("champion", model["rules"]), ("ensemble", ensemble["rules"]))}
        text = {who: "—" if value is None else f"{value:.2f}" for who, value in elasticity.items()}
        rows.append(f"| {label} | {ensemble['members']} | {text['champion']} | {text['ensemble']} | "
                    f"{passes['champion']}/{len(applicable)} | {passes['ensemble']}/{len(applicable)} |")
    if not rows:
        return []
    band = result["observed_elasticity"]
    return [
        "### Replicate ensemble mean",
        "",
        "The mean discharge of every replicate, as a model of its own (from the replicates' runs). "
        f"Elasticity: mean over the whole-year precipitation scenarios; observed band "
        f"{band['p05']:.2f}–{band['p95']:.2f}.",
        "",
        "| model | members | elasticity, champion | elasticity, ensemble | rules passed, champion "
        "| rules passed, ensemble |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]
