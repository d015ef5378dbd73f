"""Two processes writing to the default SQLite store at once.

Measured: with the store's database already created, two processes logging
runs side by side both work (MLflow sets a 20 s SQLite busy timeout). What
failed was two processes *creating* a fresh store together: both ran MLflow's
schema migrations and one died (``duplicate column name: step``). The writers
here start on a fresh store and are released together from a barrier, so they
race exactly there.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy
from mlflow.tracking import MlflowClient

from hydroprobe.errors import TrackingError
from hydroprobe.tracking import store

RUNS = 25
WRITER = """
import sys, time
from pathlib import Path
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
from hydroprobe.tracking import store

root, name = Path(sys.argv[1]), sys.argv[2]
(root / f"ready.{name}").touch()
while not (root / "go").exists():  # released together with the other writer
    time.sleep(0.01)
store.configure(root)
experiment_id = store.experiment("hydroprobe-concurrent", root)
client = MlflowClient()
for i in range(int(sys.argv[3])):
    run_id = client.create_run(experiment_id, run_name=f"{name}-{i}", tags={"writer": name}).info.run_id
    client.log_batch(run_id, metrics=[Metric("loss", 1.0 / (step + 1), 0, step) for step in range(20)])
    client.set_terminated(run_id, "FINISHED")
"""


def start_writers(root: Path, names: tuple[str, ...]) -> list[subprocess.Popen]:
    script = root / "writer.py"
    script.write_text(WRITER)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return [
        subprocess.Popen([sys.executable, str(script), str(root), name, str(RUNS)], cwd=root, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for name in names
    ]


def release_together(root: Path, writers: list[subprocess.Popen], names: tuple[str, ...]) -> None:
    deadline = time.monotonic() + 300  # a safety limit for a wedged child, not a timing assertion
    while not all((root / f"ready.{name}").exists() for name in names):
        assert all(w.poll() is None for w in writers), [w.stdout.read() for w in writers]
        assert time.monotonic() < deadline, "writers never got ready"
        time.sleep(0.05)
    (root / "go").touch()


def test_two_processes_share_a_fresh_sqlite_store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    names = ("a", "b")
    writers = start_writers(tmp_path, names)
    release_together(tmp_path, writers, names)
    outputs = [w.communicate(timeout=600)[0] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], "\n".join(outputs)
    uri = store.configure(tmp_path)
    assert uri == store.default_tracking_uri(tmp_path)
    client = MlflowClient()
    experiment = client.get_experiment_by_name("hydroprobe-concurrent")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    assert sorted(r.data.tags["writer"] for r in runs) == ["a"] * RUNS + ["b"] * RUNS
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert all(len(client.get_metric_history(r.info.run_id, "loss")) == 20 for r in runs[:5])


def locked_error(database: Path) -> sqlalchemy.exc.OperationalError:
    """The real error SQLite gives a writer while another connection holds the write lock."""
    holder = sqlite3.connect(database)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    holder.commit()
    holder.execute("BEGIN EXCLUSIVE")
    engine = sqlalchemy.create_engine(f"sqlite:///{database}", connect_args={"timeout": 0})
    try:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("INSERT INTO t VALUES (1)"))
    except sqlalchemy.exc.OperationalError as error:
        return error
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    pytest.fail("the write went through although the database was locked")


def test_a_locked_store_stops_with_the_fix(tmp_path):
    error = locked_error(tmp_path / "store.db")
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    with pytest.raises(TrackingError) as raised, store.locked_store_errors(uri):
        try:  # MLflow wraps the driver's error in its own, as ManagedSessionMaker does
            raise error
        except sqlalchemy.exc.OperationalError as cause:
            raise RuntimeError("SQLAlchemy database error") from cause
    message = str(raised.value)
    assert "mlflow server --backend-store-uri " + uri in message
    assert "MLFLOW_TRACKING_URI" in message


def test_other_store_errors_pass_through(tmp_path):
    with pytest.raises(ValueError, match="unrelated"), store.locked_store_errors("sqlite:///x.db"):
        raise ValueError("unrelated")
