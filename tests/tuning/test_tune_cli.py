"""``hydroprobe tune`` end to end: Optuna storage, MLflow runs, outputs, resume, workers, apply."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import optuna
import pytest
import yaml
from tune_helpers import HISTORY_DAYS, STUDY, mlflow_runs, run_cli, storage

from hydroprobe.errors import ConfigError
from hydroprobe.tracking.tune_run import STUDY_RUN_ATTR
from hydroprobe.tuning.best_params import read_best_params


def edit_tune(root: Path, **changes) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["tune"].update(changes)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def test_disabled_stage_writes_only_the_marker(project: Path) -> None:
    assert run_cli(["tune", "--if-enabled"]) == 0
    assert json.loads((project / "metrics" / "tune.json").read_text()) == {"enabled": False}
    marker = project / "outputs" / "salmon_river" / "tune" / "best_params.yaml"
    assert marker.read_text() == "# tune.enabled is false in params.yaml: no search ran\n"
    assert not (project / "optuna").exists()
    with pytest.raises(ConfigError, match="holds no parameters: # tune.enabled is false"):
        run_cli(["tune", "apply"])


def test_tune_records_trials_in_optuna_and_mlflow_resumes_and_applies(project: Path, capsys) -> None:
    assert run_cli(["tune", "--n-trials", "3"]) == 0
    study = optuna.load_study(study_name=STUDY, storage=storage(project))
    trials = study.get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3

    out = project / "outputs" / "salmon_river" / "tune"
    assert read_best_params(out / "best_params.yaml") == study.best_params
    assert sorted(p.name for p in out.iterdir()) == ["best_params.yaml", "history.png", "importance.png"]
    metrics = json.loads((project / "metrics" / "tune.json").read_text())
    assert metrics["trials"]["complete"] == 3
    assert (metrics["best_trial"], metrics["best_validation_nse"]) == (
        study.best_trial.number,
        study.best_value,
    )

    (study_run,), trial_runs = mlflow_runs(project)
    assert study_run.info.run_id == study.user_attrs[STUDY_RUN_ATTR]
    assert len(trial_runs) == 3
    client = mlflow.MlflowClient()
    for run in trial_runs:
        trial = trials[int(run.data.tags["optuna.trial"])]
        assert run.data.tags["mlflow.parentRunId"] == study_run.info.run_id
        assert (run.data.tags["state"], run.info.status) == ("COMPLETE", "FINISHED")
        assert run.data.params["model.hidden_size"] == str(trial.params["model.hidden_size"])
        assert run.data.params["train.window"] == str(trial.params["train.window"])
        assert run.data.metrics["validation_nse"] == pytest.approx(trial.value)
        curve = client.get_metric_history(run.info.run_id, "validation_nse/seed_0")
        assert [m.step for m in curve] == [1, 2]
        assert [m.value for m in curve] == pytest.approx([trial.intermediate_values[s] for s in (1, 2)])
    artifacts = {a.path for a in client.list_artifacts(study_run.info.run_id)}
    assert artifacts == {"best_params.yaml", "history.png", "importance.png"}

    # Running again joins the same study and the same MLflow study run.
    capsys.readouterr()
    assert run_cli(["tune", "--n-trials", "1"]) == 0
    assert f"study '{STUDY}' (joined)" in capsys.readouterr().out
    assert len(optuna.load_study(study_name=STUDY, storage=storage(project)).trials) == 4
    (again,), trial_runs = mlflow_runs(project)
    assert again.info.run_id == study_run.info.run_id and len(trial_runs) == 4

    best = optuna.load_study(study_name=STUDY, storage=storage(project)).best_params
    assert run_cli(["tune", "apply", "--print"]) == 0
    expected = (
        f"dvc exp run -S model.hidden_size={best['model.hidden_size']} -S train.window={best['train.window']}"
    )
    assert capsys.readouterr().out.strip() == expected
    assert run_cli(["tune", "apply"]) == 0
    applied = yaml.safe_load((project / "params.yaml").read_text())
    assert applied["model"]["hidden_size"] == best["model.hidden_size"]
    assert applied["train"]["window"] == best["train.window"]


def test_window_longer_than_the_history_stops_before_any_study(project: Path) -> None:
    edit_tune(project, window={"low": 10, "high": HISTORY_DAYS + 1})
    with pytest.raises(
        ConfigError, match=r"'tune\.window\.high' is 1188 days but the record holds only 1187"
    ):
        run_cli(["tune"])
    assert not (project / "optuna").exists()
