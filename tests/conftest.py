"""Shared fixtures: the real basin data next to the clone, and the Salmon series.

Tests never invent basin data: they read the real files in
``<repo>/../shared/data`` and cut broken copies from them in ``tmp_path``.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import torch

if not torch.cuda.is_available():  # Triton kernels run in its CPU interpreter here; the setting is
    os.environ.setdefault("TRITON_INTERPRET", "1")  # read when triton is first imported, so now
import xarray as xr
import yaml

from hydroprobe.data.basin import BasinSeries
from hydroprobe.data.loaders import load_basin

REPO_ROOT = Path(__file__).resolve().parents[1]
SALMON_FILE = "salmon_river/Salmon-River-Near-Prince-George_meteo_daily.nc"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``<repo>/../shared/data``; absent data is a broken checkout, not a reason to skip."""
    path = REPO_ROOT.parent / "shared" / "data"
    if not (path / SALMON_FILE).is_file():
        pytest.fail(
            f"real basin data not found at {path}: the tests need the shared data folder "
            "next to the repository (see /work/shared/data/README.md or `hydroprobe data fetch`)"
        )
    return path


@pytest.fixture(scope="session")
def params() -> dict:
    with open(REPO_ROOT / "params.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture
def salmon_spec(params: dict) -> dict:
    """A private copy of the Salmon block of params.yaml, free to modify."""
    return copy.deepcopy(params["basins"]["salmon_river"])


@pytest.fixture(scope="session")
def salmon(shared_data: Path, params: dict) -> BasinSeries:
    """The real Salmon River series (shared by the session: do not modify it)."""
    return load_basin("salmon_river", params["basins"]["salmon_river"], shared_data)


@pytest.fixture
def salmon_cut(shared_data: Path, salmon_spec: dict, tmp_path: Path):
    """Factory writing a slice of the real Salmon netCDF, optionally broken, to tmp_path.

    ``cut(start, end, edit)`` applies ``edit(dataset) -> dataset`` to the slice,
    writes it where the Salmon spec expects it and returns ``(raw_dir, spec, path)``.
    """

    def cut(start: str = "1954-01-01", end: str = "1956-12-31", edit=None):
        with xr.open_dataset(shared_data / SALMON_FILE, engine="h5netcdf") as ds:
            part = ds.sel(time=slice(start, end)).load()
        if edit is not None:
            part = edit(part)
        raw_dir = tmp_path / "raw"
        path = raw_dir / SALMON_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        part.to_netcdf(path, engine="h5netcdf")
        return raw_dir, copy.deepcopy(salmon_spec), path

    return cut


@pytest.fixture(autouse=True)
def _offline_mlflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """No telemetry from any test; tests that track point MLflow at their own tmp stores."""
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tests train tiny models: one thread avoids OpenMP stalls on 2 shared cores (measured 25x)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
