"""Throughput of the same replicate training in-process vs on a local Ray cluster (one run, one machine).

Trains ``--replicates`` replicates of a small LSTM on the real Salmon River
(train 1984–1986, validation 1987), one replicate per unit (the grouping
``execution.replicates_per_task: 1`` gives both modes), first unit after unit
in this process (:class:`LocalRunner`), then as Ray tasks with ``--cpus``
CPUs per task on ``ray.init(num_cpus=--cluster-cpus)``. Reports replicates per
second for each, their ratio, Ray's start-up separately, and whether every
replicate's weights are bitwise equal between the two modes. Writes JSON.

    python benchmarks/bench_ray.py --replicates 4 --epochs 3 --out benchmarks/results/ray_local_<date>.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch
import yaml

from hydroprobe.data.basin import BasinSeries
from hydroprobe.data.dataset import BasinDataset, normalize, write_prepared
from hydroprobe.data.loaders import load_basin
from hydroprobe.data.splits import parse_splits
from hydroprobe.execution.engine import LocalRunner, RayRunner, Resources
from hydroprobe.execution.replicates import _Unit, train_unit
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.fingerprint import cpu_model
from hydroprobe.training.replicates import split_samples

ROOT = Path(__file__).resolve().parents[1]
SPLITS = {"train": ["1984-01-01", "1986-12-31"], "validation": ["1987-01-01", "1987-12-31"],
          "test": ["1988-01-01", "1988-12-31"]}


def dataset(data: Path) -> BasinDataset:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    series = load_basin("salmon_river", params["basins"]["salmon_river"], data)
    cut = BasinSeries(series.meta, series.frame.loc["1983-06-01":"1988-12-31"].copy(), series.source)
    out = Path(tempfile.mkdtemp()) / "salmon_river"
    write_prepared(cut, parse_splits(SPLITS, "bench splits"), out)
    normalize(out)
    return BasinDataset.load(out)


def timed_map(runner, units, shared) -> tuple[float, dict]:
    done = {}
    start = time.perf_counter()
    failures = runner.map(train_unit, units, shared, lambda d: done.update({d.index: d.value}))
    seconds = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"units failed: {failures}")
    return seconds, {r.seed: r for i in sorted(done) for r in done[i]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--window", type=int, default=30)
    parser.add_argument("--cpus", type=float, default=1.0, help="CPUs per Ray task (= torch threads)")
    parser.add_argument("--cluster-cpus", type=int, default=2)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    torch.set_num_threads(int(args.cpus))
    data = dataset(args.data)
    model = ModelConfig(hidden_size=args.hidden, initial_forget_bias=3)
    train = TrainConfig(window=args.window, max_epochs=args.epochs, learning_rate=0.005,
                        replicates=args.replicates, threads=int(args.cpus), device="cpu")
    series = data.windowed(train.window)
    shared = {"architecture": model.architecture(data), "series": series,
              "samples": split_samples(data, series), "config": train, "group_size": 1}
    units = [_Unit([seed]) for seed in train.seeds()]

    local_s, local = timed_map(LocalRunner(int(args.cpus)), units, shared)
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=args.cluster_cpus, include_dashboard=False, logging_level="WARNING")
    startup_s = time.perf_counter() - start
    ray_s, remote = timed_map(RayRunner(resources=Resources(args.cpus, 0, int(args.cpus))), units, shared)
    ray.shutdown()
    equal = all(torch.equal(local[s].state_dict[k], remote[s].state_dict[k])
                for s in local for k in local[s].state_dict)
    result = {
        "date": dt.date.today().isoformat(), "cpu_model": cpu_model(), "cores": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(), "torch": torch.__version__, "ray": ray.__version__,
        "args": {k: str(v) for k, v in vars(args).items()},
        "in_process_s": round(local_s, 3), "ray_s": round(ray_s, 3), "ray_startup_s": round(startup_s, 3),
        "in_process_replicates_per_s": round(args.replicates / local_s, 4),
        "ray_replicates_per_s": round(args.replicates / ray_s, 4),
        "ray_over_in_process_throughput": round(local_s / ray_s, 3),
        "bitwise_equal_weights": equal,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
