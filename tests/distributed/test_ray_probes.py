"""Paper and climate probes with each model a Ray task: the same files and MLflow numbers as in-process.

A tiny real-data ensemble (Salmon River 1984–1988, hidden 4, window 30, two
epochs, three replicates) is trained, registered and promoted in-process; both
probes then run in-process and through a local Ray cluster (2 CPUs), and every
metrics file, hydrograph CSV and report fragment must be byte for byte the same.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import yaml
from mlflow.tracking import MlflowClient

from hydroprobe.cli.main import main
from hydroprobe.tracking import store
from tests.tracking.conftest import make_project

#: Small enough for seconds: one simulated year per paper scenario, the climate probe on the
#: training split (the tiny project's test year holds no complete water year).
PROBES = {"probes.years": 1, "climate.split": "train", "climate.bootstrap": 50}
OUTPUTS = tuple(f"models/lstm/{path}" for path in (
    "metrics/probes_paper.json", "metrics/probes_climate.json", "plots/probes/case1.csv",
    "plots/probes/case2.csv", "reports/fragments/paper_cases.md", "reports/fragments/climate.md"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shared_data, params) -> Path:
    root = make_project(tmp_path_factory.mktemp("probed"), shared_data, params, **PROBES)
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        for command in ("prepare", "normalize", "train", "register", "promote"):
            assert main([command]) == 0, command
    torch.set_num_threads(threads)  # the in-process probes at this machine's default, the tasks at 1
    return root


def probe(root: Path, capsys, on_ray: bool) -> tuple[dict[str, bytes], list[str]]:
    """Both probes; every compared output's bytes, and the two MLflow run ids."""
    run_ids = []
    for kind in ("paper", "climate"):
        assert main(["probe", kind]) == 0, kind
        out = capsys.readouterr().out
        assert ("each model's probe is a Ray task" in out) is on_ray
        run_ids += re.findall(r"MLflow run (\w+)", out)
    files = {path: (root / path).read_bytes() for path in OUTPUTS}
    for path in sorted((root / "models/lstm/plots/climate").iterdir()):
        files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files, run_ids


def test_probes_on_ray_write_the_in_process_files_and_numbers(trained, monkeypatch, capsys, ray_cluster):
    monkeypatch.chdir(trained)
    local, local_runs = probe(trained, capsys, on_ray=False)

    params = yaml.safe_load((trained / "params.yaml").read_text())
    params["execution"] = {"engine": "ray", "max_retries": 0}
    (trained / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for path in OUTPUTS:
        (trained / path).unlink()  # the Ray run must write them itself
    remote, remote_runs = probe(trained, capsys, on_ray=True)

    assert len(local) == len(OUTPUTS) + 12  # baseline + 11 scenarios of params.yaml
    assert remote.keys() == local.keys()
    for path, content in local.items():
        assert remote[path] == content, path
    client = MlflowClient(store.default_tracking_uri(trained))
    assert len(local_runs) == len(remote_runs) == 2 and set(local_runs).isdisjoint(remote_runs)
    for mine, theirs in zip(local_runs, remote_runs, strict=True):
        a, b = client.get_run(mine).data, client.get_run(theirs).data
        assert a.metrics == b.metrics and a.params == b.params
        assert len(a.metrics) > 20


def test_a_failing_model_stops_the_probe_naming_it(ray_cluster):
    from hydroprobe.execution.config import ExecutionConfig
    from hydroprobe.execution.engine import UnitsFailed, engine_map
    from hydroprobe.probes.units import in_process

    def simulate(unit: int) -> int:
        if unit == 2:
            raise ValueError("no discharge")
        return unit * 10

    assert in_process(simulate, [0, 1], {}) == [0, 10]
    with pytest.raises(UnitsFailed, match="model 2: ValueError: no discharge") as caught:
        engine_map(ExecutionConfig(engine="ray", max_retries=0), what="model")(simulate, [0, 1, 2, 3], {})
    assert [f.index for f in caught.value.failures] == [2]
