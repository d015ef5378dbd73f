"""``kill -9`` of a real training process: its runs are closed as KILLED and its epochs are not lost.

The killed process is ``hydroprobe train`` on the tiny real-data project,
with one test-only change: after epoch ``PAUSE`` it writes a marker and
sleeps, so the test kills it at a known point instead of racing it. A
checkpoint is written at every epoch boundary (``checkpoint_minutes`` tiny), so
the last one holds epoch ``PAUSE - 1`` and epoch ``PAUSE`` is lost with the
process and trained again by the rerun.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import torch
from mlflow.tracking import MlflowClient

from hydroprobe.cli.main import main
from hydroprobe.tracking import store
from hydroprobe.tracking.owners import (
    CLOSED_REASON_TAG,
    HOST_TAG,
    PID_TAG,
    PROCESS_START_TAG,
    owner_died,
    owner_tags,
    process_start,
)
from hydroprobe.tracking.training_run import ROLE_TAG

from .conftest import make_project

PAUSE = 4
KILLED_RUN = {"train.max_epochs": 6, "train.replicates": 3, "train.engine": "ensemble",
              "train.checkpoint_minutes": 1e-9}
PAUSED_TRAIN = """
import os, sys, time
from pathlib import Path
from hydroprobe.cli.main import main
from hydroprobe.tracking import training_run

marker, pause = Path(sys.argv[1]), int(sys.argv[2])
real = training_run.MlflowReplicateObserver.epoch_finished

def epoch_finished(self, seed, epoch, train_loss, validation_loss):
    real(self, seed, epoch, train_loss, validation_loss)
    if epoch == pause:  # stands for a long training: the test kills it here
        marker.write_text(str(os.getpid()))
        time.sleep(600)

training_run.MlflowReplicateObserver.epoch_finished = epoch_finished
sys.exit(main(["train"]))
"""


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return {**env, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def wait_for(path: Path, process: subprocess.Popen, limit_s: float = 600) -> None:
    """Until ``path`` exists; fail with the child's output if it exits first (a safety limit, no timing)."""
    deadline = time.monotonic() + limit_s
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"child exited {process.returncode} early:\n{process.stdout.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{path} never appeared")
        time.sleep(0.2)


def kill_paused_training(root: Path) -> int:
    """Run the paused ``hydroprobe train`` in ``root``, SIGKILL it at epoch PAUSE; its pid."""
    script, marker = root / "paused_train.py", root / "paused.marker"
    script.write_text(PAUSED_TRAIN)
    child = subprocess.Popen([sys.executable, str(script), str(marker), str(PAUSE)], cwd=root,
                             env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for(marker, child)
    child.send_signal(signal.SIGKILL)
    child.wait()  # reaped: the pid is gone, as after any kill -9
    child.stdout.close()
    return child.pid


def runs_by_role(root: Path) -> list:
    store.configure(root)
    experiment = mlflow.get_experiment_by_name("hydroprobe-salmon_river")
    return MlflowClient().search_runs([experiment.experiment_id], max_results=1000)


def cached(root: Path) -> dict[int, tuple[dict, dict]]:
    """seed → (weights, record) of every replicate in the project's cache."""
    out = {}
    for record in (root / "outputs/cache/salmon_river").glob("*/seed_*.json"):
        seed = int(record.stem.removeprefix("seed_"))
        weights = torch.load(record.with_suffix(".pt"), weights_only=True)
        out[seed] = (weights, json.loads(record.read_text()))
    return out


@pytest.fixture(scope="module")
def killed_and_rerun(tmp_path_factory, shared_data, params):
    """A project whose training was killed at epoch PAUSE and rerun, and an uninterrupted twin."""
    base = tmp_path_factory.mktemp("killed")
    roots = {name: make_project(base / name, shared_data, params, **KILLED_RUN) for name in ("a", "b")}
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.chdir(roots["a"])
        assert main(["prepare"]) == 0 and main(["normalize"]) == 0
        pid = kill_paused_training(roots["a"])
        checkpoints = (roots["a"] / "outputs/cache").rglob("checkpoint_*.pt")
        after_kill = {"runs": runs_by_role(roots["a"]),
                      "checkpoints": [torch.load(path, weights_only=True) for path in checkpoints]}
        assert main(["train"]) == 0
        mp.chdir(roots["b"])
        for command in ("prepare", "normalize", "train"):
            assert main([command]) == 0
    torch.set_num_threads(threads)
    return roots, pid, after_kill


def test_killed_training_leaves_running_runs_and_a_checkpoint(killed_and_rerun):
    _, pid, after_kill = killed_and_rerun
    runs = after_kill["runs"]
    assert [r.info.status for r in runs] == ["RUNNING"] * 4  # the parent and 3 replicates
    assert {r.data.tags[PID_TAG] for r in runs} == {str(pid)}
    assert {r.data.tags[HOST_TAG] for r in runs} == {socket.gethostname()}
    assert [saved["epoch"] for saved in after_kill["checkpoints"]] == [PAUSE - 1]


def test_rerun_closes_the_dead_runs_as_killed(killed_and_rerun):
    roots, pid, after_kill = killed_and_rerun
    dead = {r.info.run_id for r in after_kill["runs"]}
    runs = {r.info.run_id: r for r in runs_by_role(roots["a"])}
    assert {runs[i].info.status for i in dead} == {"KILLED"}
    for run_id in dead:
        reason = runs[run_id].data.tags[CLOSED_REASON_TAG]
        assert reason.startswith(f"process {pid} on {socket.gethostname()} died; closed by the next")
    new = [r for i, r in runs.items() if i not in dead]
    assert len(new) == 4 and {r.info.status for r in new} == {"FINISHED"}
    replicates = [r for r in new if r.data.tags[ROLE_TAG] == "replicate"]
    assert {r.data.tags["resumed_from_epoch"] for r in replicates} == {str(PAUSE - 1)}
    client = MlflowClient()
    for run in replicates:  # the resumed run repeats the checkpointed epochs: a whole curve
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "validation_loss")]
        assert sorted(steps) == list(range(1, KILLED_RUN["train.max_epochs"] + 1))


def test_rerun_ends_with_the_uninterrupted_numbers(killed_and_rerun):
    roots, _, _ = killed_and_rerun
    resumed, uninterrupted = cached(roots["a"]), cached(roots["b"])
    assert sorted(resumed) == sorted(uninterrupted) == [0, 1, 2]
    for seed, (weights, record) in uninterrupted.items():
        other_weights, other_record = resumed[seed]
        for key in ("train_loss", "validation_loss", "best_epoch"):
            assert other_record[key] == record[key], (seed, key)  # exact: bit for bit
        assert all(torch.equal(other_weights[k], v) for k, v in weights.items()), seed
    tables = [pd.read_csv(root / "outputs/salmon_river/models/lstm/replicates.csv")
              for root in roots.values()]
    metrics = [c for c in tables[0] if c.endswith(("_nse", "_rmse", "_kge", "_r"))]
    pd.testing.assert_frame_equal(tables[0][metrics], tables[1][metrics], check_exact=True)
    assert not list((roots["a"] / "outputs/cache").rglob("checkpoint_*")), "deleted once cached"


def test_runs_of_a_live_owner_are_left_alone(tmp_path, shared_data, params, monkeypatch):
    """A concurrent invocation's RUNNING runs survive another invocation's clean-up."""
    root = make_project(tmp_path / "p", shared_data, params, **{"train.replicates": 1, "train.max_epochs": 1})
    monkeypatch.chdir(root)
    assert main(["prepare"]) == 0 and main(["normalize"]) == 0
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        store.configure(root)
        experiment_id = store.experiment("hydroprobe-salmon_river", root)
        tags = {ROLE_TAG: "training", PID_TAG: str(live.pid), HOST_TAG: socket.gethostname()}
        start = process_start(live.pid)
        if start is not None:
            tags[PROCESS_START_TAG] = start
        concurrent = MlflowClient().create_run(experiment_id, tags=tags).info.run_id
        assert main(["train"]) == 0
        assert MlflowClient().get_run(concurrent).info.status == "RUNNING"
    finally:
        live.kill()
        live.wait()


def test_owner_died_only_when_provable():
    me = owner_tags()
    assert not owner_died(me)  # this process
    assert not owner_died({})  # a run from before owner tags: cannot tell
    assert not owner_died({**me, HOST_TAG: "another-host"})  # its pids mean nothing here
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert owner_died({**me, PID_TAG: str(gone.pid)})
    if PROCESS_START_TAG in me:  # Linux: a recycled pid is a different process
        assert owner_died({**me, PID_TAG: str(os.getppid()), PROCESS_START_TAG: "1"})


def test_a_probe_stage_closes_the_probe_run_a_dead_process_left(tmp_path, monkeypatch):
    """The same clean-up for probe and compare runs: a dead owner's RUNNING run of that stage is
    closed as KILLED by the next run of the stage; another stage's dead run is not its business."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    store.configure(tmp_path)
    experiment_id = store.experiment("hydroprobe-salmon_river", tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owner = {PID_TAG: str(dead.pid), HOST_TAG: socket.gethostname()}
    client = MlflowClient()
    left = client.create_run(experiment_id, tags={"stage": "probe_paper", **owner}).info.run_id
    other = client.create_run(experiment_id, tags={"stage": "probe_climate", **owner}).info.run_id
    with store.probe_run("salmon_river", "probe_paper", "hydroprobe-salmon_river", "1", tmp_path) as run:
        assert run.data.tags[PID_TAG] == str(os.getpid())
    closed = client.get_run(left)
    assert closed.info.status == "KILLED"
    assert closed.data.tags["hydroprobe.closed_reason"].startswith(
        f"process {dead.pid} on {socket.gethostname()} died"
    )
    assert client.get_run(other).info.status == "RUNNING"
