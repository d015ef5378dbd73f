"""How many LSTM replicates does the ensemble mean need on Salmon? (issue 14's 0.83 target)

Trains ``--replicates`` replicates of the quick profile's LSTM (the pipeline's recipe: hidden 50,
365-day windows, standardized inside the network, batch 256, Adam 1e-3, clip 1, forget bias 3,
at most 30 epochs with patience 10) stacked in the ensemble engine, as ``dvc repro`` trains them,
and scores the mean discharge (m³/s) of every subset of k members, k = 1 … replicates: the
median and 5–95 % range over subsets answer "what does an ensemble of k replicates give", a
distribution rather than one seed set's digits. It also reports where the remaining error lies:
how the full ensemble's test discharge spreads against the observed (standard-deviation ratio,
highest day) and, per split, each complete water year's volume against the observed one (a
model that pulls wet and dry years towards the mean has a bias anti-correlated with the year's
volume, which no number of members averages away).

    python benchmarks/lstm_ensemble_size.py --replicates 8
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from lstm_standardization import CPU, SPLITS, discharge, series_for

from hydroprobe.data.dataset import BasinDataset
from hydroprobe.probes.compare.annual_volumes import water_year_volumes
from hydroprobe.training import metrics
from hydroprobe.training.config import TrainConfig
from hydroprobe.training.device import configure_cpu
from hydroprobe.training.ensemble import train_ensemble
from hydroprobe.training.fingerprint import cpu_model


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicates", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-epochs", type=int, default=30,
                        help="the quick profile's 30; fewer for a smoke run")
    parser.add_argument("--dataset", type=Path, default=Path("outputs/salmon_river"))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/lstm_ensemble_size.json"))
    return parser.parse_args(argv)


def subset_scores(observed: np.ndarray, flows: np.ndarray, k: int) -> dict:
    """NSE of the mean of every k-member subset of ``flows`` (members × days)."""
    scores = [metrics.nse(observed, flows[list(members)].mean(axis=0))
              for members in itertools.combinations(range(len(flows)), k)]
    return {"median": float(np.median(scores)), "p05": float(np.percentile(scores, 5)),
            "p95": float(np.percentile(scores, 95)), "subsets": len(scores)}


def spread(observed: np.ndarray, simulated: np.ndarray) -> dict:
    """Mean, standard deviation and highest day, observed against simulated (observed days only)."""
    seen = ~np.isnan(observed)
    o, s = observed[seen], simulated[seen]
    return {"mean_observed": float(o.mean()), "mean_simulated": float(s.mean()),
            "std_ratio": float(s.std() / o.std()), "max_observed": float(o.max()),
            "max_simulated": float(s.max())}


def run(args: argparse.Namespace) -> dict:
    dataset = BasinDataset.load(args.dataset)
    series, architecture, stats = series_for(dataset, "in_network")
    days = {split: series.sample_index(*dataset.splits[split]).days for split in SPLITS}
    seeds = list(range(args.replicates))
    config = TrainConfig(window=365, batch_size=256, learning_rate=1e-3, max_epochs=args.max_epochs,
                         patience=10, replicates=len(seeds), grad_clip=1.0, checkpoint_minutes=0)
    began = time.perf_counter()
    results = sorted(train_ensemble(architecture, series, days["train"], days["validation"], config,
                                    seeds, CPU), key=lambda r: r.seed)
    seconds = time.perf_counter() - began
    observed = {split: dataset.observed(days[split]) for split in SPLITS}
    flows = {split: np.array([discharge(r, architecture, series, days[split], stats, dataset)
                              for r in results]) for split in SPLITS}
    members = [{"seed": r.seed, "best_epoch": r.best_epoch,
                **{split: metrics.nse(observed[split], flows[split][i]) for split in SPLITS}}
               for i, r in enumerate(results)]
    by_size = {k: {split: subset_scores(observed[split], flows[split], k) for split in ("validation", "test")}
               for k in range(1, len(seeds) + 1)}
    for k, row in by_size.items():
        test = row["test"]
        print(f"{k} member(s): test NSE median {test['median']:.3f} "
              f"(5-95 % {test['p05']:.3f}-{test['p95']:.3f}, {test['subsets']} subsets)", flush=True)
    dates = dataset.normalized.index
    volumes = {split: water_year_volumes(dates[days[split]], observed[split], flows[split].mean(axis=0))
               for split in SPLITS}
    return {"replicates": len(seeds), "train_seconds": round(seconds, 1), "members": members,
            "ensemble_nse_by_members": by_size,
            "test_spread_all_members": spread(observed["test"], flows["test"].mean(axis=0)),
            "water_year_volumes_all_members": volumes}


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    configure_cpu(0)
    torch.set_num_threads(args.threads)
    record = run(args)
    record.update({"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpu_model": cpu_model(),
                   "threads": args.threads, "torch": torch.__version__, "numpy": np.__version__,
                   "python": platform.python_version()})
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
