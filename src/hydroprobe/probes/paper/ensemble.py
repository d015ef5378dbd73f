"""Cases 1 and 2 on the replicate ensemble's mean, from the replicates' own probe runs.

The probes already simulate every replicate through every scenario, so the
ensemble (:class:`~hydroprobe.models.replicate_ensemble.ReplicateEnsemble`,
the members' mean discharge) needs no model run of its own: its flows are
the mean of the replicates' flows (same spin-up, so the same days), and its
Case 2 balance is the mean of theirs, because every balance term is a sum or
difference of the daily fluxes, which the ensemble averages. The headline
numbers (peaks, volumes, recovery) are then measured on the mean flows, as
for any model. ``tests/probes/test_replicate_ensemble.py`` checks this equals
running the ensemble model itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hydroprobe.models.replicate_ensemble import mean_of
from hydroprobe.probes.hypothetical import Scenario
from hydroprobe.probes.paper.case1 import case1_metrics, shift_effects
from hydroprobe.probes.paper.case2 import case2_metrics
from hydroprobe.probes.paper.reference import ObservedReference
from hydroprobe.probes.paper.settings import ProbeSettings


def _mean_balance(balances: Sequence[dict[str, float]]) -> dict[str, float]:
    return {term: float(np.mean([b[term] for b in balances])) for term in balances[0]}


def ensemble_answers(
    replicates: Sequence, scenarios: dict[str, dict[str, Scenario]], reference: ObservedReference,
    settings: ProbeSettings,
) -> tuple[dict, dict[str, dict[str, np.ndarray]]] | None:
    """``(metrics, flows)`` of the members' mean from the replicates' ``SimulatorProbes``; None if none."""
    if not replicates:
        return None
    flows = {
        case: {key: mean_of([r.flows[case][key] for r in replicates]) for key in cases}
        for case, cases in scenarios.items()
    }
    melt = reference.melt_flow_m3s
    case1 = {key: case1_metrics(flow, settings, melt) for key, flow in flows["case1"].items()}
    case1["shift_effects"] = shift_effects(case1)
    case2 = case2_metrics(flows["case2"], scenarios["case2"], settings, reference.area_km2)
    for key, entry in case2.items():
        if not isinstance(entry, dict):
            continue
        members = [r.metrics["case2"][key].get("water_balance") for r in replicates]
        if all(members):
            entry["water_balance"] = _mean_balance(members)
    return {"case1": case1, "case2": case2}, flows


def ensemble_lines(result: dict) -> list[str]:
    """Report lines: the ensemble mean beside the champion and the replicate spread, a few headline rows."""
    ensemble = result.get("ensemble")
    if not ensemble:
        return []
    case1, case2 = result["case1"]["observed_climatology"], result["case2"]
    rows = [("Case 1 peak, observed climatology, P = 0 (m³/s)", case1["peak_flow_m3s"],
             ensemble["case1"]["observed_climatology"]["peak_flow_m3s"], ",.1f"),
            ("Case 1 melt-season volume, P = 0 (km³)", case1["melt_season_volume_km3"],
             ensemble["case1"]["observed_climatology"]["melt_season_volume_km3"], ".3f")]
    for key, level in result["levels"].items():
        if level["value"] > 0 and "mass_recovered" in case2.get(key, {}):
            rows.append((f"Case 2 mass recovered, level {level['value']:g}", case2[key]["mass_recovered"],
                         ensemble["case2"][key]["mass_recovered"], ".0%"))
    lines = [
        f"Replicate ensemble (mean discharge of the {ensemble['members']} replicates, a model of its own; "
        "probed from the replicates' runs):",
        "",
        "| Quantity | Champion | Ensemble mean | Replicate median | Replicate 5–95 % |",
        "|---|---|---|---|---|",
    ]
    for label, node, value, style in rows:
        band = (f"{format(node['p05'], style)} – {format(node['p95'], style)}"
                if node.get("p05") is not None else "—")
        cells = [node.get("champion"), value, node.get("median")]
        text = ["—" if v is None else format(v, style) for v in cells]
        lines.append(f"| {label} | {text[0]} | {text[1]} | {text[2]} | {band} |")
    return [*lines, ""]
