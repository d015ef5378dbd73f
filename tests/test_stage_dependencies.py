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
CHAIN = ("prepare", "normalize", "train", "register", "promote", "probe_paper", "probe_climate",
         "reference_train@mclstm", "reference_train@gr4jcn", "reference_probe@mclstm",
         "reference_probe@gr4jcn", "compare", "report")


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
    assert touched == {"prepare", "probe_paper", "probe_climate", "reference_probe@mclstm",
                       "reference_probe@gr4jcn"}


def test_a_module_edit_reruns_exactly_the_stages_whose_outputs_it_can_change(project) -> None:
    climate = _stages_touched_by(project, _edit_module("probes/climate/report.py"))
    assert climate == {"probe_climate", "reference_probe@mclstm", "reference_probe@gr4jcn"}
    # the model-kind table decides fitting, registry format, simulators and which models are references
    kinds = _stages_touched_by(project, _edit_module("models/kinds.py"))
    assert {"train", "register", "probe_paper", "probe_climate", "compare",
            "reference_train@mclstm", "reference_probe@mclstm"} <= kinds
    assert not kinds & {"prepare", "normalize", "report"}
    # the train stage's tracking wrapper writes its outputs; the regional model's code is not in this chain
    assert "train" in _stages_touched_by(project, _edit_module("tracking/train_stage.py"))
    assert _stages_touched_by(project, _edit_module("group/report.py")) == set()
    assert _stages_touched_by(project, _edit_module("probes/compare/caveats.py")) == {"compare"}
