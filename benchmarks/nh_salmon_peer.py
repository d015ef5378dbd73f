"""neuralhydrology's CudaLSTM trained on Salmon with the paper's configuration, probed beside hydroprobe's.

The question of issue 18: does a model trained by the field's own library, not by
hydroprobe, show the same physics? This trains one neuralhydrology CudaLSTM on the
real Salmon record with the paper's configuration (hidden 50, 365-day windows,
batch 256, Adam 1e-3, MSE; hydroprobe's splits 1961–1990 / 1991–1997 / 1998–2007,
gradient clipping 1 and forget-gate bias 3 as hydroprobe's quick default), picks
the epoch of highest validation NSE (scored by hydroprobe on observed forcing),
probes it with ``hydroprobe probe paper|climate --from-neuralhydrology`` and writes
its numbers beside the committed hydroprobe LSTM's into a JSON file.

Run from the repository root after ``dvc repro`` (it needs outputs/salmon_river):

    python benchmarks/nh_salmon_peer.py --epochs 20 --work /tmp/nh_salmon
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
import yaml

from hydroprobe.data.dataset import BasinDataset
from hydroprobe.data.loaders import load_basin
from hydroprobe.layout import Layout
from hydroprobe.models.imported.neuralhydrology_run import load_neuralhydrology_run
from hydroprobe.probes.skill import observed_hydrograph, skill
from hydroprobe.training.fingerprint import cpu_model

SPLITS = {"train": ("1961-01-01", "1990-12-31"), "validation": ("1991-01-01", "1997-12-31"),
          "test": ("1998-01-01", "2007-12-31")}


def _nh_date(day: str) -> str:
    return "/".join(reversed(day.split("-")))


def write_dataset(folder: Path, root: Path) -> None:
    """The real Salmon record as a neuralhydrology GenericDataset (``time_series/salmon_river.nc``)."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    series = load_basin("salmon_river", params["basins"]["salmon_river"], root / params["data"]["raw_dir"])
    frame = series.frame.copy()
    frame.index.name = "date"
    (folder / "time_series").mkdir(parents=True, exist_ok=True)
    frame.to_xarray().to_netcdf(folder / "time_series" / "salmon_river.nc", engine="h5netcdf")


def train(work: Path, epochs: int) -> Path:
    """One CudaLSTM run with the paper's configuration; returns its run directory."""
    from neuralhydrology.nh_run import start_run

    (work / "basins.txt").write_text("salmon_river\n")
    config = {
        "experiment_name": "salmon_paper", "run_dir": str(work / "runs"), "data_dir": str(work / "data"),
        "dataset": "generic", "device": "cpu", "seed": 0, "num_workers": 0, "log_interval": 0,
        "log_tensorboard": False, "log_n_figures": 0, "save_weights_every": 1, "validate_every": epochs + 1,
        **{f"{period}_basin_file": str(work / "basins.txt") for period in ("train", "validation", "test")},
        **{f"{split}_{edge}_date": _nh_date(SPLITS[split][i]) for split in SPLITS
           for i, edge in enumerate(("start", "end"))},
        "model": "cudalstm", "head": "regression", "output_activation": "linear", "hidden_size": 50,
        "initial_forget_bias": 3, "output_dropout": 0.0, "optimizer": "Adam", "loss": "MSE",
        "learning_rate": 1e-3, "batch_size": 256, "epochs": epochs, "clip_gradient_norm": 1.0,
        "seq_length": 365, "predict_last_n": 1, "metrics": ["NSE"],
        "dynamic_inputs": ["precipitation", "temperature"], "target_variables": ["discharge"],
    }
    (work / "config.yml").write_text(yaml.safe_dump(config))
    start_run(config_file=work / "config.yml")
    (run_dir,) = (work / "runs").iterdir()
    return run_dir


def best_epoch(run_dir: Path, dataset: BasinDataset, epochs: int) -> tuple[int, list[dict]]:
    """Every epoch's skill on observed forcing; the epoch of highest validation NSE."""
    scores = []
    for epoch in range(1, epochs + 1):
        simulator = load_neuralhydrology_run(run_dir, epoch=epoch)
        per_split = skill(observed_hydrograph(simulator, dataset))
        scores.append({"epoch": epoch, **{s: per_split[s]["nse"] for s in per_split}})
    best = max(scores, key=lambda row: row["validation"])
    return best["epoch"], scores


def _probe(root: Path, run_dir: Path, epoch: int, name: str) -> None:
    for probe in ("paper", "climate"):
        subprocess.run(["hydroprobe", "probe", probe, "--from-neuralhydrology", str(run_dir),
                        "--epoch", str(epoch), "--name", name], cwd=root, check=True)


def _summary(base: Path) -> dict:
    """Skill and the probes' headline numbers of one model's output tree."""
    train = json.loads((base / "metrics/train.json").read_text())
    paper = json.loads((base / "metrics/probes_paper.json").read_text())
    case1 = paper["case1"]["observed_climatology"]
    levels = [key for key in paper["case2"] if key.startswith("level_") and key != "level_0"]
    recovered = [paper["case2"][key]["mass_recovered"]["champion"] for key in levels]
    return {
        "test_nse": train["selected"]["test"]["nse"],
        "validation_nse": train["selected"]["validation"]["nse"],
        "case1_peak_m3s": case1["peak_flow_m3s"]["champion"],
        "case2_mass_recovered_per_level": recovered,
        "case2_mass_recovered_mean": float(np.mean(recovered)) if recovered else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--work", type=Path, default=Path("/tmp/nh_salmon"))
    parser.add_argument("--name", default="nh-cudalstm-paper")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/nh_salmon_peer.json"))
    parser.add_argument("--run-dir", type=Path, help="probe this finished run instead of training one")
    args = parser.parse_args()
    root = Path.cwd()
    began = time.perf_counter()
    if args.run_dir is None:
        write_dataset(args.work / "data", root)
        run_dir = train(args.work, args.epochs)
    else:
        run_dir = args.run_dir
    seconds = time.perf_counter() - began if args.run_dir is None else None
    epoch, curve = best_epoch(run_dir, BasinDataset.load(root / "outputs/salmon_river"), args.epochs)
    _probe(root, run_dir, epoch, args.name)

    result = {
        "date": time.strftime("%Y-%m-%d"), "machine": cpu_model(), "threads": torch.get_num_threads(),
        "torch": torch.__version__, "neuralhydrology": metadata.version("neuralhydrology"),
        "python": platform.python_version(), "epochs": args.epochs,
        "train_seconds": seconds and round(seconds, 1),
        "best_validation_epoch": epoch, "nse_per_epoch": curve,
        "neuralhydrology_cudalstm": _summary(root / "imported" / args.name),
        "hydroprobe_lstm": _summary(Layout(root, "salmon_river", "lstm").out_root),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "nse_per_epoch"}, indent=2))


if __name__ == "__main__":
    main()
