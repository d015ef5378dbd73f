"""A basin group's per-basin work on Ray: single-basin models and probes, with the in-process numbers."""

from __future__ import annotations

import json

import yaml
from mlflow.tracking import MlflowClient

from hydroprobe.cli.main import main
from tests.group.conftest import make_group_project

GAUGES = ["06224000", "09081600"]


def _run_group(root, monkeypatch) -> tuple[dict, dict]:
    monkeypatch.chdir(root)
    for action in ("train", "probe"):
        assert main(["group", action]) == 0, action
    out = root / "outputs/camels_snow"
    return (json.loads((out / "group_train.json").read_text()),
            json.loads((out / "group_probe.json").read_text()))


def test_group_single_basin_models_and_probes_on_ray_match_in_process(
    tmp_path, shared_data, params, ray_cluster, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    local = make_group_project(tmp_path / "local", shared_data, params, gauges=GAUGES)
    on_ray = make_group_project(tmp_path / "ray", shared_data, params, gauges=GAUGES)
    config = yaml.safe_load((on_ray / "params.yaml").read_text())
    config["execution"] = {**(config.get("execution") or {}), "engine": "ray", "cpus_per_task": 1}
    (on_ray / "params.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    trained_local, probed_local = _run_group(local, monkeypatch)
    capsys.readouterr()
    trained_ray, probed_ray = _run_group(on_ray, monkeypatch)
    assert "each model's probe is a Ray task" in capsys.readouterr().out
    client = MlflowClient(f"sqlite:///{on_ray / 'mlruns/mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, filter_string="tags.model_type = 'lstm'")
    placed = [run for run in runs if "execution.worker" in run.data.tags]
    assert len(placed) == 2 * len(GAUGES)  # every single-basin replicate trained in a Ray task

    for basin in (f"camels_snow_{gauge}" for gauge in GAUGES):
        assert trained_ray["single"][basin]["replicates"] == trained_local["single"][basin]["replicates"]
        assert probed_ray["basins"][basin] == probed_local["basins"][basin]
    assert probed_ray["basins"]  # the probes ran at all
    paper = "outputs/camels_snow/probes/camels_snow_06224000/single/metrics/probes_paper.json"
    assert (on_ray / paper).read_text() == (local / paper).read_text()
