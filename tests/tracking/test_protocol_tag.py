"""The ``protocol`` tag of a training run: ``paper`` only when every protocol knob is the paper's."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from hydroprobe.cli.common import StageContext
from hydroprobe.cli.profile_cmd import profile_overrides
from hydroprobe.tracking.training_run import protocol_tag

REPO = Path(__file__).resolve().parents[2]


def _with(params: dict, overrides: dict[str, object]) -> dict:
    """``params`` with dotted ``overrides`` applied, as ``dvc exp run -S key=value`` does."""
    edited = copy.deepcopy(params)
    for dotted, value in overrides.items():
        *path, last = dotted.split(".")
        block = edited
        for key in path:
            block = block.setdefault(key, {})
        block[last] = value
    return edited


def _tag(params: dict, tmp_path: Path) -> str:
    context = StageContext(tmp_path, params, "salmon_river", "lstm")
    return protocol_tag(context.model_config(), context.train_config())


def test_the_paper_profile_is_tagged_paper(params: dict, tmp_path: Path) -> None:
    assert _tag(_with(params, profile_overrides(REPO, "paper")), tmp_path) == "paper"


def test_the_quick_defaults_are_custom_even_with_the_papers_replicates_and_clipping(
    params: dict, tmp_path: Path
) -> None:
    quick = _with(params, {"train.replicates": 100, "train.grad_clip": 0, "train.patience": 30})
    assert _tag(quick, tmp_path) == "custom"


@pytest.mark.parametrize("knob, value", [
    ("model.standardize", True),
    ("model.initial_forget_bias", 3),
    ("train.max_epochs", 30),
    ("train.min_updates", 1200),
    ("train.replicates", 4),
    ("train.grad_clip", 1.0),
    ("train.mode", "seq2seq"),
])
def test_one_knob_off_the_paper_makes_the_run_custom(params: dict, tmp_path: Path, knob: str, value) -> None:
    paper = _with(params, profile_overrides(REPO, "paper"))
    assert _tag(_with(paper, {knob: value}), tmp_path) == "custom"
