"""Group models on real Caravan CAMELS snow basins: loss weights, attributes, tiles, per-basin metrics.

Expected numbers are computed here by hand (attribute rows read off the text tables, NSE* weights)
or by a slow reference (each window run alone), never by the code under test's own fast path.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from hydroprobe.data.groups import group_basins
from hydroprobe.data.regional import load_regional, regional_windows, single_basin
from hydroprobe.group.pipeline import basin_simulator, basin_spec, group_spec
from hydroprobe.models.simulator import regional_simulator
from hydroprobe.probes.paper import probe_settings, run_paper_probes
from hydroprobe.training import metrics
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.regional import (
    NSE_STAR_EPSILON,
    GroupSplit,
    basin_predictions,
    basin_tiles,
    nse_star_weight,
    train_group_replicates,
)
from hydroprobe.training.trainer import init_model
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
TINY_MODEL = ModelConfig("regional_lstm", hidden_size=4, initial_forget_bias=3.0, standardize=True)
TINY_TRAIN = TrainConfig(mode="seq2seq", window=120, loss_span=60, windows_per_epoch=16, batch_size=8,
                         max_epochs=1, replicates=1, threads=1, learning_rate=0.01, checkpoint_minutes=0)
CPU = torch.device("cpu")


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
        outcome = train_group_replicates(data, TINY_MODEL, TINY_TRAIN, tmp_path_factory.mktemp("cache"), CPU)
    finally:
        torch.set_num_threads(threads)
    return outcome


def test_nse_star_weight_equals_hand_value() -> None:
    assert NSE_STAR_EPSILON == 0.1
    assert nse_star_weight(0.3) == pytest.approx(1 / 0.4**2)  # 6.25
    assert nse_star_weight(0.9) == pytest.approx(1.0)


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


def test_training_windows_stay_in_their_basin_split_and_carry_its_nse_star_weight(data) -> None:
    windows = regional_windows(data, TINY_TRAIN.window)
    split = GroupSplit(windows, TINY_TRAIN.loss_span)
    assert len(set(windows.basin_std.values())) == 3
    for basin_id in data.basin_ids:
        start = windows.offsets[basin_id]
        days = windows.samples["train"][basin_id].days
        mine = split.ends[(split.ends >= start) & (split.ends < start + len(data.series[basin_id].frame))]
        assert mine.size > 0 and mine.min() - TINY_TRAIN.window + 1 >= start  # never reaches back a basin
        x, y = split.batch(windows.series, mine)
        scored = np.asarray(mine)[:, None] + np.arange(-TINY_TRAIN.loss_span + 1, 1)
        outside = (scored < days.min()) | (scored > days.max())
        assert torch.isnan(y[torch.as_tensor(outside)]).all()  # no day outside the training split is scored
        assert torch.all(split.weights(mine) == np.float32(1 / (windows.basin_std[basin_id] + 0.1) ** 2))
        assert torch.equal(x[0], windows.series.inputs[mine[0] - TINY_TRAIN.window + 1 : mine[0] + 1])


def test_fast_tiled_evaluation_equals_each_window_run_alone(data, trained) -> None:
    """Every basin's tiles in one batched pass vs each window through the network by itself (slow)."""
    state = trained.best.result.state_dict
    fast = basin_predictions(trained.architecture, [state], data, TINY_TRAIN, CPU)
    model = init_model(trained.architecture, 0)
    model.load_state_dict(state)
    model.eval()
    windows = regional_windows(data, TINY_TRAIN.window)
    span = TINY_TRAIN.loss_span
    for split in ("validation", "test"):
        plan = basin_tiles(windows, data, split, TINY_TRAIN.window, span)
        for basin_id in data.basin_ids:
            one = plan[basin_id]
            slow = np.full(len(one.days), np.nan)
            with torch.no_grad():
                for k, end in enumerate(one.ends):
                    window = windows.series.inputs[end - TINY_TRAIN.window + 1 : end + 1][None]
                    out = model.forward_sequence(window)[0, -span:].numpy()
                    chosen = one.tile == k
                    slow[chosen] = out[one.position[chosen]]
            slow_m3s = data.basin_scaler(basin_id).inverse(slow, "discharge")
            np.testing.assert_allclose(fast[basin_id][split]["simulated"], slow_m3s, rtol=0, atol=1e-5)


def test_per_basin_metrics_equal_metrics_of_the_per_basin_predictions(data, trained) -> None:
    best = trained.best
    assert [r.seed for r in trained.replicates] == [0]
    predictions = basin_predictions(trained.architecture, [best.result.state_dict], data, TINY_TRAIN, CPU)
    spec = group_spec(trained.architecture, TINY_TRAIN, data)
    for basin_id in data.basin_ids:
        simulator = basin_simulator("r", spec, best.result.state_dict, data, basin_id)
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


def test_a_registered_group_spec_needs_the_basin_before_it_simulates(data, trained) -> None:
    spec = group_spec(trained.architecture, TINY_TRAIN, data)
    state = trained.best.result.state_dict
    with pytest.raises(ValueError, match="the spec is a group's .* build the basin's spec with"):
        regional_simulator("r", spec, state)
    basin_id = f"camels_snow_{GAUGES[0]}"
    one = basin_spec(spec, data.static_raw[basin_id], data.series[basin_id].meta.area_km2)
    assert np.allclose(one["static"], data.static_vector(basin_id))
    factor = data.series[basin_id].meta.area_km2 * 1e3 / 86400  # 1 mm/d over the basin in m³/s
    shared = spec["scaler"]["maximum"]["discharge"]
    assert one["scaler"]["maximum"]["discharge"] == pytest.approx(shared * factor)


def test_regional_simulator_runs_the_paper_case1_probe(data, trained, params, specs, tmp_path) -> None:
    basin_id = f"camels_snow_{GAUGES[0]}"
    spec = group_spec(trained.architecture, TINY_TRAIN, data)
    simulator = basin_simulator("regional", spec, trained.best.result.state_dict, data, basin_id)
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


def test_a_single_basin_model_is_the_basin_as_a_group_of_one(data) -> None:
    basin_id = f"camels_snow_{GAUGES[1]}"
    one = single_basin(data, basin_id)
    assert one.basin_ids == [basin_id] and one.static.names == ()
    start, end = data.splits["train"]
    depth = one.depth_frame(basin_id).loc[start:end, "discharge"]
    assert one.scaler.maximum["discharge"] == pytest.approx(depth.max())  # its own scaler, its own days


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


def test_killed_group_training_resumes_from_its_checkpoint_bit_for_bit(data, tmp_path) -> None:
    every_epoch = TrainConfig(mode="seq2seq", window=120, loss_span=60, windows_per_epoch=16, batch_size=8,
                              max_epochs=3, patience=10, replicates=2, threads=1, learning_rate=0.01,
                              checkpoint_minutes=1e-9)

    def train(cache: str, observer=None):
        return train_group_replicates(data, TINY_MODEL, every_epoch, tmp_path / cache, CPU, observer)

    uninterrupted = train("a")
    with pytest.raises(Stop):
        train("b", Recorder(stop_at_epoch=3))
    (checkpoint,) = (tmp_path / "b").rglob("checkpoint_ensemble_*.pt")
    assert torch.load(checkpoint, weights_only=True)["epoch"] == 2

    recorder = Recorder()
    resumed = train("b", recorder)
    assert recorder.started == [(0, False, 2), (1, False, 2)]
    assert not checkpoint.exists()  # the cached results replaced it
    for before, after in zip(uninterrupted.replicates, resumed.replicates, strict=True):
        assert after.result.train_loss == before.result.train_loss  # exact: bit for bit
        assert after.result.validation_loss == before.result.validation_loss
        assert after.result.best_epoch == before.result.best_epoch
        for key, value in before.result.state_dict.items():
            assert torch.equal(after.result.state_dict[key], value), key
    assert resumed.ensemble_metrics == uninterrupted.ensemble_metrics
