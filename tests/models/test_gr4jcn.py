"""GR4J-CemaNeige through Raven on the real Salmon record: mass closure, calendars, calibration."""

from __future__ import annotations

import copy
import dataclasses
import os

import numpy as np
import pandas as pd
import pytest
import torch

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE, BasinSeries
from hydroprobe.data.dataset import BasinDataset, normalize, write_prepared
from hydroprobe.data.splits import parse_splits
from hydroprobe.errors import ConfigError
from hydroprobe.models.gr4jcn import PARAMETER_NAMES, GR4JCNSimulator, raven_available
from hydroprobe.training import calibration, metrics
from hydroprobe.training.calibration import (
    CalibrationConfig,
    calibrate_replicate,
    calibrate_replicates,
    calibration_workers,
    recipe_hash,
    simulate_record,
)
from hydroprobe.training.convergence import Budget, replicate_convergence

pytestmark = pytest.mark.skipif(not raven_available(), reason="needs the 'raven' extra (bash setup.sh)")

#: RavenPy's GR4JCN example parameters: a valid point inside the calibration bounds.
EXAMPLE = dict(zip(PARAMETER_NAMES, (0.529, -3.396, 407.29, 1.072, 16.9, 0.947), strict=True))
TINY_SPLITS = {"train": ("1984-01-01", "1985-12-31"), "validation": ("1986-01-01", "1986-12-31"),
               "test": ("1987-01-01", "1987-12-31")}


@pytest.fixture(scope="module")
def salmon_years(salmon) -> pd.DataFrame:
    return salmon.frame.loc["1981-01-01":"1987-12-31"]


@pytest.fixture(scope="module")
def simulator(salmon) -> GR4JCNSimulator:
    meta = salmon.meta
    return GR4JCNSimulator("example", EXAMPLE, meta.area_km2, meta.latitude, meta.longitude)


def _prepared(series: BasinSeries, folder) -> BasinDataset:
    """The prepare and normalize stages' own functions, on a cut of the real record."""
    write_prepared(series, parse_splits(TINY_SPLITS, "test"), folder)
    normalize(folder)
    return BasinDataset.load(folder)


@pytest.fixture(scope="module")
def tiny_dataset(salmon, tmp_path_factory) -> BasinDataset:
    frame = salmon.frame.loc["1981-01-01":"1987-12-31"].copy()
    return _prepared(BasinSeries(salmon.meta, frame, salmon.source), tmp_path_factory.mktemp("tiny"))


def test_water_balance_closes_every_day(simulator, salmon_years):
    run = simulator.simulate_frame(salmon_years, PRECIPITATION, TEMPERATURE, precise=True)
    precipitation = salmon_years[PRECIPITATION].to_numpy()
    storage_change = np.diff(run.storage_mm)
    residual = precipitation[1:] - run.flow_mm[1:] - run.et_mm[1:] - storage_change
    assert np.abs(residual).max() < 1e-8
    assert np.abs(run.mass_balance_error_mm).max() < 1e-8
    assert run.et_mm.sum() > 0 and (run.et_mm >= -1e-12).all()
    # flow in mm is the m³/s discharge spread over the basin for a day
    np.testing.assert_allclose(run.flow_mm, run.discharge_m3s * 86_400 / (4250.6 * 1e3))


def test_fast_csv_output_matches_precise_netcdf(simulator, salmon_years):
    fast = simulator.simulate_frame(salmon_years, PRECIPITATION, TEMPERATURE)
    precise = simulator.simulate_frame(salmon_years, PRECIPITATION, TEMPERATURE, precise=True)
    assert len(fast.discharge_m3s) == len(salmon_years)
    np.testing.assert_allclose(fast.discharge_m3s, precise.discharge_m3s, rtol=1e-5, atol=1e-6)


def test_zero_precipitation_drains_the_stores(simulator, salmon_years):
    temperature = salmon_years[TEMPERATURE].to_numpy()[: 3 * 365]
    fluxes = simulator.simulate_fluxes(np.zeros_like(temperature), temperature)
    storage = fluxes["storage_mm"]
    assert (np.diff(storage) <= 1e-9).all()  # nothing comes in, so no store can grow
    flow = simulator.simulate(np.zeros_like(temperature), temperature)
    assert (flow >= 0).all() and flow[-1] < flow[30]


def test_missing_forcing_is_refused_with_its_date(tiny_dataset):
    frame = tiny_dataset.series.frame.copy()
    frame.loc["1982-03-04", TEMPERATURE] = np.nan
    broken = copy.copy(tiny_dataset)
    broken.series = BasinSeries(tiny_dataset.series.meta, frame)
    with pytest.raises(ValueError, match="first 1982-03-04"):
        simulate_record(broken, {"type": "gr4jcn", "area_km2": 4250.6, "latitude": 54.5, "longitude": -123.4},
                        {k: v for k, v in EXAMPLE.items()}, 3)


def test_calibration_improves_and_reports_true_scores(tiny_dataset, tmp_path):
    config = CalibrationConfig(evaluations=12, replicates=1, warmup_years=2)
    result = calibrate_replicate(tiny_dataset, config, seed=3)
    assert len(result.train_loss) >= 12
    assert all(b <= a for a, b in zip(result.train_loss, result.train_loss[1:], strict=False))  # best so far
    outcome = calibrate_replicates(tiny_dataset, config, tmp_path)
    best = outcome.best
    arch = outcome.architecture
    simulated = simulate_record(tiny_dataset, arch, best.result.state_dict, config.warmup_years)
    start, end = TINY_SPLITS["validation"]
    observed = tiny_dataset.series.frame[DISCHARGE].loc[start:end].to_numpy()
    assert best.metrics["validation"]["nse"] == pytest.approx(
        metrics.nse(observed, simulated.loc[start:end].to_numpy()), abs=1e-12
    )
    # the search's own score of its best set: same runs, Raven's CSV rounds discharge to 6 digits
    assert 1 - best.result.train_loss[-1] == pytest.approx(best.metrics["train"]["nse"], abs=1e-6)
    again = calibrate_replicates(tiny_dataset, config, tmp_path)  # finished replicates come from the cache
    assert again.replicates[0].reused
    assert again.best.result.state_dict.keys() == set(PARAMETER_NAMES)


def test_a_stalled_search_stops_with_what_the_uncut_search_had_found_by_then(tiny_dataset, monkeypatch):
    """Patience cuts the search short and changes nothing: its runs are the uncut search's first runs."""
    capped = CalibrationConfig(evaluations=40, replicates=1, warmup_years=2)  # patience 0: every run
    runs: list[tuple[dict, float]] = []  # every run of the uncut search: its parameters, its training NSE
    seen = calibration._Search.seen

    def spy(search, values: dict, train_nse: float, validation_nse: float) -> None:
        runs.append((values, train_nse))
        seen(search, values, train_nse, validation_nse)

    with monkeypatch.context() as patch:
        patch.setattr(calibration._Search, "seen", spy)
        uncut = calibrate_replicate(tiny_dataset, capped, seed=3)
    patience = 3
    improved = [n for n in range(1, 41) if n == 1 or uncut.train_loss[n - 1] < uncut.train_loss[n - 2]]
    stop = next(best + patience for best, after in zip(improved, [*improved[1:], 41], strict=True)
                if after - best > patience)
    assert stop < 40  # the uncut search stalled for `patience` runs before its cap

    stopped = calibrate_replicate(tiny_dataset, dataclasses.replace(capped, patience=patience), seed=3)
    assert len(stopped.train_loss) == stop and stopped.best_epoch == stop - patience
    assert stopped.train_loss == uncut.train_loss[:stop]
    assert stopped.validation_loss == uncut.validation_loss[:stop]
    best_values, _ = max((run for run in runs[:stop] if np.isfinite(run[1])), key=lambda run: run[1])
    assert {name: float(value) for name, value in stopped.state_dict.items()} == best_values
    # the verdict judges the real stop: fewer runs than the cap, so converged
    assert replicate_convergence(stopped, Budget(40, "model run", ""))["run"] == stop
    assert replicate_convergence(stopped, Budget(40, "model run", ""))["converged"]
    again = calibrate_replicate(tiny_dataset, dataclasses.replace(capped, patience=patience), seed=3)
    assert again.train_loss == stopped.train_loss  # one seed, one search
    assert all(torch.equal(again.state_dict[k], v) for k, v in stopped.state_dict.items())


def test_searches_side_by_side_give_the_one_after_another_results(tiny_dataset, tmp_path):
    """Two searches in two processes: the same parameters and curves as in this process, each cached."""
    one = CalibrationConfig(evaluations=10, replicates=2, warmup_years=2, workers=1)
    two = dataclasses.replace(one, workers=2)
    assert recipe_hash(one, "data") == recipe_hash(two, "data")  # how, not what
    sequential = calibrate_replicates(tiny_dataset, one, tmp_path / "sequential")
    parallel = calibrate_replicates(tiny_dataset, two, tmp_path / "parallel")
    for a, b in zip(sequential.replicates, parallel.replicates, strict=True):
        assert a.seed == b.seed and not b.reused
        assert a.result.state_dict.keys() == b.result.state_dict.keys()
        for name, value in a.result.state_dict.items():
            assert torch.equal(value, b.result.state_dict[name]), name
        assert a.result.train_loss == b.result.train_loss
        assert a.metrics == b.metrics
    again = calibrate_replicate(tiny_dataset, one, seed=0)  # spotpy's start point no longer random
    assert again.train_loss == sequential.replicates[0].result.train_loss
    cached = sorted(path.name for path in (tmp_path / "parallel" / parallel.config_hash).iterdir())
    assert cached == ["seed_0.json", "seed_0.pt", "seed_1.json", "seed_1.pt"]


def test_workers_default_to_one_per_core_up_to_the_searches():
    assert calibration_workers(CalibrationConfig(workers=0), 1) == 1
    assert calibration_workers(CalibrationConfig(workers=0), 64) == min(64, os.cpu_count())
    assert calibration_workers(CalibrationConfig(workers=3), 2) == 2
    with pytest.raises(ConfigError, match="calibration.workers"):
        CalibrationConfig(workers=-1)
