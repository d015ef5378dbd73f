"""The ensemble of GR4J-CemaNeige calibration replicates on a cut of the real Salmon record."""

from __future__ import annotations

import numpy as np
import pytest

from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE, BasinSeries
from hydroprobe.data.dataset import BasinDataset, normalize, write_prepared
from hydroprobe.data.splits import parse_splits
from hydroprobe.models.gr4jcn import GR4JCNSimulator, raven_available
from hydroprobe.models.replicate_ensemble import ReplicateEnsemble
from hydroprobe.training import metrics
from hydroprobe.training.calibration import CalibrationConfig, calibrate_replicates, simulate_record
from hydroprobe.training.ensemble_mean import calibrated_members, ensemble_scores

pytestmark = pytest.mark.skipif(not raven_available(), reason="needs the 'raven' extra (bash setup.sh)")
SPLITS = {"train": ("1984-01-01", "1985-12-31"), "validation": ("1986-01-01", "1986-12-31"),
          "test": ("1987-01-01", "1987-12-31")}


@pytest.fixture(scope="module")
def calibrated(salmon, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gr4j-ensemble")
    frame = salmon.frame.loc["1981-01-01":"1987-12-31"].copy()
    write_prepared(BasinSeries(salmon.meta, frame, salmon.source), parse_splits(SPLITS, "test"), folder)
    normalize(folder)
    dataset = BasinDataset.load(folder)
    config = CalibrationConfig(evaluations=10, replicates=2, warmup_years=2, workers=1)
    return dataset, config, calibrate_replicates(dataset, config, folder / "cache")


def test_ensemble_metrics_of_calibration_replicates_by_hand(calibrated):
    dataset, config, outcome = calibrated
    block = ensemble_scores(*calibrated_members(outcome, dataset, config.warmup_years), [0, 1])
    assert block["members"] == 2 and block["seeds"] == [0, 1]
    runs = [simulate_record(dataset, outcome.architecture, o.result.state_dict, config.warmup_years)
            for o in outcome.replicates]
    mean = (runs[0] + runs[1]) / 2
    for split, (start, end) in SPLITS.items():
        observed = dataset.series.frame[DISCHARGE].loc[start:end].to_numpy()
        by_hand = metrics.nse(observed, mean.loc[start:end].to_numpy())
        assert block[split]["nse"] == pytest.approx(by_hand, abs=1e-12)
    assert block["test"]["nse"] != pytest.approx(outcome.best.metrics["test"]["nse"], abs=1e-6)


def test_gr4j_ensemble_is_the_mean_and_its_fluxes_close_every_day(calibrated):
    dataset, _, outcome = calibrated
    arch = outcome.architecture
    members = [GR4JCNSimulator(f"seed {o.seed}", {k: float(v) for k, v in o.result.state_dict.items()},
                               arch["area_km2"], arch["latitude"], arch["longitude"], arch["spinup_days"])
               for o in outcome.replicates]
    ensemble = ReplicateEnsemble("gr4j ensemble", members, [0, 1])
    assert ensemble.has_fluxes and ensemble.spinup_days == members[0].spinup_days
    frame = dataset.series.frame.loc["1984-01-01":"1987-12-31"]
    forcing = frame[PRECIPITATION].to_numpy(), frame[TEMPERATURE].to_numpy()
    runs = [m.simulate(*forcing) for m in members]
    np.testing.assert_allclose(ensemble.simulate(*forcing), (runs[0] + runs[1]) / 2, rtol=1e-12)
    fluxes = ensemble.simulate_fluxes(*forcing)
    residual = forcing[0][1:] - fluxes["flow_mm"][1:] - fluxes["et_mm"][1:] - np.diff(fluxes["storage_mm"])
    assert np.abs(residual).max() < 1e-4  # mm/d: each member's Raven balance, averaged
