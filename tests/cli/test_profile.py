"""`hydroprobe profile NAME`: a committed profile as `dvc exp run` flags, checked against params.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from hydroprobe.cli.main import main
from hydroprobe.cli.profile_cmd import as_flags, profile_overrides
from hydroprobe.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_the_paper_profile_trains_every_compared_model_with_100_replicates(capsys, monkeypatch) -> None:
    overrides = profile_overrides(REPO, "paper")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    assert overrides["train.replicates"] == 100  # every model inherits it unless its block sets its own
    for key, block in params["models"].items():
        for section in ("train", "calibration"):
            if "replicates" in (block.get(section) or {}):
                assert overrides[f"models.{key}.{section}.replicates"] == 100, key
    assert overrides["model.initial_forget_bias"] is None and overrides["train.grad_clip"] == 0
    # until early stopping (patience 30) in epochs, as the paper: no update budget raises them
    assert overrides["train.min_updates"] == 0 and overrides["train.max_epochs"] == 500
    monkeypatch.chdir(REPO)
    assert main(["profile", "paper"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed[:2] == ["-S", "train.replicates=100"] and "model.initial_forget_bias=null" in printed


def test_a_profile_key_missing_from_params_is_refused(tmp_path: Path) -> None:
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles/typo.yaml").write_text("train: {replicate: 100}\n")
    with pytest.raises(ConfigError, match=r"typo.yaml: 'train.replicate' is not a key of params.yaml"):
        profile_overrides(tmp_path, "typo")
    with pytest.raises(ConfigError, match=r"no such profile; known: typo"):
        profile_overrides(tmp_path, "gpu")
    assert as_flags({"a.b": [1, 2], "c": "x", "d": None}) == ["-S a.b=[1,2]", "-S c=x", "-S d=null"]
