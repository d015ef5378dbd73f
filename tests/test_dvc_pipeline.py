"""The whole DVC pipeline on a fresh copy of the project with a tiny config: `dvc repro` twice.

This is the newcomer's path (`hydroprobe data fetch && dvc repro`) on the real
Salmon data, shrunk to seconds of training. It proves the stages chain, that
a second `dvc repro` does nothing and that `dvc metrics show` sees the results.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hydroprobe.probes.compare.headline import HEADLINE_KEYS

REPO = Path(__file__).resolve().parents[1]
TINY_SPLITS = {
    "train": ["1984-01-01", "1986-12-31"],
    "validation": ["1987-01-01", "1987-12-31"],
    "test": ["1988-01-01", "1989-12-31"],
}


def _run(args: list[str], cwd: Path) -> str:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "CI": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory, shared_data: Path) -> Path:
    """The project's files (as git sees them) in a new git repo, ../shared beside it."""
    base = tmp_path_factory.mktemp("ci")
    (base / "shared").symlink_to(shared_data.parent)
    target = base / "repo"
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()
    for name in files:
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / name)
    params = yaml.safe_load((target / "params.yaml").read_text())
    params["model"]["hidden_size"] = 4
    params["train"].update({"window": 30, "max_epochs": 2, "replicates": 3, "threads": 1, "min_updates": 0})
    params["basins"]["salmon_river"]["splits"] = TINY_SPLITS
    params["climate"].update({"bootstrap": 50, "spinup_days": 365})
    params["probes"]["years"] = 1
    params["models"]["mclstm"]["model"]["hidden_size"] = 2
    params["models"]["mclstm"]["train"].update({"window": 30, "loss_span": 10, "windows_per_epoch": 32,
                                               "max_epochs": 1, "replicates": 2})
    params["models"]["gr4jcn"]["calibration"].update(
        {"evaluations": 10, "replicates": 1, "warmup_years": 1, "spinup_days": 365})
    (target / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost", "commit", "-qm", "x"]):
        subprocess.run(command, cwd=target, check=True)
    _run(["hydroprobe", "data", "fetch"], target)
    return target


@pytest.fixture(scope="module")
def first_repro(clone: Path) -> str:
    return _run(["dvc", "repro"], clone)


def _results(clone: Path) -> dict[str, str]:
    """Every metrics file and the report, as text: what a user reads and DVC compares."""
    paths = [*clone.glob("metrics/*.json"), *clone.glob("models/*/metrics/*.json"),
             clone / "reports/probe_report.md"]
    return {path.relative_to(clone).as_posix(): path.read_text() for path in paths}


@pytest.mark.slow
def test_dvc_repro_runs_every_stage_then_nothing(clone: Path, first_repro: str):
    first = first_repro
    for stage in ("prepare", "normalize", "model_train@lstm", "model_train@mclstm", "model_train@gr4jcn",
                  "model_probe@lstm", "model_probe@mclstm", "model_probe@gr4jcn", "compare", "report",
                  "tune"):
        assert f"Running stage '{stage}'" in first
    # every model went through the same train → register → promote → probe chain
    for name, replicates, registered in (("lstm", 3, "hydroprobe-salmon_river"),
                                         ("mclstm", 2, "hydroprobe-salmon_river-mclstm"),
                                         ("gr4jcn", 1, "hydroprobe-salmon_river-gr4jcn")):
        trained = json.loads((clone / f"models/{name}/metrics/train.json").read_text())
        assert trained["replicates"] == replicates
        champion = json.loads((clone / f"outputs/salmon_river/models/{name}/champion.json").read_text())
        assert champion["name"] == registered
        balance = json.loads((clone / f"models/{name}/metrics/probes_paper.json").read_text())
        assert balance["basin"] == "salmon_river"
    comparison = json.loads((clone / "metrics/comparison.json").read_text())
    assert comparison["models"] == ["LSTM", "MC-LSTM", "GR4J-CemaNeige"]
    # the tiny test split (1988-1989) holds one complete water year: its ratio, no spread stated
    for entry in comparison["annual_volumes"]["per_model"].values():
        assert list(entry["years"]) == ["1989"] and entry["interannual_std_ratio"] is None
    report = (clone / "reports/probe_report.md").read_text()
    assert "Case 2" in report and "climate" in report.lower()
    assert "Three models side by side" in report and "Model: gr4jcn" in report
    assert "Wet and dry years on the observed test record" in report
    order = [report.index(text) for text in ("Three models side by side", "Model: lstm", "Model: gr4jcn")]
    assert order == sorted(order)  # the verdict first, then each model, the subject first
    # every figure the report shows was copied beside the basin's snapshot
    basin_report = clone / "reports/basins/salmon_river.md"
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", basin_report.read_text()):
        assert (basin_report.parent / link).is_file(), link

    second = _run(["dvc", "repro"], clone)
    assert "Running stage" not in second
    assert "up to date" in _run(["dvc", "status"], clone)
    shown = json.loads(_run(["dvc", "metrics", "show", "--json"], clone))
    workspace = shown[""]["data"]  # DVC 3: the workspace is the revision ""
    # a handful of headline numbers per model, not the hundreds of keys of the full metrics
    for name in ("lstm", "mclstm", "gr4jcn"):
        numbers = workspace[f"metrics/headline/{name}.json"]["data"]
        assert sorted(numbers) == sorted(HEADLINE_KEYS)
    assert not any("probes_climate" in path or "comparison" in path for path in workspace)


@pytest.mark.slow
def test_pipeline_from_scratch_twice_gives_identical_results(clone: Path, first_repro: str):
    """Same command, same numbers: a second run from nothing (no replicate cache, no MLflow store,
    no outputs) writes byte-identical metrics and report on the same machine."""
    before = _results(clone)
    assert len(before) >= 10
    # committed files (models/README.md, other basins' report sections) stay, as in a clone
    made = [clone / "outputs", clone / "mlruns", clone / "metrics",
            *(path for path in (clone / "models").iterdir() if path.is_dir())]
    for folder in made:
        shutil.rmtree(folder)
    again = _run(["dvc", "repro", "--force"], clone)
    assert "Running stage 'model_train@lstm'" in again and "reused from cache" not in again
    after = _results(clone)
    assert sorted(after) == sorted(before)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"differ between two runs from scratch: {changed}"
