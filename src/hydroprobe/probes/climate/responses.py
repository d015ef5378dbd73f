"""How one model's signatures move between its observed-climate run and a scenario run."""

from __future__ import annotations

import numpy as np

from hydroprobe.probes.spread import spread


def _signed_ratio(numerator: float, denominator: float) -> float | None:
    """A ratio whose denominator may be negative (removed precipitation); None only at zero."""
    return None if denominator == 0 else float(numerator / denominator)


def response(baseline: dict, perturbed: dict) -> dict[str, float | None]:
    """Changes of the annual signatures (:func:`~.signatures.annual_signatures`) of one run.

    ``returned_fraction`` is the share of the added (or removed) precipitation
    volume that comes back as flow; ``elasticity`` is ``(ΔQ/Q)/(ΔP/P)``. Both are
    None when the scenario leaves precipitation unchanged.
    """
    flow, new_flow = baseline["mean_annual_flow_km3"], perturbed["mean_annual_flow_km3"]
    rain, new_rain = baseline["mean_annual_precipitation_km3"], perturbed["mean_annual_precipitation_km3"]
    delta_flow, delta_rain = new_flow - flow, new_rain - rain
    relative_flow = _signed_ratio(delta_flow, flow)
    out = {
        "delta_flow_km3": float(delta_flow),
        "delta_flow_percent": None if relative_flow is None else 100 * relative_flow,
        "delta_runoff_ratio": float(perturbed["runoff_ratio"] - baseline["runoff_ratio"]),
        "returned_fraction": _signed_ratio(delta_flow, delta_rain),
        "elasticity": None,
        "delta_centre_of_timing_days": float(
            perturbed["centre_of_timing_days"] - baseline["centre_of_timing_days"]
        ),
    }
    if delta_rain != 0 and relative_flow is not None:
        out["elasticity"] = relative_flow / (delta_rain / rain)
    for name, key in (("peak", "mean_annual_peak_m3s"), ("low_flow_7d", "mean_annual_low_flow_7d_m3s")):
        change = perturbed[key] - baseline[key]
        out[f"delta_{name}_m3s"] = float(change)
        share = _signed_ratio(change, baseline[key])
        out[f"delta_{name}_percent"] = None if share is None else 100 * share
    return out


def replicate_spread(values: list[float | None]) -> dict[str, float | None]:
    """Median and 5–95 % over replicates; None values are left out, and None when nothing is left."""
    found = spread([v for v in values if v is not None])
    return {key: None if np.isnan(value) else value for key, value in found.items()}
