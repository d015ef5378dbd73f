"""Seconds per seq2seq epoch of R MC-LSTM replicates: stacked (ensemble engine) vs one after another.

Both engines train the same seeds with the same recipe on the prepared Salmon dataset
(``--dataset``, as the normalize stage leaves it): :func:`train_ensemble` with the replicates
stacked in one :class:`EnsembleMCLSTM`, and :func:`train_sequence_replicate` per seed, one epoch
of ``--windows`` random windows plus the tiled validation. They alternate ``--rounds`` times so a
busy machine's noise falls on both; the median is reported and the ratio is taken within the run.
One untimed round of each engine first: the first epoch of a process pays one-off set-up costs
(allocator, thread pool; 2.6 s against 1.2 s afterwards, measured).

    python benchmarks/bench_mclstm_ensemble.py --dataset outputs/salmon_river --replicates 1 2 4
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from hydroprobe.data.dataset import BasinDataset
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.device import configure_cpu
from hydroprobe.training.ensemble import train_ensemble
from hydroprobe.training.fingerprint import cpu_model
from hydroprobe.training.sequence import train_sequence_replicate

CPU = torch.device("cpu")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=Path("outputs/salmon_river"))
    parser.add_argument("--replicates", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--window", type=int, default=730)
    parser.add_argument("--loss-span", type=int, default=365)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--windows", type=int, default=128, help="training windows per timed epoch")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default: print only)")
    return parser.parse_args(argv)


def timed(function) -> float:
    began = time.perf_counter()
    function()
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    configure_cpu(args.threads)
    dataset = BasinDataset.load(args.dataset)
    config = TrainConfig(window=args.window, mode="seq2seq", loss_span=args.loss_span,
                         windows_per_epoch=args.windows, batch_size=args.batch_size, learning_rate=0.02,
                         max_epochs=1, checkpoint_minutes=0)
    architecture = ModelConfig(type="mclstm", hidden_size=args.hidden).architecture(dataset)
    series = dataset.windowed(config.window)
    days = [series.sample_index(*dataset.splits[s]).days for s in ("train", "validation")]
    rows = []
    list(train_ensemble(architecture, series, *days, config, [0], CPU))  # warm-up, untimed
    train_sequence_replicate(architecture, series, *days, config, 0, CPU)
    for replicates in args.replicates:
        seeds = list(range(replicates))

        def stack(seeds=seeds):
            return list(train_ensemble(architecture, series, *days, config, seeds, CPU))

        def one_by_one(seeds=seeds):
            return [train_sequence_replicate(architecture, series, *days, config, s, CPU) for s in seeds]

        stacked, sequential = [], []
        for _ in range(args.rounds):
            stacked.append(timed(stack))
            sequential.append(timed(one_by_one))
        row = {"replicates": replicates, "stacked_s": statistics.median(stacked),
               "sequential_s": statistics.median(sequential)}
        row["speedup"] = row["sequential_s"] / row["stacked_s"]
        rows.append(row)
        print(f"R={replicates}: stacked {row['stacked_s']:.2f} s, one after another "
              f"{row['sequential_s']:.2f} s per epoch of {args.windows} windows -> {row['speedup']:.2f}x",
              flush=True)
    if args.output:
        settings = {**vars(args), "output": str(args.output), "dataset": str(args.dataset)}
        document = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpu_model": cpu_model(),
                    "threads": args.threads, "torch": torch.__version__, "numpy": np.__version__,
                    "python": platform.python_version(), "settings": settings, "rows": rows}
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(document, indent=1) + "\n")

if __name__ == "__main__":
    main()
