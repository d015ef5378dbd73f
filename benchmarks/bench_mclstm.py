"""Seconds per training epoch of MC-LSTM vs the paper's LSTM at the same size, same run.

Both train through :func:`train_replicate` (the reference protocol) on the
same real Salmon River windows. An "epoch" is cut to ``--batches`` batches
(the first ``batches × batch_size`` training days, shuffled) and one
validation day, so the figure is the cost of the training batches. The two
models alternate ``--rounds`` times to share any noise of a busy machine;
the median epoch is reported, and extrapolated to the full training split.

    .venv/bin/python benchmarks/bench_mclstm.py --hidden 8 --window 60 --batches 10
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from hydroprobe.config import load_params, shared_data_dir
from hydroprobe.data.basin import COLUMNS
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.data.loaders import load_basin
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.data.splits import parse_splits
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.trainer import train_replicate

MODELS = ("lstm", "mclstm")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--batches", type=int, default=10, help="training batches per timed epoch")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the two models")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads; 0 = torch default")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--basin", default="salmon_river")
    return parser.parse_args(argv)


def salmon_dataset(basin: str) -> BasinDataset:
    params = load_params()
    spec = params["basins"][basin]
    series = load_basin(basin, spec, shared_data_dir())
    splits = parse_splits(spec["splits"], f"basins.{basin}.splits")
    scaler = MinMaxScaler.fit(series.frame.loc[slice(*splits["train"])], COLUMNS)
    return BasinDataset(series, splits, scaler, scaler.transform_frame(series.frame), "bench")


def epoch_seconds(architecture: dict, dataset: BasinDataset, args: argparse.Namespace) -> list[float]:
    """Wall time of each epoch (training batches + one validation day)."""
    series = dataset.windowed(args.window)
    train_days = series.sample_index(*dataset.splits["train"]).days
    days = train_days[: args.batches * args.batch_size]
    config = TrainConfig(window=args.window, batch_size=args.batch_size, max_epochs=args.epochs)
    stamps = [time.perf_counter()]
    train_replicate(
        architecture,
        series,
        days,
        days[:1],
        config,
        0,
        torch.device(args.device),
        lambda *_: stamps.append(time.perf_counter()),
    )
    return list(np.diff(stamps))


def main(argv: list[str] | None = None) -> dict:
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dataset = salmon_dataset(args.basin)
    full_batches = len(dataset.windowed(args.window).sample_index(*dataset.splits["train"]).days)
    full_batches = -(-full_batches // args.batch_size)
    times: dict[str, list[float]] = {name: [] for name in MODELS}
    for _ in range(args.rounds):
        for name in MODELS:
            architecture = ModelConfig(type=name, hidden_size=args.hidden).architecture(dataset)
            times[name] += epoch_seconds(architecture, dataset, args)
    report = {
        "settings": vars(args) | {"torch": torch.__version__, "threads_used": torch.get_num_threads()},
        "full_epoch_batches": full_batches,
    }
    for name, seconds in times.items():
        median = float(np.median(seconds))
        report[name] = {
            "epoch_s_median": round(median, 4),
            "epoch_s_all": [round(s, 4) for s in seconds],
            "full_epoch_s_estimate": round(median * full_batches / args.batches, 2),
        }
    report["mclstm_over_lstm"] = round(
        report["mclstm"]["epoch_s_median"] / report["lstm"]["epoch_s_median"], 2
    )
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
