"""``hydroprobe group train|probe|report`` end to end on 3 real basins, and the disabled DVC markers."""

from __future__ import annotations

import json

import pytest
import torch

from hydroprobe.cli.main import main
from tests.group.conftest import GAUGES, make_group_project


@pytest.fixture(autouse=True)
def _project_store(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


def test_disabled_group_writes_markers_only(tmp_path, shared_data, params, monkeypatch, capsys) -> None:
    root = make_group_project(tmp_path / "p", shared_data, params, enabled=False)
    monkeypatch.chdir(root)
    for action in ("train", "probe", "report"):
        assert main(["group", action, "--if-enabled"]) == 0
        marker = root / "outputs" / "camels_snow" / f"group_{action}.json"
        assert json.loads(marker.read_text())["enabled"] is False
    assert not (root / "reports").exists()
    assert not (root / "mlruns").exists()
    assert "group.enabled is false" in capsys.readouterr().out


def test_group_train_probe_report_on_three_basins(tmp_path, shared_data, params, monkeypatch) -> None:
    root = make_group_project(tmp_path / "p", shared_data, params)
    monkeypatch.chdir(root)
    threads = torch.get_num_threads()
    try:
        for action in ("train", "probe", "report"):
            assert main(["group", action]) == 0, action
    finally:
        torch.set_num_threads(threads)
    trained = json.loads((root / "outputs/camels_snow/group_train.json").read_text())
    probed = json.loads((root / "outputs/camels_snow/group_probe.json").read_text())
    assert trained["regional"]["registered"]["name"] == "hydroprobe-camels_snow-regional-lstm"
    assert trained["regional"]["promotion"]["reason"] == "no champion yet"
    assert probed["regional_model"]["version"] == "1"
    report = (root / "reports/groups/camels_snow.md").read_text()
    best = {r["seed"]: r for r in trained["regional"]["replicates"]}[trained["regional"]["best_seed"]]
    for gauge in GAUGES:
        basin_id = f"camels_snow_{gauge}"
        regional = best["metrics"][basin_id]["test"]["nse"]
        single = trained["single"][basin_id]["selected"]["test"]["nse"]
        row = next(line for line in report.splitlines() if line.startswith(f"| {gauge} |"))
        assert f"| {regional:.3f} / {single:.3f} |" in row
        recovered = probed["basins"][basin_id]["regional"]["recovered_mean"]
        assert f"{recovered:.0%} / " in row
    assert "**3 of the group's 35**" in report
    summary = json.loads((root / "outputs/camels_snow/group_report.json").read_text())["summary"]
    nse = [best["metrics"][f"camels_snow_{g}"]["test"]["nse"] for g in GAUGES]
    assert summary["regional"]["test_nse"]["median"] == pytest.approx(sorted(nse)[1])
    assert (root / "reports/groups/camels_snow/cdf_nse_recovery.png").is_file()
    assert (root / "reports/groups/camels_snow/vs_frac_snow.png").is_file()
