"""Case 1 (paper §3.1, Fig. 3): zero precipitation, temperature alone.

A model that conserves mass can only return stored water once; fed no
precipitation at all, after a spin-up year it should run dry. The paper's
LSTM instead produced winter base flow and a spring snow-melt peak out of
nothing. Scenarios: the observed daily temperature climatology, the sinusoid
fitted to it, and that sinusoid shifted by ± ``probes.temperature_shift``
(normalised units; in °C that is shift × (Tmax − Tmin) of the fitted scaler).
"""

from __future__ import annotations

import numpy as np

from hydroprobe.data.basin import TEMPERATURE
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.probes.hypothetical import DAYS_PER_YEAR, MONTH_DAYS, YEAR, Scenario, season_days
from hydroprobe.probes.paper.reference import ObservedReference
from hydroprobe.probes.paper.settings import ProbeSettings
from hydroprobe.probes.volumes import flow_volume_km3

SCENARIOS = ("observed_climatology", "sinusoid", "sinusoid_warmer", "sinusoid_colder")


def temperature_shift_c(settings: ProbeSettings, scaler: MinMaxScaler) -> float:
    """``probes.temperature_shift`` (normalised) in °C: shift × (Tmax − Tmin) of the training period."""
    return settings.temperature_shift * (scaler.maximum[TEMPERATURE] - scaler.minimum[TEMPERATURE])


def case1_scenarios(
    reference: ObservedReference, scaler: MinMaxScaler, settings: ProbeSettings
) -> dict[str, Scenario]:
    zero = np.zeros(DAYS_PER_YEAR)
    sinusoid = reference.sinusoid.values()
    shift = temperature_shift_c(settings, scaler)
    temperatures = dict(
        zip(
            SCENARIOS,
            (reference.temperature_climatology, sinusoid, sinusoid + shift, sinusoid - shift),
            strict=True,
        )
    )
    return {name: Scenario(name, zero, temperature) for name, temperature in temperatures.items()}


def case1_metrics(flow: np.ndarray, settings: ProbeSettings, observed_melt_flow_m3s: float) -> dict:
    """Headline numbers of one scenario from its ``(years, 365)`` discharge.

    Peak and winter low flow are read on the mean annual cycle over the
    simulated years; the melt-season volume is per year.
    """
    cycle = flow.mean(axis=0)
    peak_day = int(np.argmax(cycle))
    winter = np.isin(YEAR.month, settings.winter_months)
    melt = season_days(settings.melt_season, "probes.melt_season")
    return {
        "peak_flow_m3s": float(cycle[peak_day]),
        "peak_day_of_year": peak_day + 1,
        "peak_date": MONTH_DAYS[peak_day],
        "winter_low_flow_m3s": float(cycle[winter].mean()),
        "melt_season_volume_km3": flow_volume_km3(flow[:, melt]) / len(flow),
        "peak_fraction_of_observed_melt_flow": float(cycle[peak_day] / observed_melt_flow_m3s),
    }


def shift_effects(metrics: dict[str, dict]) -> dict[str, float]:
    """How warmer and colder years change winter low flow and the peak, relative to the sinusoid.

    The paper found warmer → more winter flow and a lower melt peak; colder → the reverse.
    """
    base = metrics["sinusoid"]
    return {
        f"{direction}_{name}_change_m3s": metrics[f"sinusoid_{direction}"][f"{name}_m3s"]
        - base[f"{name}_m3s"]
        for direction in ("warmer", "colder")
        for name in ("winter_low_flow", "peak_flow")
    }
