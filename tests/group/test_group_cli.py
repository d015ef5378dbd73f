"""``hydroprobe group train|probe|report`` end to end on 3 real basins, and the disabled DVC markers."""

from __future__ import annotations

import json
import math

import numpy as np
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
        for action in ("train", "probe", "ungauged", "report"):
            assert main(["group", action]) == 0, action
    finally:
        torch.set_num_threads(threads)
    trained = json.loads((root / "outputs/camels_snow/group_train.json").read_text())
    probed = json.loads((root / "outputs/camels_snow/group_probe.json").read_text())
    definition = trained["profile"]["definition"]
    regional = trained["models"]["regional_lstm"]
    assert regional["registered"]["name"] == f"hydroprobe-camels_snow-{definition}-regional_lstm"
    assert regional["promotion"]["reason"] == "no champion yet"
    assert set(probed["models"]) == {"regional_lstm", "regional_mclstm"}  # registered: the group-scope ones
    assert set(trained["models"]["lstm"]["basins"]) == {f"camels_snow_{g}" for g in GAUGES}
    chosen = max(regional["replicates"], key=lambda r: (r["median_validation_nse"], -r["seed"]))
    assert regional["best_seed"] == chosen["seed"]
    # each kind's own code fingerprint, not the regional model's stamped on every model
    codes = {key: model["environment"]["code"] for key, model in trained["models"].items()}
    assert len(set(codes.values())) == 3
    report = (root / "reports/groups/camels_snow.md").read_text()
    for gauge in GAUGES:
        basin = probed["basins"][f"camels_snow_{gauge}"]
        row = next(line for line in report.splitlines() if line.startswith(f"| {gauge} |"))
        keys = ("regional_lstm", "regional_mclstm", "lstm")
        nse = " / ".join(f"{basin[k]['metrics']['test']['nse']:.3f}" for k in keys)
        assert f"| {nse} |" in row
        ratio = basin["regional_lstm"]["recovered_mean"] / basin["regional_mclstm"]["recovered_mean"]
        assert f"| {ratio:.2f} / 1.00 / " in row
        assert basin["regional_mclstm"]["flow_from_nothing_mm"] < 1e-3  # no rain, no flow: mass conserved
        assert basin["regional_mclstm"]["balance_residual_max"] < 1e-4  # one pass: the balance closes
    assert "**3 of the group's 35**" in report
    # MLflow: one top-level run per model of the bench; the single-basin LSTMs nest a run per basin
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{root / 'mlruns/mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()], max_results=1000)
    top = sorted(r.info.run_name for r in runs if "mlflow.parentRunId" not in r.data.tags)
    assert top == ["group-probe-camels_snow", "group-single-camels_snow-lstm",
                   "group-train-camels_snow-regional_lstm", "group-train-camels_snow-regional_mclstm",
                   "group-ungauged-camels_snow-regional_lstm"]
    single = next(r for r in runs if r.info.run_name == "group-single-camels_snow-lstm")
    basins = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == single.info.run_id]
    assert sorted(r.info.run_name for r in basins) == [f"lstm-camels_snow_{g}" for g in GAUGES]
    assert all(r.info.status == "FINISHED" for r in runs)
    summary = json.loads((root / "outputs/camels_snow/group_report.json").read_text())["summary"]
    nse = [probed["basins"][f"camels_snow_{g}"]["regional_lstm"]["metrics"]["test"]["nse"] for g in GAUGES]
    assert summary["models"]["regional_lstm"]["test_nse"]["median"] == pytest.approx(sorted(nse)[1])
    assert (root / "reports/groups/camels_snow/cdf_nse_recovery.png").is_file()
    # prediction in ungauged basins: each basin once, by a model trained on the two others
    ungauged = json.loads((root / "outputs/camels_snow/group_ungauged.json").read_text())["basins"]
    assert sorted(u["fold"] for u in ungauged.values()) == [0, 1, 2]
    assert all(b not in u["trained_on"] and len(u["trained_on"]) == 2 for b, u in ungauged.items())
    held = sorted(u["metrics"]["test"]["nse"] for u in ungauged.values())
    assert "**3-fold over basins**" in report and f"Median test NSE **{held[1]:.3f}**" in report


def test_a_basin_from_outside_the_group_is_predicted_and_probed_never_trained_on(
    tmp_path, shared_data, params, monkeypatch
) -> None:
    root = make_group_project(tmp_path / "p", shared_data, params, gauges=GAUGES[:2], ungauged=[GAUGES[2]],
                              models={"regional_lstm": {"model": {"type": "regional_lstm"}}})
    monkeypatch.chdir(root)
    threads = torch.get_num_threads()
    try:
        for action in ("train", "probe", "report"):
            assert main(["group", action]) == 0, action
    finally:
        torch.set_num_threads(threads)
    trained = json.loads((root / "outputs/camels_snow/group_train.json").read_text())
    probed = json.loads((root / "outputs/camels_snow/group_probe.json").read_text())
    outside = f"camels_snow_{GAUGES[2]}"
    assert outside not in trained["basins"] and outside not in probed["basins"]
    scored = probed["ungauged"][outside]["models"]["regional_lstm"]
    assert np.isfinite(scored["metrics"]["test"]["nse"]) and np.isfinite(scored["recovered_mean"])
    report = (root / "reports/groups/camels_snow.md").read_text()
    assert f"**{GAUGES[2]}** (brought from outside the group, never trained on)" in report
    assert f"| regional_lstm | {scored['metrics']['test']['nse']:.3f} |" in report


def test_ungauged_folds_outside_the_group_are_refused(tmp_path, shared_data, params, monkeypatch,
                                                      capsys) -> None:
    root = make_group_project(tmp_path / "p", shared_data, params)
    monkeypatch.chdir(root)
    assert main(["group", "ungauged", "--folds", "4"]) == 2
    assert "must be between 2 and the 3 basins of group.gauges (got 4)" in capsys.readouterr().err


def test_a_trained_basin_cannot_also_be_ungauged_and_a_mode_the_group_cannot_honour_is_an_error(
    tmp_path, shared_data, params
) -> None:
    from hydroprobe.config import load_params
    from hydroprobe.errors import ConfigError
    from hydroprobe.group.settings import group_plan

    root = make_group_project(tmp_path / "p", shared_data, params, ungauged=[GAUGES[0]])
    with pytest.raises(ConfigError, match=rf"group.ungauged camels_snow_{GAUGES[0]} are also in group.gauge"):
        group_plan(load_params(root), root)
    root = make_group_project(tmp_path / "q", shared_data, params,
                              train={"mode": "seq2one", "window": 60, "replicates": 1})
    with pytest.raises(ConfigError, match=r"group.models.regional_lstm.train.mode is 'seq2one'; group models "
                       r"train sequence-to-sequence only"):
        group_plan(load_params(root), root)
    root = make_group_project(tmp_path / "r", shared_data, params,
                              models={"gr": {"model": {"type": "gr4jcn"}}}, subject="gr")
    with pytest.raises(ConfigError, match=r"'gr4jcn' does not train on a basin group"):
        group_plan(load_params(root), root)


def test_the_registered_name_follows_the_group_definition(tmp_path, shared_data, params) -> None:
    """A champion trained on other basins is never compared with this run's models."""
    from hydroprobe.config import load_params
    from hydroprobe.group.settings import group_plan

    first = make_group_project(tmp_path / "a", shared_data, params)
    three = group_plan(load_params(first), first)
    longer = make_group_project(tmp_path / "b", shared_data, params,
                                train={"mode": "seq2seq", "max_epochs": 5})
    again = group_plan(load_params(longer), longer)
    two = group_plan(load_params(make_group_project(tmp_path / "c", shared_data, params, gauges=GAUGES[:2])),
                     tmp_path / "c")
    assert three.registry_id == again.registry_id  # the training profile is not the definition
    assert three.registry_id != two.registry_id and three.registry_id.startswith("camels_snow-")


def test_selected_group_replicate_has_the_highest_median_validation_nse() -> None:
    from hydroprobe.models.kinds import KINDS
    from hydroprobe.training.regional import GroupOutcome, GroupReplicate
    from hydroprobe.training.trainer import ReplicateResult

    def replicate(seed: int, nse: list[float]) -> GroupReplicate:
        scores = {f"b{i}": {"validation": {"nse": v}} for i, v in enumerate(nse)}
        return GroupReplicate(ReplicateResult(seed, {}), scores)

    # medians: seed 0 → 0.5, seed 1 → 0.6 (its mean is lower: 0.4 vs 0.5), seed 2 → 0.6 (tie: lower seed wins)
    outcome = GroupOutcome("h", {}, [replicate(0, [0.5, 0.5, 0.5]), replicate(1, [0.6, 0.6, 0.0]),
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


def test_group_train_on_ray_is_refused_with_the_fix(tmp_path, shared_data, params, monkeypatch,
                                                    capsys) -> None:
    root = make_group_project(tmp_path / "p", shared_data, params)
    monkeypatch.chdir(root)
    assert main(["group", "train", "--ray-address", "auto"]) == 2
    assert "group train runs in this process" in capsys.readouterr().err


def test_the_sign_test_by_hand() -> None:
    from hydroprobe.group.report import sign_test

    assert sign_test(18, 35) == 1.0  # 18 of 35: as likely as not
    assert sign_test(3, 3) == sign_test(0, 3) == pytest.approx(2 / 8)  # 2 · (1/2)³
    assert sign_test(27, 35) == pytest.approx(2 * sum(math.comb(35, k) for k in range(9)) / 2**35)
