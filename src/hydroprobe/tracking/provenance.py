"""What a run was made from: git commit and the DVC hash of the raw data."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml


def git_commit(root: Path) -> str:
    """HEAD's commit, suffixed ``-dirty`` when tracked files differ from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def dataset_hash(root: Path) -> str:
    """The md5 DVC recorded for the raw data directory in data.dvc ("untracked" if none)."""
    path = root / "data.dvc"
    if not path.is_file():
        return "untracked"
    outs = (yaml.safe_load(path.read_text()) or {}).get("outs") or [{}]
    return str(outs[0].get("md5", "untracked"))
