"""`hydroprobe data fetch` fills data/ and checks it against the hashes DVC recorded in data.dvc."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from hydroprobe.cli.main import main

REPO = Path(__file__).resolve().parents[2]


def test_fetch_verifies_against_data_dvc(tmp_path, shared_data, monkeypatch, capsys):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    shutil.copyfile(REPO / "params.yaml", tmp_path / "params.yaml")
    shutil.copyfile(REPO / "data.dvc", tmp_path / "data.dvc")
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    assert main(["data", "fetch", "--source-dir", str(shared_data)]) == 0
    assert "matches data.dvc" in capsys.readouterr().out

    (tmp_path / "data" / "salmon_river" / "notes.txt").write_text("not part of the record\n")
    assert main(["data", "fetch", "--source-dir", str(shared_data)]) == 2
    err = capsys.readouterr().err
    assert "differs from data.dvc" in err and "dvc checkout data.dvc" in err
