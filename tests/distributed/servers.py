"""Real servers for the distributed tests: PostgreSQL and an MLflow tracking server on it, loopback only.

PostgreSQL refuses to run as root, so as root (CI) the server runs as the
``postgres`` user (``runuser``) from a data folder that user owns. A missing
PostgreSQL is a broken set-up, not a reason to skip: the fixture fails naming
the fix (``bash setup.sh --dev`` installs the ``postgresql`` package).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_bin() -> Path:
    found = shutil.which("initdb")
    candidates = [found] if found else sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        pytest.fail("PostgreSQL not found (no initdb on PATH or in /usr/lib/postgresql/*/bin): "
                    "run `bash setup.sh --dev` (installs the postgresql package) or "
                    "`apt-get install postgresql`")
    return Path(candidates[-1]).parent


@dataclass
class Postgres:
    port: int
    folder: Path

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def start_postgres() -> Postgres:
    """initdb + pg_ctl start on 127.0.0.1 at a free port, trust auth, no fsync (a throw-away cluster)."""
    bin_dir = _postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="hydroprobe-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()
    run = [*_as_postgres()]
    subprocess.run([*run, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
    started = subprocess.run([*run, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"),
                              "-w", "-t", "60", "-o", options, "start"], capture_output=True, text=True)
    if started.returncode != 0:
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        pytest.fail(f"PostgreSQL did not start: {started.stderr}\n{log[-2000:]}")
    return Postgres(port, folder)


def stop_postgres(server: Postgres) -> None:
    bin_dir = _postgres_bin()
    subprocess.run([*_as_postgres(), str(bin_dir / "pg_ctl"), "-D", str(server.folder / "data"),
                    "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(server.folder, ignore_errors=True)


@dataclass
class MlflowServer:
    uri: str
    process: subprocess.Popen
    log: Path


def start_mlflow_server(backend: str, artifacts: Path, log: Path) -> MlflowServer:
    """``mlflow server`` on PostgreSQL with proxied artifacts, bound to 127.0.0.1; waits for /health."""
    port = free_port()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    handle = open(log, "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend,
         "--artifacts-destination", artifacts.as_uri(), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"], stdout=handle, stderr=subprocess.STDOUT, env=env,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mlflow server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                if answer.status == 200:
                    return MlflowServer(uri, process, log)
        except OSError:
            time.sleep(0.5)
    process.kill()
    pytest.fail(f"mlflow server did not answer /health in 180 s:\n{log.read_text()[-3000:]}")


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
