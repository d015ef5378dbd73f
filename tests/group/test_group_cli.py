"""``hydroprobe group train|probe|report`` end to end on 3 real basins, and the disabled DVC markers."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

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
    root = make_group_project(tmp_path / "p", shared_data, params, ungauged_folds=3)
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
    replicates = trained["regional"]["replicates"]
    chosen = max(replicates, key=lambda r: (r["median_validation_nse"], -r["seed"]))
    assert trained["regional"]["best_seed"] == chosen["seed"]
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
    # prediction in ungauged basins: each basin once, by a model trained on the two others
    ungauged = trained["ungauged"]["basins"]
    assert sorted(u["fold"] for u in ungauged.values()) == [0, 1, 2]
    assert all(b not in u["trained_on"] and len(u["trained_on"]) == 2 for b, u in ungauged.items())
    held = sorted(u["metrics"]["test"]["nse"] for u in ungauged.values())
    assert "3-fold over basins" in report and f"Median test NSE **{held[1]:.3f}**" in report


def test_ungauged_folds_outside_the_group_are_refused(tmp_path, shared_data, params) -> None:
    from hydroprobe.config import load_params
    from hydroprobe.errors import ConfigError
    from hydroprobe.group.settings import group_plan

    root = make_group_project(tmp_path / "p", shared_data, params, ungauged_folds=4)
    with pytest.raises(ConfigError, match=r"group.ungauged_folds must be 0 \(off\) or between 2 and the 3 "):
        group_plan(load_params(root), root)


def test_selected_regional_replicate_has_the_highest_median_validation_nse() -> None:
    from hydroprobe.models.kinds import KINDS
    from hydroprobe.training.regional import RegionalOutcome, RegionalReplicate
    from hydroprobe.training.trainer import ReplicateResult

    def replicate(seed: int, nse: list[float]) -> RegionalReplicate:
        scores = {f"b{i}": {"validation": {"nse": v}} for i, v in enumerate(nse)}
        return RegionalReplicate(ReplicateResult(seed, {}), scores)

    # medians: seed 0 → 0.5, seed 1 → 0.6 (its mean is lower: 0.4 vs 0.5), seed 2 → 0.6 (tie: lower seed wins)
    outcome = RegionalOutcome("h", {}, [replicate(0, [0.5, 0.5, 0.5]), replicate(1, [0.6, 0.6, 0.0]),
                                        replicate(2, [0.6, 0.1, 0.9])])
    assert outcome.best.seed == 1
    assert {"training/regional.py", "data/regional.py"} <= set(KINDS["regional_lstm"].sources)


def test_single_basin_gauges_outside_the_group_are_refused(tmp_path, shared_data, params) -> None:
    from hydroprobe.config import load_params
    from hydroprobe.errors import ConfigError
    from hydroprobe.group.settings import group_plan

    root = make_group_project(tmp_path / "p", shared_data, params, single_basin_gauges=["13313000"])
    with pytest.raises(ConfigError, match=r"group.single_basin_gauges camels_snow_13313000 are not among "
                       r"group.gauges\. Fix: list gauges the regional model also trains on\."):
        group_plan(load_params(root), root)


def test_single_basin_train_refuses_the_regional_model_type(tmp_path, shared_data, params, monkeypatch,
                                                           capsys) -> None:
    root = make_group_project(tmp_path / "p", shared_data, params)
    config = yaml.safe_load((root / "params.yaml").read_text())
    config["models"]["lstm"]["model"]["type"] = "regional_lstm"
    (root / "params.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    monkeypatch.chdir(root)
    assert main(["train"]) == 2
    assert ("params.yaml: models.lstm.model.type regional_lstm is trained over a basin group by "
            "`hydroprobe group train`" in capsys.readouterr().err)


def test_a_standardized_single_basin_baseline_is_refused(tmp_path, shared_data, params) -> None:
    from hydroprobe.config import load_params
    from hydroprobe.errors import ConfigError
    from hydroprobe.group.settings import group_plan

    root = make_group_project(tmp_path / "p", shared_data, params,
                              model={"hidden_size": 4, "standardize": True})
    with pytest.raises(ConfigError, match=r"group.model.standardize must be false: the regional LSTM "):
        group_plan(load_params(root), root)
