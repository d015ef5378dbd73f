"""Does z-scoring inside the LSTM make the quick profile's replicates skilful? (issue 14)

Trains the paper's LSTM (hidden 50, 365-day windows, batch 256, Adam, clip 1, forget bias 3)
sequence-to-one on the prepared Salmon dataset with the ensemble engine (the replicates
stacked, as ``dvc repro`` trains them), for a fixed number of epochs (no early stopping), and
scores each replicate's best-validation epoch and the replicates' mean discharge on every
split (m³/s, as the pipeline does). Variants:

* ``minmax`` — the paper's signals: inputs and target in [0, 1] (§2.2);
* ``z_data`` — the plain LSTM on data z-scored beforehand (what neuralhydrology trains on);
* ``in_network`` — ``model.standardize: true``: min-max data, z-scored inside the network
  (:mod:`hydroprobe.models.standardization`), the optimiser seeing the z-scored loss's gradient.

``z_data`` and ``in_network`` are the same optimisation up to float rounding (tested:
``tests/training/test_standardization.py``); Adam turns rounding into different replicates
within tens of updates, so compare their distributions, not seeds. Each run is appended to
the JSON file at once.

    python benchmarks/lstm_standardization.py --variant in_network --epochs 20 --seeds 0 1 2 3
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from hydroprobe.data.basin import DISCHARGE, INPUTS
from hydroprobe.data.dataset import BasinDataset
from hydroprobe.data.windows import WindowedSeries
from hydroprobe.models.standardization import training_statistics
from hydroprobe.training import metrics
from hydroprobe.training.config import ModelConfig, TrainConfig
from hydroprobe.training.device import configure_cpu
from hydroprobe.training.ensemble import train_ensemble
from hydroprobe.training.fingerprint import cpu_model
from hydroprobe.training.trainer import init_model, predict_normalized

VARIANTS = ("minmax", "z_data", "in_network")
SPLITS = ("train", "validation", "test")
CPU = torch.device("cpu")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", choices=VARIANTS, default="in_network")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dataset", type=Path, default=Path("outputs/salmon_river"))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/lstm_standardization.json"))
    return parser.parse_args(argv)


def series_for(dataset: BasinDataset, variant: str) -> tuple[WindowedSeries, dict, dict | None]:
    """The windows the variant trains on, its architecture, and the z-scoring of ``z_data``."""
    config = ModelConfig(type="lstm", hidden_size=50, initial_forget_bias=3,
                         standardize=variant == "in_network")
    architecture = config.architecture(dataset)
    inputs = dataset.normalized[list(INPUTS)].to_numpy(dtype=np.float64)
    target = dataset.normalized[DISCHARGE].to_numpy(dtype=np.float64)
    stats = training_statistics(dataset) if variant == "z_data" else None
    if stats:
        inputs = (inputs - stats["input_mean"]) / stats["input_std"]
        target = (target - stats["target_mean"]) / stats["target_std"]
    return WindowedSeries(inputs, target, dataset.normalized.index, 365), architecture, stats


def discharge(result, architecture, series, days, stats, dataset) -> np.ndarray:
    """The restored best epoch's discharge (m³/s) for windows ending on ``days``."""
    model = init_model(architecture, 0)
    model.load_state_dict(result.state_dict)
    normalised = predict_normalized(model, series, days, 2048, CPU).astype(np.float64)
    if stats:
        normalised = normalised * stats["target_std"] + stats["target_mean"]
    return dataset.scaler.inverse(normalised, DISCHARGE)


def run(args: argparse.Namespace) -> dict:
    dataset = BasinDataset.load(args.dataset)
    series, architecture, stats = series_for(dataset, args.variant)
    days = {split: series.sample_index(*dataset.splits[split]).days for split in SPLITS}
    config = TrainConfig(window=365, batch_size=256, learning_rate=1e-3, max_epochs=args.epochs,
                         patience=args.epochs, replicates=len(args.seeds), grad_clip=1.0,
                         checkpoint_minutes=0)
    began = time.perf_counter()
    results = sorted(train_ensemble(architecture, series, days["train"], days["validation"], config,
                                    args.seeds, CPU), key=lambda r: r.seed)
    seconds = time.perf_counter() - began
    flows, members = {split: [] for split in SPLITS}, []
    for result in results:
        member = {"seed": result.seed, "best_epoch": result.best_epoch}
        for split in SPLITS:
            flows[split].append(discharge(result, architecture, series, days[split], stats, dataset))
            member[split] = metrics.all_metrics(dataset.observed(days[split]), flows[split][-1])["nse"]
        members.append(member)
        print(f"{args.variant} seed {result.seed}: best epoch {result.best_epoch}, "
              + ", ".join(f"{s} {member[s]:.3f}" for s in SPLITS), flush=True)
    mean = {s: metrics.all_metrics(dataset.observed(days[s]), np.mean(flows[s], axis=0))["nse"]
            for s in SPLITS}
    scores = ", ".join(f"{s} {mean[s]:.3f}" for s in SPLITS)
    print(f"{args.variant} ensemble mean: {scores} ({seconds:.0f} s training)", flush=True)
    return {"variant": args.variant, "epochs": args.epochs, "seeds": args.seeds, "members": members,
            "ensemble_mean_nse": mean, "train_seconds": round(seconds, 1)}


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    configure_cpu(0)
    torch.set_num_threads(args.threads)
    record = run(args)
    document = json.loads(args.output.read_text()) if args.output.is_file() else {"runs": []}
    document["runs"].append({**record, "date": datetime.now(UTC).isoformat(timespec="seconds"),
                             "cpu_model": cpu_model(), "threads": args.threads, "torch": torch.__version__,
                             "numpy": np.__version__, "python": platform.python_version()})
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    main()
