"""Throughput of R replicates: sequential ``torch.nn.LSTM`` (``train_replicate``) vs the ensemble engine.

Both engines train the same real Salmon River windows with the same
config. To stay short on shared machines each epoch is cut to ``--batches``
training batches (the first ``batches × batch_size`` training days, still
shuffled per replicate) and a proportional share of the validation days;
per-epoch figures are extrapolated to the full training split by that
ratio. Each engine runs in its own child process, so the peak resident
memory reported is that engine's alone.

    .venv/bin/python benchmarks/bench_ensemble.py --replicates 16 --epochs 1 --batches 5
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import torch

from hydroprobe.config import load_params, shared_data_dir
from hydroprobe.data.basin import COLUMNS, DISCHARGE, INPUTS
from hydroprobe.data.loaders import load_basin
from hydroprobe.data.scaler import MinMaxScaler
from hydroprobe.data.splits import parse_splits
from hydroprobe.data.windows import WindowedSeries
from hydroprobe.training.config import TrainConfig
from hydroprobe.training.device import configure_cpu
from hydroprobe.training.ensemble import train_ensemble
from hydroprobe.training.trainer import train_replicate

ENGINES = ("sequential", "ensemble")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batches", type=int, default=5, help="training batches timed per epoch")
    parser.add_argument("--window", type=int, default=365)
    parser.add_argument("--hidden", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--grad-clip", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=0, help="0 = torch default")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--basin", default="salmon_river")
    parser.add_argument(
        "--engines", default=",".join(ENGINES), help="comma-separated subset of " + str(ENGINES)
    )
    parser.add_argument("--compile", action="store_true", help="ensemble: torch.compile'd cell (GPU lever)")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def load_series(args: argparse.Namespace):
    """Normalised windows of the basin, the timed train / validation days and the full-split sizes."""
    spec = load_params()["basins"][args.basin]
    frame = load_basin(args.basin, spec, shared_data_dir()).frame
    splits = parse_splits(spec["splits"], f"basins.{args.basin}.splits")
    scaler = MinMaxScaler.fit(frame.loc[splits["train"][0] : splits["train"][1]], COLUMNS)
    scaled = scaler.transform_frame(frame)
    series = WindowedSeries(
        scaled[list(INPUTS)].to_numpy(),
        scaled[DISCHARGE].to_numpy(),
        pd.DatetimeIndex(scaled.index),
        args.window,
    )
    train = series.sample_index(*splits["train"]).days
    validation = series.sample_index(*splits["validation"]).days
    timed = min(len(train), args.batches * args.batch_size)
    share = timed / len(train)
    return (
        series,
        train[:timed],
        validation[: max(1, round(len(validation) * share))],
        len(train),
        len(validation),
    )


def lstm_flops(samples: int, window: int, hidden: int, n_inputs: int = 2) -> float:
    """Forward FLOPs: input and recurrent products of 4 gates per step, plus the head."""
    return samples * (window * 2 * 4 * hidden * (n_inputs + hidden) + 2 * hidden)


def run_engine(args: argparse.Namespace) -> dict:
    """Child process: train with one engine and report time, work and peak memory."""
    configure_cpu(args.threads)
    device = torch.device(args.device)
    series, train, validation, full_train, full_validation = load_series(args)
    config = TrainConfig(
        window=args.window,
        batch_size=args.batch_size,
        max_epochs=args.epochs,
        patience=args.epochs + 1,
        grad_clip=args.grad_clip,
    )
    architecture = {"type": "lstm", "n_inputs": 2, "hidden_size": args.hidden}
    seeds = list(range(args.replicates))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    if args.child == "sequential":
        results = [train_replicate(architecture, series, train, validation, config, s, device) for s in seeds]
    else:
        results = list(
            train_ensemble(
                architecture, series, train, validation, config, seeds, device, compile_cell=args.compile
            )
        )
    seconds = time.perf_counter() - began
    epochs = sum(r.epochs_run for r in results)
    flops = epochs * (
        3 * lstm_flops(len(train), args.window, args.hidden)
        + lstm_flops(len(validation), args.window, args.hidden)
    )
    return {
        "engine": args.child,
        "seconds": seconds,
        "replicate_epochs": epochs,
        "train_samples": epochs * len(train),
        "extrapolation": full_train / len(train),
        "timed": f"{len(train)}/{full_train} train, {len(validation)}/{full_validation} validation days",
        "flops": flops,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_training_mb": rss_before,
        "cuda_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None,
        "final_train_loss": [r.train_loss[-1] for r in results],
    }


def peak_matmul_flops(device: torch.device, size: int = 2048, repeats: int = 5) -> float:
    """Achievable float32 FLOP/s: a large square matrix product on this device and thread count."""
    a = torch.rand(size, size, device=device)
    b = torch.rand(size, size, device=device)
    a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    began = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    return repeats * 2 * size**3 / (time.perf_counter() - began)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    if args.child:
        print(json.dumps(run_engine(args)))
        return
    configure_cpu(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}")
    print(
        f"R={args.replicates} window={args.window} hidden={args.hidden} batch={args.batch_size} "
        f"epochs={args.epochs} batches/epoch timed={args.batches} grad_clip={args.grad_clip}"
    )
    peak = peak_matmul_flops(torch.device(args.device))
    print(f"reference peak: float32 2048² matmul {peak / 1e9:.1f} GFLOP/s")
    reports = {}
    for engine in args.engines.split(","):
        child = subprocess.run(
            [sys.executable, __file__, *argv, "--child", engine], check=True, capture_output=True, text=True
        )
        reports[engine] = report = json.loads(child.stdout.strip().splitlines()[-1])
        rate = report["train_samples"] / report["seconds"]
        per_epoch = report["seconds"] * report["extrapolation"] / report["replicate_epochs"]
        achieved = report["flops"] / report["seconds"]
        cuda = f", CUDA peak {report['cuda_peak_mb']:.0f} MB" if report["cuda_peak_mb"] is not None else ""
        print(
            f"{engine:>10}: {report['seconds']:.1f} s measured ({report['timed']}); "
            f"{rate:.0f} train samples/s; {per_epoch:.1f} s per epoch per replicate (extrapolated); "
            f"{achieved / 1e9:.1f} GFLOP/s = {100 * achieved / peak:.1f}% of peak; "
            f"peak RSS {report['peak_rss_mb']:.0f} MB "
            f"({report['rss_before_training_mb']:.0f} before training){cuda}"
        )
    if set(ENGINES) <= set(reports):
        ratio = reports["sequential"]["seconds"] / reports["ensemble"]["seconds"]
        print(f"ensemble / sequential throughput: {ratio:.2f}x")
        gap = np.max(
            np.abs(
                np.subtract(
                    reports["ensemble"]["final_train_loss"], reports["sequential"]["final_train_loss"]
                )
            )
        )
        print(f"max |final train loss difference| between engines: {gap:.2e}")


if __name__ == "__main__":
    main()
