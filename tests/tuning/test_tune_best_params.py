"""The best-params file and ``tune apply``'s comment-preserving edit of params.yaml."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
import yaml

from hydroprobe.errors import ConfigError
from hydroprobe.tuning.best_params import dvc_command, read_best_params, write_best_params, write_into_params
from hydroprobe.tuning.study import StudySummary

BEST = {"model.hidden_size": 3, "train.window": 30}


def summary(best_number: int | None = 2) -> StudySummary:
    found = best_number is not None
    return StudySummary(
        "tune-salmon_river", {"complete": 3}, best_number, -0.25 if found else None, BEST if found else {}
    )


def test_best_params_file_is_a_patch_of_params_yaml(tmp_path: Path) -> None:
    path = tmp_path / "tune" / "best_params.yaml"
    write_best_params(summary(), path)
    assert path.read_text() == (
        "# Best trial 2 of study 'tune-salmon_river': validation NSE -0.2500\n"
        "# Apply: hydroprobe tune apply   or   dvc exp run -S model.hidden_size=3 -S train.window=30\n"
        "model:\n"
        "  hidden_size: 3\n"
        "train:\n"
        "  window: 30\n"
    )
    assert read_best_params(path) == BEST


def test_study_without_complete_trial_leaves_nothing_to_apply(tmp_path: Path) -> None:
    path = tmp_path / "best_params.yaml"
    write_best_params(summary(None), path)
    with pytest.raises(ConfigError, match="holds no parameters: # study 'tune-salmon_river' has no complete"):
        read_best_params(path)


def test_foreign_or_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "best.yaml"
    path.write_text("train:\n  batch_size: 64\n")
    with pytest.raises(ConfigError, match="'train.batch_size' is not a tuned key"):
        read_best_params(path)
    with pytest.raises(ConfigError, match="does not exist; run `hydroprobe tune` first"):
        read_best_params(tmp_path / "absent.yaml")


def test_dvc_command_line() -> None:
    line = dvc_command({"model.hidden_size": 3, "train.learning_rate": 0.0025})
    assert line == "dvc exp run -S model.hidden_size=3 -S train.learning_rate=0.0025"


def test_apply_keeps_comments_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(
        "# top comment\n"
        "model:\n"
        "  hidden_size: 50       # paper §2.3\n"
        "train:\n"
        "  window: 365           # one year\n"
        "  splits: [1961-01-01, 1990-12-31]\n"
        "  ids:\n"
        '    - "01022500"\n'
    )
    changes = write_into_params(path, {**BEST, "train.learning_rate": 0.0025})
    assert changes == {
        "model.hidden_size": (50, 3),
        "train.window": (365, 30),
        "train.learning_rate": (None, 0.0025),
    }
    assert path.read_text() == (
        "# top comment\n"
        "model:\n"
        "  hidden_size: 3        # paper §2.3\n"
        "train:\n"
        "  window: 30            # one year\n"
        "  splits: [1961-01-01, 1990-12-31]\n"
        "  ids:\n"
        '    - "01022500"\n'
        "  learning_rate: 0.0025\n"
    )


def test_apply_to_the_project_params_changes_only_the_tuned_keys(repo_root: Path, tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    shutil.copy(repo_root / "params.yaml", path)
    before = path.read_text()
    write_into_params(path, BEST)
    after = path.read_text()
    content = yaml.safe_load(after)
    assert (content["model"]["hidden_size"], content["train"]["window"]) == (3, 30)
    removed = [
        line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line.startswith("- ")
    ]
    assert all(line.split(":")[0].strip("- ") in {"hidden_size", "window"} for line in removed), removed
    assert {k: v for k, v in content.items() if k not in ("model", "train")} == {
        k: v for k, v in yaml.safe_load(before).items() if k not in ("model", "train")
    }
