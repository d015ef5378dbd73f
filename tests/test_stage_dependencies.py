"""Each DVC stage depends on exactly the code and params that change its outputs.

A stage that misses a dependency keeps stale results after an edit; one that
depends on too much reruns hours of training for an edit to a report. The
test copies the pipeline (dvc.yaml, params.yaml, src/) to a scratch DVC
project in which every stage's command is ``true`` and its data dependencies
and outputs are left out (what is tested here is code and params), runs it once
so that the lock is current, then makes one edit at a time and asks
``dvc status`` which stages it makes stale.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
#: The default chain: what `dvc repro` runs for the README's main command.
MODELS = ("lstm", "mclstm", "gr4jcn")
CHAIN = ("prepare", "normalize", *(f"model_train@{key}" for key in MODELS),
         *(f"model_probe@{key}" for key in MODELS), "compare", "report")
PROBES = {f"model_probe@{key}" for key in MODELS}
TRAINING = {f"model_train@{key}" for key in MODELS}


def _changed(project: Path) -> dict[str, set[str]]:
    """Per stage, the dependencies and params ``dvc status`` reports as changed (outputs ignored)."""
    done = subprocess.run(["dvc", "status", "--json"], cwd=project, capture_output=True, text=True,
                          check=True, timeout=300)
    changed: dict[str, set[str]] = {}
    for stage, entries in json.loads(done.stdout or "{}").items():
        for entry in entries:
            for path, what in (entry.get("changed deps") or {}).items() if isinstance(entry, dict) else ():
                items = what.items() if isinstance(what, dict) else [(path, what)]
                changed.setdefault(stage, set()).update(f"{key}: {state}" for key, state in items)
    return changed


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pipeline")
    shutil.copy(REPO / "params.yaml", folder / "params.yaml")
    shutil.copytree(REPO / "src", folder / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    pipeline = yaml.safe_load((REPO / "dvc.yaml").read_text())
    for stage in pipeline["stages"].values():
        body = stage.get("do", stage)
        body["cmd"] = "true"
        body["deps"] = [dep for dep in body.get("deps", []) if str(dep).startswith("src/")]
        for key in ("outs", "metrics", "plots"):
            body.pop(key, None)
    (folder / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=folder, check=True)
    subprocess.run(["dvc", "repro", "-q"], cwd=folder, check=True, timeout=300)
    assert _changed(folder) == {}  # the lock is current: nothing is stale before an edit
    return folder


def _stages_touched_by(project: Path, edit) -> set[str]:
    undo = edit(project)
    try:
        return set(_changed(project)) & set(CHAIN)
    finally:
        undo()


def _edit_params(path: list[str], value):
    def edit(project: Path):
        params_file = project / "params.yaml"
        original = params_file.read_text()
        params = yaml.safe_load(original)
        block = params
        for key in path[:-1]:
            block = block[key]
        block[path[-1]] = value
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        return lambda: params_file.write_text(original)
    return edit


def _edit_module(relative: str):
    def edit(project: Path):
        module = project / "src" / "hydroprobe" / relative
        original = module.read_text()
        module.write_text(original + "\n# an edit\n")
        return lambda: module.write_text(original)
    return edit


def test_editing_another_basin_reruns_nothing_and_this_basins_block_reruns_its_stages(project) -> None:
    assert _stages_touched_by(project, _edit_params(["basins", "matapedia", "name"], "renamed")) == set()
    touched = _stages_touched_by(project, _edit_params(["basins", "salmon_river", "name"], "renamed"))
    assert touched == {"prepare", *PROBES, "report"}  # report: the basin's name heads it


def test_a_models_block_reruns_that_model_and_the_stages_that_join_them(project) -> None:
    touched = _stages_touched_by(project, _edit_params(["models", "mclstm", "train", "max_epochs"], 2))
    assert touched == {"model_train@mclstm", "compare", "report"}
    shared = _stages_touched_by(project, _edit_params(["train", "learning_rate"], 0.01))
    assert shared == TRAINING  # the recipe every model starts from
    assert _stages_touched_by(project, _edit_params(["compare", "skill_floor"], 0.5)) == {"compare"}


def test_a_module_edit_reruns_exactly_the_stages_whose_outputs_it_can_change(project) -> None:
    climate = _stages_touched_by(project, _edit_module("probes/climate/report.py"))
    assert climate == PROBES
    # the model-kind table decides fitting, registry format, simulators and which models are references
    kinds = _stages_touched_by(project, _edit_module("models/kinds.py"))
    assert TRAINING | PROBES | {"compare"} <= kinds
    assert not kinds & {"prepare", "normalize", "report"}
    # the train stage's tracking wrapper writes its outputs; the regional model's code is not in this chain
    assert _stages_touched_by(project, _edit_module("tracking/train_stage.py")) == TRAINING
    assert _stages_touched_by(project, _edit_module("models/regional_lstm.py")) == set()
    assert _stages_touched_by(project, _edit_module("group/report.py")) == set()
    assert _stages_touched_by(project, _edit_module("probes/compare/caveats.py")) == {"compare"}


def test_a_new_models_block_adds_its_own_chain_and_leaves_the_others_clean(project) -> None:
    """Adding a model is one params block: the foreach gives it its stages, nothing else reruns."""
    params_file = project / "params.yaml"
    original = params_file.read_text()
    params = yaml.safe_load(original)
    params["models"]["gru"] = {"model": {"type": "gru", "hidden_size": 8}}
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        done = subprocess.run(["dvc", "status", "--json"], cwd=project, capture_output=True, text=True,
                              check=True, timeout=300)
        stale = set(json.loads(done.stdout or "{}"))
    finally:
        params_file.write_text(original)
    assert {"model_train@gru", "model_probe@gru", "compare", "report"} <= stale
    assert not stale & {*TRAINING, *PROBES, "prepare", "normalize"}
