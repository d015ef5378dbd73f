"""Which process owns a RUNNING run, and closing the runs whose owner died.

A run ends as FINISHED, FAILED or KILLED only if its process gets to say so:
Ctrl-C and ``kill`` (SIGTERM) unwind and mark open runs KILLED, but ``kill -9``,
an out-of-memory kill or a power cut leave them RUNNING for ever, which reads
as "still training". Every run therefore records its owner (pid, host and the
process's start time, against a recycled pid), and the next invocation of the
same stage closes the runs whose owner is gone as KILLED, with a tag saying
why. Runs of a live owner (a concurrent invocation) and runs whose owner
cannot be checked (another host, no owner tags) are left alone.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from mlflow.entities import Run, RunStatus
from mlflow.tracking import MlflowClient

PID_TAG = "hydroprobe.pid"
HOST_TAG = "hydroprobe.host"
PROCESS_START_TAG = "hydroprobe.process_start"  # clock ticks since boot (/proc/<pid>/stat field 22)
CLOSED_REASON_TAG = "hydroprobe.closed_reason"


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (Linux ``/proc``), or None where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # fields after "(comm)": state is 3, starttime 22


def _is_zombie(pid: int) -> bool:
    """A killed child its parent has not reaped yet still answers ``kill(pid, 0)``; it is dead."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def owner_tags() -> dict[str, str]:
    """Tags naming this process as a run's owner."""
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    started = process_start(os.getpid())
    if started is not None:
        tags[PROCESS_START_TAG] = started
    return tags


def owner_died(tags: dict[str, str]) -> bool:
    """True only when the owner named by ``tags`` is provably gone from this host.

    False for a live owner, one on another host (its pids mean nothing here)
    and a run without owner tags (made before they existed).
    """
    pid_text, host = tags.get(PID_TAG), tags.get(HOST_TAG)
    if not pid_text or not pid_text.isdigit() or host != socket.gethostname():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # someone else's process holds the pid: alive, maybe recycled (checked below)
    if _is_zombie(pid):
        return True
    recorded, current = tags.get(PROCESS_START_TAG), process_start(pid)
    return recorded is not None and current is not None and recorded != current


@dataclass
class ClosedRun:
    run_id: str
    name: str
    reason: str


def close_dead_runs(client: MlflowClient, experiment_id: str, roles: Collection[str],
                    role_tag: str) -> list[ClosedRun]:
    """Close as KILLED the RUNNING runs of ``experiment_id`` with ``role_tag`` in ``roles`` whose
    owner died; return them. KILLED keeps them out of everything that looks for FINISHED runs."""
    closed = []
    for run in _running_runs(client, experiment_id):
        tags = run.data.tags
        if tags.get(role_tag) not in roles or not owner_died(tags):
            continue
        when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        reason = (f"process {tags[PID_TAG]} on {tags[HOST_TAG]} died; "
                  f"closed by the next invocation at {when}")
        client.set_tag(run.info.run_id, CLOSED_REASON_TAG, reason)
        client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.KILLED))
        closed.append(ClosedRun(run.info.run_id, run.info.run_name, reason))
    return closed


def _running_runs(client: MlflowClient, experiment_id: str) -> list[Run]:
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], "attributes.status = 'RUNNING'",
                                  max_results=1000, page_token=token)
        runs += list(page)
        token = page.token
        if not token:
            return runs


def close_abandoned_runs(experiment_id: str, roles: Collection[str], role_tag: str) -> None:
    """Close as KILLED the runs with ``role_tag`` in ``roles`` that a killed process left RUNNING.

    Called by the next invocation of the same stage, so a dead run never reads as
    "still running" and never counts as finished; a live concurrent run is left alone.
    """
    for run in close_dead_runs(MlflowClient(), experiment_id, roles, role_tag):
        print(f"hydroprobe: closed MLflow run {run.name} ({run.run_id}) as KILLED: {run.reason}",
              file=sys.stderr, flush=True)
