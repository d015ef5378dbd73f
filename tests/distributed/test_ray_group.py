"""A basin group's probes on Ray: each model's probes of a basin a Ray task, with the in-process numbers."""

from __future__ import annotations

import json

import yaml

from hydroprobe.cli.main import main
from tests.group.conftest import make_group_project

GAUGES = ["06224000", "09081600"]


def test_group_probes_on_ray_match_in_process(tmp_path, shared_data, params, ray_cluster, monkeypatch,
                                              capsys) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = make_group_project(tmp_path / "p", shared_data, params, gauges=GAUGES)
    monkeypatch.chdir(root)
    assert main(["group", "train"]) == 0
    assert main(["group", "probe"]) == 0
    out = root / "outputs/camels_snow"
    local = json.loads((out / "group_probe.json").read_text())
    paper = out / "probes/camels_snow_06224000/lstm/metrics/probes_paper.json"
    local_paper = paper.read_text()
    capsys.readouterr()

    config = yaml.safe_load((root / "params.yaml").read_text())
    config["execution"] = {**(config.get("execution") or {}), "engine": "ray", "cpus_per_task": 1}
    (root / "params.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    assert main(["group", "probe"]) == 0
    assert "each model's probe is a Ray task" in capsys.readouterr().out
    on_ray = json.loads((out / "group_probe.json").read_text())
    assert on_ray["basins"] and on_ray["basins"] == local["basins"]
    assert paper.read_text() == local_paper
