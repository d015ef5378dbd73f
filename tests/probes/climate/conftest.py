"""Climate-probe fixtures: the project's climate settings and one stage run of the reference models."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from hydroprobe.data.dataset import BasinDataset
from hydroprobe.probes.climate import ClimateSettings, climate_settings, run_climate_probes
from hydroprobe.testing import ConstantFlow, LinearReservoir


@pytest.fixture(scope="session")
def climate(params: dict) -> ClimateSettings:
    """params.yaml's climate section for Salmon, with a smaller bootstrap to keep tests fast."""
    return dataclasses.replace(climate_settings(copy.deepcopy(params), "salmon_river"), bootstrap=200)


@pytest.fixture(scope="session")
def reference_run(
    salmon_dataset: BasinDataset, climate: ClimateSettings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict, Path]:
    """The whole stage on a lossless linear reservoir (3 recession constants) and a constant flow.

    k = 0.05/d is a 20-day time constant: short against the 9 water years of the
    test split, so storage carried across the period's ends is small.
    """
    area = salmon_dataset.series.meta.area_km2
    reservoirs = [LinearReservoir(area, k=k, name=f"reservoir-k{k}") for k in (0.05, 0.02, 0.1)]
    models = {
        "reservoir": (reservoirs[0], reservoirs),
        "constant": (ConstantFlow(100.0), [ConstantFlow(100.0)]),
    }
    out_dir = tmp_path_factory.mktemp("climate")
    return run_climate_probes(models, salmon_dataset, climate, out_dir), out_dir
