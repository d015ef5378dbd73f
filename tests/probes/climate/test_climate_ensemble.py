"""The climate probe's replicate ensemble, read off the replicates' runs, equals probing the ensemble."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from hydroprobe.models.replicate_ensemble import ReplicateEnsemble
from hydroprobe.probes.climate import run_climate_probes


def test_ensemble_from_replicate_runs_equals_the_ensemble_model(
    tiny_lstms, salmon_dataset, climate, tmp_path: Path
):
    settings = dataclasses.replace(
        climate, spinup_days=60, temperature_shifts=[2.0], precipitation_scales=[0.9, 1.1],
        accumulation_scales=[1.5], combinations=[],
    )
    ensemble_model = ReplicateEnsemble("ensemble", list(tiny_lstms), seeds=[0, 1])
    result = run_climate_probes(
        {"lstm": (tiny_lstms[0], tiny_lstms), "model": (ensemble_model, [])},
        salmon_dataset, settings, tmp_path,
    )
    lstm, direct = result["models"]["lstm"], result["models"]["model"]
    ensemble = lstm["ensemble"]
    assert ensemble["members"] == 2 and "ensemble" not in direct  # no replicates: no ensemble of its own
    for key, value in direct["baseline"]["champion"].items():
        assert ensemble["baseline"][key] == pytest.approx(value, rel=1e-9), key
    for name, entry in direct["scenarios"].items():
        for metric, value in entry["champion"].items():
            got = ensemble["scenarios"][name][metric]
            assert (got is None and value is None) or got == pytest.approx(value, rel=1e-9, abs=1e-12), metric
    for key, rule in direct["rules"].items():
        if rule["applicable"]:
            assert ensemble["rules"][key]["champion"] == rule["champion"], key
            assert ensemble["rules"][key]["replicates"]["count"] == 2
    # the mean is not the champion's run
    assert not math.isclose(ensemble["baseline"]["mean_annual_flow_km3"],
                            lstm["baseline"]["champion"]["mean_annual_flow_km3"], rel_tol=1e-6)
    report = (tmp_path / "reports/fragments/climate.md").read_text()
    assert "### Replicate ensemble mean" in report and "| lstm | 2 |" in report
