"""Where the added water goes: the Case 2 balance of a level against the zero level.

The paper calls 17–39 % of added snow-season precipitation returned as flow
a mass-conservation failure, but a basin also loses water to
evapotranspiration and may still hold some at the end of a year. So for
each level the *added* water (level minus level 0, per simulated year,
averaged) is split into

* ``added``: added precipitation (into the basin, positive);
* ``flow``: extra discharge (out of the basin, positive when the level adds flow);
* ``et``: extra evapotranspiration (out, positive) — the MC-LSTM's trash
  outflow, 0 for the lossless reservoir, NaN (not available) for an LSTM;
* ``storage_change``: extra water held at the end of the year minus at its
  start (positive when the basin fills) — NaN where the model has no stores;
* ``residual = added − flow − et − storage_change``, unavailable terms taken
  as 0: water the model made (negative) or lost (positive) without account.
  For an LSTM it is everything not returned as flow; for an MC-LSTM run on
  sliding windows it is the water older than the window, which each window,
  starting from empty stores, forgets.

Everything is in mm over the basin and in km³ (1 mm over 1 km² is 10⁻⁶ km³).
"""

from __future__ import annotations

import numpy as np

from hydroprobe.data.summary import discharge_mm_per_day
from hydroprobe.models.simulator import DischargeSimulator
from hydroprobe.probes.hypothetical import DAYS_PER_YEAR, Scenario, spinup_years

TERMS = ("added", "flow", "et", "storage_change", "residual")


def annual_fluxes(
    simulator: DischargeSimulator, scenario: Scenario, years: int, flow_m3s: np.ndarray, area_km2: float
) -> dict[str, np.ndarray]:
    """Per simulated year (arrays of ``years``), in mm: precipitation, flow, ET and storage change.

    ``flow_m3s`` is the ``(years, 365)`` discharge already simulated for the
    scenario; it is the flow term of a model without ``simulate_fluxes``, whose
    ET and storage change are NaN. A model with it is rerun with the same spin-up.
    """
    precipitation = np.full(years, float(np.sum(scenario.precipitation)))
    if not simulator.has_fluxes:
        unavailable = np.full(years, np.nan)
        flow = discharge_mm_per_day(np.asarray(flow_m3s, dtype=np.float64), area_km2).sum(axis=1)
        return {
            "precipitation": precipitation,
            "flow": flow,
            "et": unavailable,
            "storage_change": unavailable,
        }
    spinup_days = spinup_years(simulator) * DAYS_PER_YEAR
    total = years + spinup_days // DAYS_PER_YEAR
    fluxes = simulator.simulate_fluxes(
        np.tile(scenario.precipitation, total), np.tile(scenario.temperature, total)
    )
    year_ends = fluxes["storage_mm"][spinup_days - 1 :: DAYS_PER_YEAR]
    daily = {name: fluxes[f"{name}_mm"][spinup_days:] for name in ("flow", "et")}
    if np.isnan(year_ends).any() or any(np.isnan(v).any() for v in daily.values()):
        raise ValueError(
            f"{simulator.name}: fluxes are NaN after the spin-up of scenario '{scenario.name}' "
            "(the storage on the spin-up's last day is needed too)"
        )
    return {
        "precipitation": precipitation,
        **{name: values.reshape(years, DAYS_PER_YEAR).sum(axis=1) for name, values in daily.items()},
        "storage_change": np.diff(year_ends),
    }


def added_water_balance(
    level: dict[str, np.ndarray], baseline: dict[str, np.ndarray], area_km2: float
) -> dict:
    """The added water's balance: each of :data:`TERMS` as ``<term>_mm`` and ``<term>_km3``, per year.

    ``level`` and ``baseline`` come from :func:`annual_fluxes`; NaN marks a
    term the model cannot report (it then counts as 0 in the residual).
    """
    added = {
        "added": float(np.mean(level["precipitation"] - baseline["precipitation"])),
        **{name: float(np.mean(level[name] - baseline[name])) for name in ("flow", "et", "storage_change")},
    }
    accounted = sum(added[name] for name in ("flow", "et", "storage_change") if np.isfinite(added[name]))
    added["residual"] = added["added"] - accounted
    return {
        **{f"{name}_mm": added[name] for name in TERMS},
        **{f"{name}_km3": added[name] * area_km2 * 1e-6 for name in TERMS},
    }


def case2_water_balance(
    simulator: DischargeSimulator,
    scenarios: dict[str, Scenario],
    flows: dict[str, np.ndarray],
    years: int,
    area_km2: float,
) -> dict[str, dict]:
    """:func:`added_water_balance` of every level against the first (level 0), keyed like ``scenarios``."""
    fluxes = {
        key: annual_fluxes(simulator, scenario, years, flows[key], area_km2)
        for key, scenario in scenarios.items()
    }
    baseline_key, *level_keys = fluxes
    return {key: added_water_balance(fluxes[key], fluxes[baseline_key], area_km2) for key in level_keys}
