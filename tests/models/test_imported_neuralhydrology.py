"""Probing a model trained with neuralhydrology: a tiny run on the real Salmon series, probed by hydroprobe.

The run directory is made here the way a neuralhydrology user makes one (a
GenericDataset ``time_series/<basin>.nc``, a basin list, ``config.yml``, then
``nh_run.start_run``), and its own evaluation (``nh_run.eval_run``) is the yardstick
for hydroprobe's observed-forcing predictions.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from hydroprobe.cli.main import main
from hydroprobe.data.basin import BasinSeries
from hydroprobe.errors import ConfigError
from hydroprobe.models.imported.neuralhydrology_run import guess_inputs, load_neuralhydrology_run
from tests.tracking.conftest import make_project

pytest.importorskip("neuralhydrology", reason="the optional extra: pip install 'hydroprobe[neuralhydrology]'")

from neuralhydrology.nh_run import eval_run, start_run  # noqa: E402

TRAIN = ("1984-01-01", "1986-12-31")  # the tiny project's splits (tests/tracking/conftest.py)
TEST = ("1988-01-01", "1988-12-31")


def _nh_date(day: str) -> str:
    return pd.Timestamp(day).strftime("%d/%m/%Y")


def write_generic_dataset(folder: Path, series: BasinSeries, basins: dict[str, float]) -> Path:
    """``time_series/<basin>.nc`` (the real Salmon record, 1980–1988) and ``attributes/attributes.csv``."""
    frame = series.frame.loc["1980-01-01":"1988-12-31"].copy()
    frame.index.name = "date"
    (folder / "time_series").mkdir(parents=True, exist_ok=True)
    for basin in basins:
        frame.to_xarray().to_netcdf(folder / "time_series" / f"{basin}.nc", engine="h5netcdf")
    (folder / "attributes").mkdir(exist_ok=True)
    pd.DataFrame({"gauge_id": list(basins), "area": list(basins.values())}).to_csv(
        folder / "attributes" / "attributes.csv", index=False
    )
    return folder


def train_nh_run(folder: Path, basins: list[str], **overrides) -> Path:
    """A tiny neuralhydrology run (hidden 8, 30-day windows, 2 epochs on 1984–1986); its run directory."""
    (folder / "basins.txt").write_text("\n".join(basins) + "\n")
    config = {
        "experiment_name": "salmon_tiny", "run_dir": str(folder / "runs"), "data_dir": str(folder / "data"),
        "dataset": "generic", "device": "cpu", "seed": 0, "num_workers": 0, "log_interval": 0,
        "log_tensorboard": False, "log_n_figures": 0, "save_weights_every": 1, "verbose": 0,
        **{f"{period}_basin_file": str(folder / "basins.txt") for period in ("train", "validation", "test")},
        "train_start_date": _nh_date(TRAIN[0]), "train_end_date": _nh_date(TRAIN[1]),
        "validation_start_date": _nh_date("1987-01-01"), "validation_end_date": _nh_date("1987-12-31"),
        "test_start_date": _nh_date(TEST[0]), "test_end_date": _nh_date(TEST[1]),
        "model": "cudalstm", "head": "regression", "output_activation": "linear", "hidden_size": 8,
        "initial_forget_bias": 3, "output_dropout": 0.0, "optimizer": "Adam", "loss": "MSE",
        "learning_rate": 0.01, "batch_size": 256, "epochs": 2, "clip_gradient_norm": 1.0,
        "seq_length": 30, "predict_last_n": 1, "metrics": ["NSE"],
        "dynamic_inputs": ["precipitation", "temperature"], "target_variables": ["discharge"],
        **overrides,
    }
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(config))
    start_run(config_file=path)
    (run_dir,) = (folder / "runs").iterdir()
    return run_dir


def nh_test_predictions(run_dir: Path, basin: str, epoch: int = 2) -> pd.Series:
    """neuralhydrology's own test-period simulation (eval_run), last step of each window, m³/s."""
    eval_run(run_dir=run_dir, period="test", epoch=epoch)
    with open(run_dir / "test" / f"model_epoch{epoch:03d}" / "test_results.p", "rb") as handle:
        results = pickle.load(handle)
    xr = results[basin]["1D"]["xr"]
    return xr["discharge_sim"].isel(time_step=-1).to_series()


@pytest.fixture(scope="module")
def nh_project(tmp_path_factory, shared_data, params, salmon):
    """A tiny hydroprobe project (prepared, normalised, no model of its own) and a nh run for Salmon."""
    base = tmp_path_factory.mktemp("nh")
    write_generic_dataset(base / "data", salmon, {"salmon_river": 4250.6})
    run_dir = train_nh_run(base, ["salmon_river"])
    root = make_project(base / "project", shared_data, params)
    config = yaml.safe_load((root / "params.yaml").read_text())
    config["probes"]["years"] = 1
    config["climate"].update({"bootstrap": 50, "spinup_days": 365, "split": "train"})  # whole water years
    (root / "params.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        for command in ("prepare", "normalize"):
            assert main([command]) == 0, command
    return root, run_dir


def test_probing_a_neuralhydrology_run_reproduces_its_own_evaluation(nh_project, monkeypatch):
    root, run_dir = nh_project
    monkeypatch.chdir(root)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["probe", "paper", "--from-neuralhydrology", str(run_dir), "--name", "nh-salmon"]) == 0
    assert main(["probe", "climate", "--from-neuralhydrology", str(run_dir), "--name", "nh-salmon"]) == 0
    out = root / "imported" / "nh-salmon"
    hydrograph = pd.read_csv(out / "plots/observed/hydrograph.csv", index_col="date", parse_dates=["date"])
    expected = nh_test_predictions(run_dir, "salmon_river")
    ours = hydrograph.loc[TEST[0] : TEST[1], "simulated"]
    assert len(expected) == len(ours) == 366
    np.testing.assert_allclose(ours.to_numpy(), expected.to_numpy(), rtol=1e-5, atol=1e-4)

    paper = json.loads((out / "metrics/probes_paper.json").read_text())
    assert paper["champion"] == f"neuralhydrology cudalstm {run_dir.name} epoch 2"
    assert paper["replicates"] == []
    peak = paper["case1"]["observed_climatology"]["peak_flow_m3s"]["champion"]
    fragment = (out / "reports/fragments/paper_cases.md").read_text()
    assert f"{peak:.1f}" in fragment
    skill = json.loads((out / "metrics/train.json").read_text())
    assert skill["source"]["inputs"] == "precipitation=precipitation, temperature=temperature"
    observed = hydrograph.loc[TEST[0] : TEST[1], "observed"].to_numpy()
    errors = expected.to_numpy() - observed
    nse_of_nh_output = 1 - np.sum(errors**2) / np.sum((observed - observed.mean()) ** 2)
    assert skill["selected"]["test"]["nse"] == pytest.approx(nse_of_nh_output, rel=1e-4)
    climate = json.loads((out / "metrics/probes_climate.json").read_text())
    assert list(climate["models"]) == ["nh-salmon"]
    assert (out / "reports/fragments/climate.md").is_file()
    print(f"nh model: Case 1 peak {peak:.2f} m³/s, test NSE {skill['selected']['test']['nse']:.4f}, "
          f"Case 2 recovered {paper['case2']['mass_recovered_min']['champion']:.4f}–"
          f"{paper['case2']['mass_recovered_max']['champion']:.4f}")

    import mlflow

    runs = mlflow.search_runs(experiment_names=["hydroprobe-salmon_river"], output_format="list")
    tags = {run.data.tags["stage"]: run.data.tags for run in runs}
    assert tags["probe_paper"]["imported.source"] == "neuralhydrology"
    assert tags["probe_paper"]["imported.epoch"] == "2"
    assert tags["probe_climate"]["model_name"] == "nh-salmon"


def test_input_mapping_error_names_the_config_key_and_the_fix():
    with pytest.raises(ConfigError) as error:
        guess_inputs(["prcp(mm/day)", "tmean(C)", "srad(W/m2)"], {}, "neuralhydrology run /runs/x")
    assert str(error.value) == (
        "neuralhydrology run /runs/x: config key 'dynamic_inputs' has srad(W/m2), which the probes cannot "
        "perturb: they set only daily precipitation (mm/d) and temperature (°C). Map each with "
        "--input precipitation=NAME / --input temperature=NAME (params.yaml: subject.inputs), or retrain "
        "the model with only precipitation and temperature as dynamic_inputs"
    )
    with pytest.raises(ConfigError, match="several candidates for temperature"):
        guess_inputs(["prcp", "temperature_2m_min", "temperature_2m_max"], {}, "run")
    assert guess_inputs(["P_basin", "air"], {"precipitation": "P_basin", "temperature": "air"}, "run") == {
        "P_basin": "precipitation", "air": "temperature"
    }


def test_a_regional_ealstm_sequence_to_sequence_run(tmp_path, salmon):
    """Two basins with a static attribute, EA-LSTM, predict_last_n 10: the chosen basin matches nh's eval."""
    write_generic_dataset(tmp_path / "data", salmon, {"salmon_a": 4250.6, "salmon_b": 1000.0})
    run_dir = train_nh_run(
        tmp_path, ["salmon_a", "salmon_b"], model="ealstm", static_attributes=["area"], predict_last_n=10,
        epochs=1,
    )
    with pytest.raises(ConfigError, match="choose one with --nh-basin ID"):
        load_neuralhydrology_run(run_dir)
    simulator = load_neuralhydrology_run(run_dir, epoch=1, basin="salmon_b")
    frame = salmon.frame.loc["1980-01-01":TEST[1]]
    ours = pd.Series(simulator.simulate(frame["precipitation"].to_numpy(), frame["temperature"].to_numpy()),
                     index=frame.index).loc[TEST[0] : TEST[1]]
    expected = nh_test_predictions(run_dir, "salmon_b", epoch=1)
    # sequence-to-sequence: nh's first 9 test days are only inside windows that end later, never last
    assert len(expected) == 366 - 9 and expected.index[0] == pd.Timestamp("1988-01-10")
    np.testing.assert_allclose(ours.loc[expected.index].to_numpy(), expected.to_numpy(), rtol=1e-5, atol=1e-4)
    other = load_neuralhydrology_run(run_dir, epoch=1, basin="salmon_a")
    assert not np.allclose(other.simulate(frame["precipitation"].to_numpy(), frame["temperature"].to_numpy())
                           [-366:], ours.to_numpy())
