"""The execution engine itself: units in parallel on Ray, failures collected, no Ray on the default path."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from hydroprobe.execution.engine import LocalRunner, RayRunner, Resources


def meet(unit: int, folder: Path, wait_s: float) -> int:
    """Arrive, then wait for the other unit: only units running at the same time both return."""
    (folder / str(unit)).touch()
    deadline = time.monotonic() + wait_s
    while len(list(folder.iterdir())) < 2:
        if time.monotonic() > deadline:
            raise TimeoutError("the other unit never started: the units ran one after the other")
        time.sleep(0.05)
    return unit


def test_ray_units_run_at_the_same_time_on_two_cpus(ray_cluster, tmp_path):
    done = []
    failures = RayRunner(resources=Resources(cpus=1, threads=1)).map(
        meet, [0, 1], {"folder": tmp_path, "wait_s": 120.0}, done.append)
    assert failures == []
    first, second = sorted(done, key=lambda d: d.index)
    assert (first.value, second.value) == (0, 1)
    assert first.started < second.finished and second.started < first.finished  # intervals overlap
    assert first.worker != second.worker


def test_local_runner_runs_units_one_after_the_other_and_collects_the_failure(tmp_path):
    done = []
    failures = LocalRunner().map(meet, [0, 1], {"folder": tmp_path, "wait_s": 0.5}, done.append)
    assert [f.index for f in failures] == [0]
    assert "TimeoutError: the other unit never started" in failures[0].error
    assert [d.value for d in done] == [1]  # the second found the first's mark: it ran after it


def test_the_default_path_never_imports_ray(repo_root):
    code = ("import sys\n"
            "from hydroprobe.cli.main import build_parser\n"
            "from hydroprobe.tracking import train_stage\n"
            "from hydroprobe.execution.engine import make_runner\n"
            "from hydroprobe.execution.config import ExecutionConfig\n"
            "make_runner(ExecutionConfig())\n"
            "from hydroprobe.cli import common, tune_cmd\n"
            "from hydroprobe.probes.paper import run_paper_probes\n"
            "from hydroprobe.probes.climate import run_climate_probes\n"
            "assert common.probe_map({}, None).__name__ == 'in_process'\n"
            "build_parser()\n"
            "print('ray' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo_root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_ray_address_on_the_command_line_overrides_params_and_typos_name_the_key():
    import pytest

    from hydroprobe.errors import ConfigError
    from hydroprobe.execution.config import parse_execution

    assert parse_execution({}).engine == "local"
    chosen = parse_execution({"execution": {"engine": "local", "cpus_per_task": 2}}, "auto")
    assert (chosen.engine, chosen.address) == ("ray", "auto")
    assert (chosen.task_threads(0), chosen.task_threads(3)) == (2, 3)  # train.threads pins, else CPUs
    with pytest.raises(ConfigError, match="execution.gpu_per_task"):
        parse_execution({"execution": {"gpu_per_task": 0.25}})
    with pytest.raises(ConfigError, match="execution.engine"):
        parse_execution({"execution": {"engine": "slurm"}})
