"""The regional LSTM on real Caravan CAMELS snow basins: loss, attributes, per-basin metrics, probes.

Expected numbers are computed here by hand (attribute rows read off the text
tables, the NSE* loss of a three-sample batch), never by the code under test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from hydroprobe.data.groups import group_basins
from hydroprobe.data.regional import load_regional, regional_windows
from hydroprobe.group.pipeline import regional_simulator, regional_spec
from hydroprobe.probes.paper import probe_settings, run_paper_probes
from hydroprobe.training import metrics
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.regional import (
    NSE_STAR_EPSILON,
    basin_predictions,
    nse_star_loss,
    train_regional_replicates,
)
from tests.group.conftest import GAUGES, TINY_SPLITS

# Hand-read from attributes/camels_topo.txt (elev_mean, slope_mean, area_gages2) and
# camels_clim.txt (p_mean, frac_snow, aridity) of the three gauges.
RAW = {
    "06224000": {"area": 484.86, "elev_mean": 3116.82, "slope_mean": 105.14637, "p_mean": 1.47903627652293,
                 "frac_snow": 0.693901350936104, "aridity": 1.7478701746332},
    "09081600": {"area": 432.89, "elev_mean": 2990.97, "slope_mean": 150.5766, "p_mean": 2.67827789185489,
                 "frac_snow": 0.66474212387336, "aridity": 1.50276206476727},
    "12175500": {"area": 273.82, "elev_mean": 1538.75, "slope_mean": 245.56131, "p_mean": 5.46175222450376,
                 "frac_snow": 0.690360443229126, "aridity": 0.400719733521145},
}
TINY_MODEL = ModelConfig(hidden_size=4, initial_forget_bias=3.0)
TINY_TRAIN = TrainConfig(window=60, max_epochs=1, replicates=1, threads=1, learning_rate=0.01,
                         checkpoint_minutes=0)


@pytest.fixture(scope="module")
def specs(shared_data: Path, params: dict) -> dict:
    group = {**params["groups"]["camels_snow"], "gauges": GAUGES, "splits": TINY_SPLITS}
    return group_basins("camels_snow", group, shared_data)


@pytest.fixture(scope="module")
def data(specs, shared_data: Path):
    return load_regional("camels_snow", specs, shared_data)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        outcome = train_regional_replicates(data, TINY_MODEL, TINY_TRAIN, tmp_path_factory.mktemp("cache"),
                                            torch.device("cpu"))
    finally:
        torch.set_num_threads(threads)
    return outcome


def test_nse_star_loss_equals_hand_value() -> None:
    predicted = torch.tensor([0.5, 0.2, 0.9])
    observed = torch.tensor([0.4, 0.2, 0.6])
    basin_std = torch.tensor([0.3, 0.3, 0.9])
    # (0.1² / 0.4² + 0 + 0.3² / 1.0²) / 3 = (0.0625 + 0.09) / 3
    assert NSE_STAR_EPSILON == 0.1
    assert float(nse_star_loss(predicted, observed, basin_std)) == pytest.approx(0.1525 / 3, rel=1e-6)


def test_static_attributes_are_z_scored_over_the_group(data) -> None:
    raw = {g: {**v, "log_area": math.log10(v["area"])} for g, v in RAW.items()}
    for name in ("log_area", "elev_mean", "slope_mean", "frac_snow", "aridity", "p_mean"):
        values = [raw[g][name] for g in GAUGES]
        mean = sum(values) / 3
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / 3)  # population std over basins
        column = data.static.names.index(name)
        for gauge in GAUGES:
            got = data.static_vector(f"camels_snow_{gauge}")[column]
            assert got == pytest.approx((raw[gauge][name] - mean) / std, rel=1e-9, abs=1e-12), (name, gauge)


def test_windows_never_cross_basins_and_carry_each_basins_std(data) -> None:
    windows = regional_windows(data, 60)
    for basin_id in data.basin_ids:
        start = windows.offsets[basin_id]
        for split in ("train", "validation", "test"):
            assert windows.samples[split][basin_id].days.min() >= start + 59
        train = windows.samples["train"][basin_id].days
        assert torch.all(windows.row_std[torch.as_tensor(train)] == np.float32(windows.basin_std[basin_id]))
    assert len(set(windows.basin_std.values())) == 3


def test_per_basin_metrics_equal_metrics_of_the_per_basin_predictions(data, trained) -> None:
    best = trained.best
    assert [r.seed for r in trained.replicates] == [0]
    windows = regional_windows(data, TINY_TRAIN.window)
    predictions = basin_predictions(trained.architecture, best.result.state_dict, data, windows, 512,
                                    torch.device("cpu"))
    spec = regional_spec(trained.architecture, TINY_TRAIN.window, data)
    for basin_id in data.basin_ids:
        simulator = regional_simulator("r", spec, best.result.state_dict, data, basin_id)
        frame = data.series[basin_id].frame
        simulated = simulator.simulate(frame["precipitation"].to_numpy(), frame["temperature"].to_numpy())
        for split in ("train", "validation", "test"):
            days = predictions[basin_id][split]["days"]
            observed = frame["discharge"].to_numpy()[days]
            by_hand = {name: fn(observed, simulated[days]) for name, fn in metrics.METRICS.items()}
            for name, value in by_hand.items():
                got = best.metrics[basin_id][split][name]
                assert got == pytest.approx(value, rel=1e-5), (basin_id, split, name)
    median = float(np.median([best.metrics[b]["validation"]["nse"] for b in data.basin_ids]))
    assert best.validation_nse == median


def test_regional_simulator_runs_the_paper_case1_probe(data, trained, params, specs, tmp_path) -> None:
    basin_id = f"camels_snow_{GAUGES[0]}"
    spec = regional_spec(trained.architecture, TINY_TRAIN.window, data)
    simulator = regional_simulator("regional", spec, trained.best.result.state_dict, data, basin_id)
    probe_params = {**params, "basins": specs, "probes": {**params["probes"], "years": 1}}
    settings = probe_settings(probe_params, basin_id)
    result = run_paper_probes(simulator, [], data.basin_dataset(basin_id), settings, tmp_path)
    case1 = result["case1"]["observed_climatology"]
    assert result["basin"] == basin_id
    assert math.isfinite(case1["peak_flow_m3s"]["champion"])
    assert (tmp_path / "plots/probes/case1.csv").is_file()
    # zero precipitation and the basin's static attributes go in: nothing but P, T and 6 attributes
    inputs = simulator.normalized_inputs(np.zeros(3), np.zeros(3))
    assert inputs.shape == (3, 8)
    assert np.allclose(inputs[:, 2:], data.static_vector(basin_id))


class Stop(Exception):
    """Raised from an epoch callback: the run 'dies' with its latest checkpoint on disk, as a kill would."""


class Recorder:
    """A replicate observer that remembers starts and can stop the run at one epoch."""

    def __init__(self, stop_at_epoch: int = 0):
        self.stop_at_epoch, self.started = stop_at_epoch, []

    def replicate_started(self, seed: int, reused: bool, resumed_epoch: int = 0) -> None:
        self.started.append((seed, reused, resumed_epoch))

    def epoch_finished(self, seed, epoch, train_loss, validation_loss) -> None:
        if epoch == self.stop_at_epoch:
            raise Stop

    def replicate_finished(self, replicate) -> None:
        pass


def test_killed_regional_replicate_resumes_from_its_checkpoint_bit_for_bit(data, tmp_path) -> None:
    every_epoch = TrainConfig(window=60, max_epochs=3, patience=10, replicates=1, threads=1,
                              learning_rate=0.01, checkpoint_minutes=1e-9)
    cpu = torch.device("cpu")

    def train(cache: str, observer=None):
        return train_regional_replicates(data, TINY_MODEL, every_epoch, tmp_path / cache, cpu, observer)

    uninterrupted = train("a").best.result
    with pytest.raises(Stop):
        train("b", Recorder(stop_at_epoch=3))
    (checkpoint,) = (tmp_path / "b").rglob("checkpoint_seed_0.pt")
    assert torch.load(checkpoint, weights_only=True)["epoch"] == 2

    recorder = Recorder()
    resumed = train("b", recorder).best.result
    assert recorder.started == [(0, False, 2)]
    assert not checkpoint.exists()  # the cached result replaced it
    assert resumed.train_loss == uninterrupted.train_loss  # exact: bit for bit
    assert resumed.validation_loss == uninterrupted.validation_loss
    assert resumed.best_epoch == uninterrupted.best_epoch
    for key, value in uninterrupted.state_dict.items():
        assert torch.equal(resumed.state_dict[key], value), key
