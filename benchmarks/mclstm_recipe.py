"""Which seq2seq recipe makes the MC-LSTM reference skilful within its time budget (issue 14).

Trains the MC-LSTM sequence-to-sequence (:mod:`hydroprobe.training.sequence`) on the
prepared Salmon dataset for each named setting and seed, one after another on
``--threads`` cores, and scores the restored best epoch exactly as the pipeline
does (one sliding ``train.window``-day window per day, its last day's discharge;
``replicates.simulate_physical`` + ``metrics.all_metrics``) on the validation and
test splits. Each finished run is merged into the JSON file at once, so an
interrupted comparison keeps what it measured and a rerun adds to it.

    python benchmarks/mclstm_recipe.py --settings w730_lr01 --seeds 0 1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from hydroprobe.data.dataset import BasinDataset
from hydroprobe.models import mclstm
from hydroprobe.training import metrics
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.fingerprint import cpu_model
from hydroprobe.training.replicates import simulate_physical
from hydroprobe.training.sequence import train_sequence_replicate

BASE = {"mode": "seq2seq", "batch_size": 64, "grad_clip": 1.0, "replicates": 1, "eval_batch_size": 1024}
#: name → train params over :data:`BASE` (hidden size in ``hidden``; 16 unless said).
SETTINGS: dict[str, dict] = {
    "w730_s365_lr01": {"window": 730, "loss_span": 365, "learning_rate": 0.01, "windows_per_epoch": 640,
                       "max_epochs": 30, "patience": 8},
    "w730_s365_lr02": {"window": 730, "loss_span": 365, "learning_rate": 0.02, "windows_per_epoch": 640,
                       "max_epochs": 30, "patience": 8},
    "w730_s365_lr02_e60": {"window": 730, "loss_span": 365, "learning_rate": 0.02, "windows_per_epoch": 640,
                           "max_epochs": 60, "patience": 10},
    "w730_s365_lr01_e60": {"window": 730, "loss_span": 365, "learning_rate": 0.01, "windows_per_epoch": 640,
                           "max_epochs": 60, "patience": 10},
    "w730_s365_lr05": {"window": 730, "loss_span": 365, "learning_rate": 0.05, "windows_per_epoch": 640,
                       "max_epochs": 30, "patience": 8},
    "w730_s365_lr005": {"window": 730, "loss_span": 365, "learning_rate": 0.005, "windows_per_epoch": 640,
                        "max_epochs": 30, "patience": 8},
    "w365_s180_lr02": {"window": 365, "loss_span": 180, "learning_rate": 0.02, "windows_per_epoch": 640,
                       "max_epochs": 60, "patience": 15},
    "w545_s365_lr01": {"window": 545, "loss_span": 365, "learning_rate": 0.01, "windows_per_epoch": 640,
                       "max_epochs": 30, "patience": 8},
    "w730_s365_lr01_b128": {"window": 730, "loss_span": 365, "learning_rate": 0.01, "batch_size": 128,
                            "windows_per_epoch": 1280, "max_epochs": 20, "patience": 6},
}
CPU = torch.device("cpu")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", nargs="+", default=["w730_s365_lr01"], choices=sorted(SETTINGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--init", choices=["snow", "default"], default="snow",
                        help="snow: the MC-LSTM's 0 °C prior (temperature_range in the architecture); "
                             "default: the plain initialisation the earlier runs used")
    parser.add_argument("--keep", type=float, default=mclstm.REDISTRIBUTION_KEEP,
                        help="share of its water each store keeps per day at the start "
                             "(models.mclstm.REDISTRIBUTION_KEEP; the earlier runs: 0.572 at hidden 16)")
    parser.add_argument("--max-epochs", type=int, default=0, help="override the max_epochs (0 = keep)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--dataset", type=Path, default=Path("outputs/salmon_river"),
                        help="a prepared basin folder (prepared.csv, normalized.csv, scaler.json, …)")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/mclstm_recipe.json"))
    return parser.parse_args(argv)


def scores(architecture: dict, state: dict, dataset: BasinDataset, window: int) -> dict[str, dict]:
    """Validation and test metrics (m³/s) of the restored weights, as ``replicates.evaluate`` does."""
    series = dataset.windowed(window)
    out = {}
    for split in ("validation", "test"):
        days = series.sample_index(*dataset.splits[split]).days
        simulated = simulate_physical(architecture, state, dataset, series, days, 1024, CPU)
        out[split] = metrics.all_metrics(dataset.observed(days), simulated)
    return out


def run_one(dataset: BasinDataset, name: str, seed: int, args: argparse.Namespace) -> dict:
    """Train one seed of one setting; its curve, best epoch, metrics and wall time."""
    options = {**BASE, **SETTINGS[name], "seed": seed}
    if args.max_epochs:
        options["max_epochs"] = args.max_epochs
    config = TrainConfig(**options)
    architecture = ModelConfig(type="mclstm", hidden_size=args.hidden).architecture(dataset)
    if args.init == "default":
        architecture.pop("temperature_range")
    series = dataset.windowed(config.window)
    train_days = series.sample_index(*dataset.splits["train"]).days
    validation_days = series.sample_index(*dataset.splits["validation"]).days
    began = time.perf_counter()

    def progress(epoch: int, train_loss: float, validation_loss: float) -> None:
        print(f"  {name} seed {seed} epoch {epoch}: train {train_loss:.5f} validation {validation_loss:.5f}"
              f" ({time.perf_counter() - began:.0f} s)", flush=True)

    result = train_sequence_replicate(architecture, series, train_days, validation_days, config, seed, CPU,
                                      progress)
    train_seconds = time.perf_counter() - began
    measured = scores(architecture, result.state_dict, dataset, config.window)
    total = time.perf_counter() - began
    print(f"{name} seed {seed}: best epoch {result.best_epoch}/{result.epochs_run}, validation NSE "
          f"{measured['validation']['nse']:.3f}, test NSE {measured['test']['nse']:.3f}, "
          f"{total / 60:.1f} min", flush=True)
    return {"setting": name, "seed": seed, "hidden_size": args.hidden, "init": args.init, "keep": args.keep,
            "train": {k: v for k, v in dataclasses.asdict(config).items() if k in {**BASE, **SETTINGS[name]}},
            "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
            "validation_loss": result.validation_loss, "train_loss": result.train_loss,
            "metrics": measured, "train_seconds": round(train_seconds, 1),
            "total_seconds": round(total, 1)}


def merge(path: Path, record: dict, args: argparse.Namespace) -> None:
    """Add (or replace) one run in the JSON file, with the machine it ran on."""
    document = json.loads(path.read_text()) if path.is_file() else {"runs": []}
    document.update({
        "updated": datetime.now(UTC).isoformat(timespec="seconds"), "cpu_model": cpu_model(),
        "threads": args.threads, "torch": torch.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "dataset": str(args.dataset), "base": BASE,
    })
    def key(run: dict) -> tuple:
        return (run["setting"], run["seed"], run["hidden_size"], run["train"].get("max_epochs"),
                run.get("init", "default"), run.get("keep"))

    document["runs"] = [r for r in document["runs"] if key(r) != key(record)]
    document["runs"].append({**record, "date": datetime.now(UTC).date().isoformat()})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n")


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    mclstm.REDISTRIBUTION_KEEP = args.keep
    dataset = BasinDataset.load(args.dataset)
    for name in args.settings:
        for seed in args.seeds:
            merge(args.output, run_one(dataset, name, seed, args), args)


if __name__ == "__main__":
    main()
