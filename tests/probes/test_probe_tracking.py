"""``log_probe_run`` and ``hydroprobe probe paper`` against a throw-away MLflow store in tmp_path."""

import argparse
import shutil
import sys
import types
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from hydroprobe.cli import probe_paper_cmd
from hydroprobe.probes.paper import ProbeSettings, output_files, run_paper_probes
from hydroprobe.testing import ConstantFlow, LinearReservoir
from hydroprobe.tracking.probe_run import flatten_metrics, log_probe_run

AREA = 4250.6


@pytest.fixture
def tmp_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private SQLite store; artifacts land under tmp_path/mlruns too."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def _run(dataset, out: Path) -> dict:
    settings = ProbeSettings(years=1, accumulation_season=("10-15", "03-15"))
    return run_paper_probes(LinearReservoir(AREA), [ConstantFlow(10.0)], dataset, settings, out)


def test_flattened_metrics_carry_champion_and_spread(salmon_dataset, tmp_path):
    metrics = flatten_metrics(_run(salmon_dataset, tmp_path))
    assert metrics["case2.level_0p9.mass_recovered"] == pytest.approx(1.0, abs=0.01)
    assert metrics["case2.level_0p9.mass_recovered.median"] == 0.0
    assert metrics["case2.peak_grows_monotonically"] == 1.0
    assert metrics["case2.peak_grows_monotonically.fraction_true"] == 0.0
    assert metrics["case1.sinusoid.winter_low_flow_m3s.p95"] == 10.0
    assert metrics["inputs.case1.sinusoid.out_of_range.temperature"] == 0.0
    assert "observed.runoff_ratio" in metrics
    assert not any("peak_date" in name for name in metrics)


def test_probe_run_is_tagged_and_keeps_its_files(salmon_dataset, tmp_path, tmp_store):
    out = tmp_path / "repo"
    result = _run(salmon_dataset, out)
    run_id = log_probe_run(result, output_files(out), out, "hydroprobe-salmon_river", "3")
    client = MlflowClient(tmp_store)
    run = client.get_run(run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "hydroprobe-salmon_river"
    assert {k: run.data.tags[k] for k in ("stage", "model_name", "model_version")} == {
        "stage": "probe_paper",
        "model_name": "hydroprobe-salmon_river",
        "model_version": "3",
    }
    assert run.data.metrics["case2.level_0p3.mass_recovered"] == pytest.approx(
        result["case2"]["level_0p3"]["mass_recovered"]["champion"]
    )
    assert run.data.params["probes.years"] == "1"
    listed = {
        f"{folder}/{item.path.rsplit('/', 1)[-1]}"
        for folder in ("metrics", "plots/probes", "reports/figures", "reports/fragments")
        for item in client.list_artifacts(run_id, folder)
    }
    assert listed == {p.relative_to(out).as_posix() for p in output_files(out)}


def test_probe_paper_command_probes_the_loaded_models(
    salmon_dataset, repo_root, tmp_path, tmp_store, monkeypatch, capsys
):
    """The command with a stand-in for ``tracking.registry`` (the real one loads from MLflow)."""
    shutil.copy(repo_root / "params.yaml", tmp_path / "params.yaml")
    requested = {}

    def load_probe_models(basin_id, alias="champion", root=None, model_key="lstm"):
        requested.update(basin=basin_id, alias=alias, root=root, model_key=model_key)
        return types.SimpleNamespace(
            model_name="hydroprobe-salmon_river",
            model_version="7",
            champion=LinearReservoir(AREA),
            replicates=[LinearReservoir(AREA), ConstantFlow(10.0)],
            dataset=salmon_dataset,
        )

    registry = types.ModuleType("hydroprobe.tracking.registry")
    registry.load_probe_models = load_probe_models
    monkeypatch.setitem(sys.modules, "hydroprobe.tracking.registry", registry)
    parser = argparse.ArgumentParser()
    probe_paper_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["paper", "--alias", "candidate"])
    assert args.func(args) == 0
    assert requested == {"basin": "salmon_river", "alias": "candidate", "root": tmp_path.resolve(),
                         "model_key": "lstm"}
    printed = capsys.readouterr().out
    assert "probing hydroprobe-salmon_river v7 (candidate) and 2 replicates on salmon_river" in printed
    assert "Case 2 mass recovered: 100%–100% (champion)" in printed
    for path in output_files(tmp_path / "models/lstm"):  # the subject writes under its key
        assert path.is_file(), path
    runs = MlflowClient(tmp_store).search_runs(
        [MlflowClient(tmp_store).get_experiment_by_name("hydroprobe-salmon_river").experiment_id]
    )
    assert [r.data.tags["model_version"] for r in runs] == ["7"]
    # the run's name and tag say which model of params 'models' it probed
    assert [(r.info.run_name, r.data.tags["model"]) for r in runs] == [("probe_paper-lstm-v7", "lstm")]
