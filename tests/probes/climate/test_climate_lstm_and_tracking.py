"""A tiny trained LSTM through the whole climate stage, its MLflow record and the CLI command."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import types
from pathlib import Path

import mlflow
import pytest
import yaml
from mlflow.tracking import MlflowClient

from hydroprobe.cli import probe_cmd
from hydroprobe.probes.climate import run_climate_probes
from hydroprobe.tracking.climate_run import climate_metrics, log_climate_run


@pytest.fixture(scope="module")
def tracking(tmp_path_factory: pytest.TempPathFactory):
    """A private SQLite MLflow store with artifacts in a temporary folder (never the project's mlruns/).

    Module-scoped: creating the SQLite schema takes seconds, so both tracking tests share it; the
    working directory is that folder, which also serves as the CLI test's project root.
    """
    folder = tmp_path_factory.mktemp("tracking")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        patch.setenv("DO_NOT_TRACK", "true")
        patch.chdir(folder)
        mlflow.set_tracking_uri(uri)
        mlflow.create_experiment("hydroprobe-salmon_river", artifact_location=(folder / "artifacts").as_uri())
        yield uri, folder


def test_tiny_lstm_end_to_end(tiny_lstms, salmon_dataset, climate, tmp_path: Path):
    settings = dataclasses.replace(
        climate,
        spinup_days=60,
        temperature_shifts=[2.0],
        precipitation_scales=[0.9, 1.1],
        accumulation_scales=[1.5],
    )
    result = run_climate_probes({"lstm": (tiny_lstms[0], tiny_lstms)}, salmon_dataset, settings, tmp_path)
    model = result["models"]["lstm"]
    assert model["champion"] == "tiny-lstm-seed0"
    assert model["replicates"] == ["tiny-lstm-seed0", "tiny-lstm-seed1"]
    assert list(model["scenarios"]) == ["warm2", "pall0.9", "pall1.1", "pacc1.5", "warm2_pall1.1"]
    for entry in model["scenarios"].values():
        assert math.isfinite(entry["champion"]["delta_flow_percent"])
        # the champion is replicate 0, so its numbers reappear among the replicates
        assert entry["replicates"][0] == entry["champion"]
        spread = entry["spread"]["delta_flow_percent"]
        assert spread["p05"] <= spread["median"] <= spread["p95"]
    for rule in model["rules"].values():
        assert rule["applicable"] and rule["replicates"]["count"] == 2
        assert set(rule["champion"]["values"]) == set(rule["scenarios"])
    report = (tmp_path / "reports/fragments/climate.md").read_text()
    assert "| +2 °C | +0.0 |" in report and "lstm" in report
    assert json.loads((tmp_path / "metrics/probes_climate.json").read_text())["models"]["lstm"][
        "champion"
    ] == ("tiny-lstm-seed0")


def test_climate_run_is_logged_with_tags_metrics_and_artifacts(reference_run, tracking):
    result, out_dir = reference_run
    uri, _ = tracking
    run_id = log_climate_run(result, out_dir, "hydroprobe-salmon_river", "3")
    run = MlflowClient(uri).get_run(run_id)
    assert run.data.tags["stage"] == "probe_climate"
    assert run.data.tags["model_name"] == "hydroprobe-salmon_river"
    assert run.data.tags["model_version"] == "3"
    assert run.data.params["climate.split"] == "test"
    assert run.data.metrics["reservoir/pall1.2/delta_flow_percent"] == pytest.approx(20.0)
    assert run.data.metrics["reservoir/pall1.1/elasticity.median"] == pytest.approx(1.0, abs=0.01)
    assert run.data.metrics["reservoir/rule/warming_earlier_timing/champion_passed"] == 0.0
    assert run.data.metrics["constant/rule/mass_conservation/replicate_share"] == 1.0
    assert run.data.metrics == pytest.approx(climate_metrics(result))
    artifacts = {
        f.path
        for folder in ("metrics", "reports/fragments")
        for f in MlflowClient().list_artifacts(run_id, folder)
    }
    assert artifacts == {"metrics/probes_climate.json", "reports/fragments/climate.md"}
    assert len(MlflowClient().list_artifacts(run_id, "plots/climate")) == 12


def test_probe_climate_command(tiny_lstms, salmon_dataset, params: dict, tracking, monkeypatch, capsys):
    uri, tmp_path = tracking
    project = dict(params)
    project["climate"] = {
        **params["climate"],
        "temperature_shifts": [2],
        "precipitation_scales": [1.1],
        "accumulation_scales": [],
        "combinations": [],
        "spinup_days": 60,
        "bootstrap": 100,
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(project))
    registry = types.ModuleType("hydroprobe.tracking.registry")
    calls = []

    def load_probe_models(basin_id, alias="champion", root=None, model_key="lstm"):
        calls.append((basin_id, alias, root, model_key))
        return types.SimpleNamespace(
            model_name="hydroprobe-salmon_river",
            model_version="7",
            champion=tiny_lstms[0],
            replicates=tiny_lstms,
            dataset=salmon_dataset,
            model_type="lstm",
        )

    registry.load_probe_models = load_probe_models
    monkeypatch.setitem(sys.modules, "hydroprobe.tracking.registry", registry)
    parser = argparse.ArgumentParser()
    probe_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["probe", "climate", "--alias", "candidate"])
    assert args.func(args) == 0
    assert calls == [("salmon_river", "candidate", tmp_path, "lstm")]
    printed = capsys.readouterr().out
    assert (
        "probing hydroprobe-salmon_river v7 (candidate) and 2 replicates with 2 climate scenarios" in printed
    )
    assert "replicates  more precipitation never lowers annual flow" in printed
    assert (tmp_path / "models/lstm/reports/fragments/climate.md").is_file()
    runs = MlflowClient(uri).search_runs(
        [mlflow.get_experiment_by_name("hydroprobe-salmon_river").experiment_id]
    )
    assert [r.data.tags["stage"] for r in runs if r.data.tags["model_version"] == "7"] == ["probe_climate"]
