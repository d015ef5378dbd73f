"""GPU throughput of both engines and a paper-size ensemble training, in one process under a time budget.

Runs on the real, already normalised Salmon River data (``outputs/<basin>``, read with
``BasinDataset.load``). Imports only modules that need torch, numpy, pandas and pyyaml
(no mlflow / optuna / dvc / netCDF), so it runs on a bare device machine:

    PYTHONPATH=src python3 -u benchmarks/bench_gpu.py --out "$OUT" --budget-s 420

Sections, each skipped when the budget (``--budget-s``, counted from the start of ``main``)
no longer allows it, or when ``--skip-throughput`` / ``--skip-paper`` leaves it out;
``gpu_bench.json`` is rewritten after every section, so a run killed from outside still leaves
what it finished:

1. environment: device, torch / CUDA / cuDNN versions, precision flags, date, git commit;
2. throughput at paper size (hidden 50, window 365, batch 256, Adam 1e-3, clip 1): each epoch is
   cut to ``--batches`` training batches (the first ``batches x batch_size`` training days,
   shuffled per replicate as usual) plus the same share of the validation days, and figures are
   scaled to the full training split by that ratio (as ``bench_ensemble.py`` does). Every timing
   trains ``1 + --timed-epochs`` epochs: the first is the warm-up (cuDNN / cuBLAS set-up, workspace
   allocation), the rest are timed from the engines' own end-of-epoch callbacks, so model set-up
   and the final weight copy are excluded. The sequential engine (``train_replicate``,
   ``torch.nn.LSTM``, cuDNN on a GPU) is timed for one replicate and multiplied by R: its
   replicates are independent and run one after another. The ensemble engine (``train_ensemble``)
   is timed for each R with all R replicates in one group;
3. the paper's protocol on the full training split: ``--paper-replicates`` replicates on the
   ensemble engine (one group), at most ``--paper-epochs`` epochs, stopped earlier when the next
   epoch would not fit the budget; then validation / test NSE (and the other metrics) of every
   replicate with the project's ``evaluate`` and the selection of ``TrainingOutcome``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from hydroprobe.data.dataset import BasinDataset
from hydroprobe.training import metrics
from hydroprobe.training.config import ModelConfig, TrainConfig, config_hash
from hydroprobe.training.device import configure_cpu, resolve_device
from hydroprobe.training.ensemble import train_ensemble
from hydroprobe.training.replicates import (
    ReplicateOutcome,
    TrainingOutcome,
    evaluate,
    split_samples,
)
from hydroprobe.training.trainer import train_replicate

SEQUENTIAL_VARIANTS = ("fp32", "strict_fp32", "bf16")
ENSEMBLE_VARIANTS = ("fp32", "tf32", "compiled")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for gpu_bench.json")
    parser.add_argument("--budget-s", type=float, default=420.0, help="wall-clock budget of main()")
    parser.add_argument("--data", type=Path, default=Path("outputs/salmon_river"), help="normalised basin")
    parser.add_argument("--device", default="auto", help="auto | cuda | cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads, 0 = torch default")
    # model / protocol
    parser.add_argument("--window", type=int, default=365)
    parser.add_argument("--hidden", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--forget-bias",
        default="3",
        help="initial LSTM forget-gate bias (params.yaml default 3); 'none' = PyTorch init (the paper)",
    )
    # throughput
    parser.add_argument("--replicates-list", default="1,16,100", help="R values timed on the ensemble")
    parser.add_argument("--batches", type=int, default=4, help="training batches per timed epoch")
    parser.add_argument("--timed-epochs", type=int, default=2, help="timed epochs after one warm-up epoch")
    parser.add_argument("--grad-clip", type=float, default=1.0, help="throughput runs' clipping")
    parser.add_argument(
        "--sequential-variants",
        default="fp32,strict_fp32,bf16",
        help=f"subset of {SEQUENTIAL_VARIANTS}: fp32 = torch defaults (cuDNN may use TF32), "
        "strict_fp32 = cuDNN TF32 off, bf16 = autocast bf16 (CUDA only)",
    )
    parser.add_argument(
        "--ensemble-variants",
        default="fp32,tf32",
        help=f"subset of {ENSEMBLE_VARIANTS}: fp32 = torch defaults (matmul TF32 off), "
        "tf32 = matmul TF32 on, compiled = compile_cell=True (torch.compile, slow to compile)",
    )
    parser.add_argument("--compile-replicates", default="16", help="R values for the compiled variant")
    parser.add_argument(
        "--throughput-budget-s", type=float, default=120.0, help="no new throughput run after this"
    )
    # paper training
    parser.add_argument("--paper-replicates", type=int, default=100)
    parser.add_argument("--paper-epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=30)
    parser.add_argument("--paper-grad-clip", type=float, default=0.0, help="0 = no clipping (the paper)")
    parser.add_argument("--paper-tf32", action="store_true", help="matmul TF32 on for the paper run")
    parser.add_argument("--eval-batch-size", type=int, default=2048)
    parser.add_argument(
        "--eval-reserve-s", type=float, default=45.0, help="kept for evaluation and writing after training"
    )
    parser.add_argument("--skip-throughput", action="store_true", help="run no throughput timing")
    parser.add_argument("--skip-paper", action="store_true")
    args = parser.parse_args(argv)
    for option, known in (
        ("sequential_variants", SEQUENTIAL_VARIANTS),
        ("ensemble_variants", ENSEMBLE_VARIANTS),
    ):
        unknown = set(getattr(args, option).split(",")) - set(known) - {""}
        if unknown:
            parser.error(f"--{option.replace('_', '-')}: unknown {sorted(unknown)}; known {known}")
    return args


class Clock:
    """Seconds since ``main`` started, against the budget."""

    def __init__(self, budget_s: float):
        self.began = time.perf_counter()
        self.budget_s = budget_s

    def elapsed(self) -> float:
        return time.perf_counter() - self.began

    def left(self) -> float:
        return self.budget_s - self.elapsed()


def say(message: str) -> None:
    print(message, flush=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def cuda_peak_mb(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def git_commit() -> dict:
    out: dict = {}
    for key, command in (
        ("commit", ["git", "rev-parse", "HEAD"]),
        ("dirty_files", ["git", "status", "--porcelain", "--untracked-files=no"]),
    ):
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=True)
            text = done.stdout.strip()
            out[key] = text if key == "commit" else len(text.splitlines())
        except (OSError, subprocess.SubprocessError) as error:
            out[key] = None
            out[f"{key}_error"] = str(error)[:200]
    return out


def environment(device: torch.device) -> dict:
    env = {
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "numpy": np.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "matmul_allow_tf32_default": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_allow_tf32_default": torch.backends.cudnn.allow_tf32,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        **git_commit(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(
            device_name=props.name,
            capability=f"{props.major}.{props.minor}",
            device_memory_gib=round(props.total_memory / 2**30, 1),
            multiprocessors=props.multi_processor_count,
        )
        try:
            smi = subprocess.run(
                [
                    "nvidia-smi",
                    "--query-gpu=name,driver_version,clocks.max.sm,power.limit",
                    "--format=csv,noheader",
                ],
                capture_output=True,
                text=True,
                timeout=20,
                check=True,
            )
            env["nvidia_smi"] = smi.stdout.strip()
        except (OSError, subprocess.SubprocessError) as error:
            env["nvidia_smi"] = f"unavailable: {str(error)[:200]}"
    else:
        env["device_name"] = platform.processor() or platform.machine()
    return env


class Precision:
    """Sets the TF32 flags for one run and restores the defaults afterwards."""

    def __init__(self, matmul_tf32: bool | None = None, cudnn_tf32: bool | None = None):
        self.matmul_tf32, self.cudnn_tf32 = matmul_tf32, cudnn_tf32

    def __enter__(self):
        self.saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        if self.matmul_tf32 is not None:
            torch.backends.cuda.matmul.allow_tf32 = self.matmul_tf32
        if self.cudnn_tf32 is not None:
            torch.backends.cudnn.allow_tf32 = self.cudnn_tf32
        return self

    def __exit__(self, *exc):
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = self.saved
        return False


class EpochTimer:
    """End-of-epoch timestamps from an engine's callback; epoch 1 is the warm-up."""

    def __init__(self) -> None:
        self.stamps: dict[int, float] = {}

    def mark(self, epoch: int) -> None:
        self.stamps.setdefault(epoch, time.perf_counter())  # first replicate's callback of the epoch

    def timed_epochs(self) -> list[float]:
        epochs = sorted(self.stamps)
        return [self.stamps[b] - self.stamps[a] for a, b in zip(epochs, epochs[1:], strict=False)]


def time_run(engine, variant, replicates, args, ctx, device) -> dict:
    """Train ``1 + timed_epochs`` cut epochs with one engine / variant; seconds per full epoch."""
    series, train, validation = ctx["series"], ctx["timed_train"], ctx["timed_validation"]
    epochs = 1 + args.timed_epochs
    config = TrainConfig(
        window=args.window,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_epochs=epochs,
        patience=epochs + 1,
        grad_clip=args.grad_clip,
        eval_batch_size=args.eval_batch_size,
    )
    timer = EpochTimer()
    free(device)
    began = time.perf_counter()
    if engine == "sequential":
        precision = Precision(cudnn_tf32=False) if variant == "strict_fp32" else Precision()
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if variant == "bf16" else nullcontext()
        with precision, autocast:
            result = train_replicate(
                ctx["architecture"],
                series,
                train,
                validation,
                config,
                0,
                device,
                lambda epoch, *_: timer.mark(epoch),
            )
        final_loss = [result.train_loss[-1]]
    else:
        precision = Precision(matmul_tf32=True) if variant == "tf32" else Precision()
        with precision:
            results = list(
                train_ensemble(
                    ctx["architecture"],
                    series,
                    train,
                    validation,
                    config,
                    list(range(replicates)),
                    device,
                    lambda seed, epoch, *_: timer.mark(epoch),
                    max_group=replicates,
                    compile_cell=variant == "compiled",
                )
            )
        final_loss = [r.train_loss[-1] for r in results]
    sync(device)
    wall = time.perf_counter() - began
    timed = timer.timed_epochs()
    per_cut_epoch = float(np.median(timed))
    extrapolation = ctx["full_train"] / len(train)
    per_full_epoch = per_cut_epoch * extrapolation  # the R replicates timed (1 for sequential)
    replicates_timed = 1 if engine == "sequential" else replicates
    return {
        "engine": engine,
        "variant": variant,
        "replicates_timed": replicates_timed,
        "timed_epoch_seconds": timed,
        "cut_epoch_seconds": per_cut_epoch,
        "extrapolation": extrapolation,
        "seconds_per_replicate_epoch": per_full_epoch / replicates_timed,
        "train_samples_per_s": replicates_timed * len(train) / per_cut_epoch,
        "wall_seconds_with_setup_and_warmup": wall,
        "warmup_epoch_seconds": (timer.stamps.get(1, began) - began),
        "cuda_peak_mb": cuda_peak_mb(device),
        "final_train_loss": final_loss,
    }


def throughput(args, ctx, device, clock, report, write) -> None:
    section = report["throughput"] = {
        "method": (
            f"epochs cut to {args.batches} training batches ({len(ctx['timed_train'])} of "
            f"{ctx['full_train']} training days) and {len(ctx['timed_validation'])} of "
            f"{ctx['full_validation']} validation days, scaled to the full split by "
            f"{ctx['full_train'] / len(ctx['timed_train']):.3f}; 1 warm-up + {args.timed_epochs} timed "
            "epochs each, median timed epoch; sequential = one replicate x R; ensemble = R replicates "
            "in one group (max_group = R)"
        ),
        "runs": [],
        "skipped": [],
        "errors": [],
    }
    deadline = min(args.throughput_budget_s, args.budget_s)
    replicate_list = [int(r) for r in args.replicates_list.split(",") if r]
    plan = []
    for variant in args.sequential_variants.split(","):
        if variant:
            plan.append(("sequential", variant, 1))
    compile_list = [int(r) for r in args.compile_replicates.split(",") if r]
    for variant in args.ensemble_variants.split(","):
        if variant in ("", "compiled"):
            continue
        plan.extend(("ensemble", variant, r) for r in replicate_list)
    if "compiled" in args.ensemble_variants.split(","):
        plan.extend(("ensemble", "compiled", r) for r in compile_list)  # last: compiling takes long
    for engine, variant, replicates in plan:
        label = f"{engine}/{variant}" + ("" if engine == "sequential" else f" R={replicates}")
        if variant in ("bf16", "tf32", "strict_fp32") and device.type != "cuda":
            section["skipped"].append(f"{label}: CUDA only")
            continue
        if clock.elapsed() > deadline:
            section["skipped"].append(f"{label}: throughput budget {deadline:.0f} s spent")
            continue
        say(f"[{clock.elapsed():6.1f} s] timing {label} ...")
        try:
            run = time_run(engine, variant, replicates, args, ctx, device)
        except Exception as error:  # a variant the device cannot run must not end the benchmark
            section["errors"].append(f"{label}: {type(error).__name__}: {str(error)[:300]}")
            say(f"    failed: {type(error).__name__}: {str(error)[:300]}")
            traceback.print_exc()
            free(device)
            continue
        section["runs"].append(run)
        peak = f", CUDA peak {run['cuda_peak_mb']:.0f} MB" if run["cuda_peak_mb"] is not None else ""
        say(
            f"    {run['seconds_per_replicate_epoch']:.3f} s per replicate-epoch (extrapolated), "
            f"{run['train_samples_per_s']:.0f} train samples/s, timed epochs "
            f"{', '.join(f'{s:.3f}' for s in run['timed_epoch_seconds'])} s{peak}"
        )
        write()
    section["ratios"] = ratios(section["runs"], replicate_list + compile_list)
    write()


def ratios(runs: list[dict], replicate_list: list[int]) -> dict:
    """Throughput of the ensemble over the sequential engine (= sequential s / ensemble s) per R."""
    sequential = {r["variant"]: r for r in runs if r["engine"] == "sequential"}
    out: dict = {}
    for run in runs:
        if run["engine"] != "ensemble" or run["replicates_timed"] not in replicate_list:
            continue
        key = f"R={run['replicates_timed']}"
        for seq_variant, seq in sequential.items():
            out.setdefault(key, {})[f"ensemble_{run['variant']}/sequential_{seq_variant}"] = (
                seq["seconds_per_replicate_epoch"] / run["seconds_per_replicate_epoch"]
            )
        out.setdefault(key, {})[f"ensemble_{run['variant']}_seconds_per_epoch_all_R"] = (
            run["seconds_per_replicate_epoch"] * run["replicates_timed"]
        )
    return out


class BudgetedConfig:
    """A :class:`TrainConfig` whose ``max_epochs`` can be lowered while ``train_ensemble`` runs.

    ``train_ensemble`` checks ``epoch == config.max_epochs`` after each epoch's callbacks, so
    setting ``max_epochs`` to the current epoch from the callback ends every replicate there,
    with its best epoch restored, exactly as if that had been the configured limit.
    """

    def __init__(self, config: TrainConfig):
        self._config = config
        self.max_epochs = config.max_epochs

    def __getattr__(self, name):
        return getattr(self._config, name)


def paper(args, ctx, device, clock, report, write) -> None:
    dataset, series = ctx["dataset"], ctx["series"]
    section = report["paper"] = {"status": "started"}
    forget_bias = ctx["architecture"]["initial_forget_bias"]
    model_config = ModelConfig(type="lstm", hidden_size=args.hidden, initial_forget_bias=forget_bias)
    config = TrainConfig(
        window=args.window,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_epochs=args.paper_epochs,
        patience=args.patience,
        replicates=args.paper_replicates,
        seed=0,
        grad_clip=args.paper_grad_clip,
        engine="ensemble",
        device=str(device),
        threads=args.threads,
        eval_batch_size=args.eval_batch_size,
    )
    samples = split_samples(dataset, series)
    architecture = model_config.architecture(dataset)
    section.update(
        train_config=dataclasses.asdict(config),
        model_config=dataclasses.asdict(model_config),
        matmul_tf32=args.paper_tf32,
        max_group=config.replicates,
        config_hash=config_hash(model_config, config, dataset.fingerprint),
        samples={k: v.report() for k, v in samples.items()},
    )
    training_deadline = args.budget_s - args.eval_reserve_s
    budgeted = BudgetedConfig(config)
    stamps: dict[int, float] = {}
    began = time.perf_counter()

    def on_epoch(seed, epoch, train_loss, validation_loss) -> None:
        if epoch in stamps:
            return
        now = time.perf_counter()
        stamps[epoch] = now
        last = now - stamps.get(epoch - 1, began)
        say(
            f"[{clock.elapsed():6.1f} s] paper epoch {epoch}: {last:.2f} s "
            f"(seed {seed}: train {train_loss:.5f}, validation {validation_loss:.5f})"
        )
        if epoch < budgeted.max_epochs and clock.elapsed() + 1.1 * last > training_deadline:
            budgeted.max_epochs = epoch
            section["stopped_by_budget_after_epoch"] = epoch
            say(f"    budget: stopping after epoch {epoch} (next epoch would pass {training_deadline:.0f} s)")

    free(device)
    say(
        f"[{clock.elapsed():6.1f} s] paper run: {config.replicates} replicates, up to "
        f"{config.max_epochs} epochs, grad_clip {config.grad_clip}, forget bias {forget_bias}, "
        f"training until {training_deadline:.0f} s"
    )
    with Precision(matmul_tf32=True) if args.paper_tf32 else Precision():
        results = list(
            train_ensemble(
                architecture,
                series,
                samples["train"].days,
                samples["validation"].days,
                budgeted,
                config.seeds(),
                device,
                on_epoch,
                max_group=config.replicates,
            )
        )
    sync(device)
    training_seconds = time.perf_counter() - began
    epoch_ends = [stamps[e] for e in sorted(stamps)]
    epoch_seconds = np.diff([began, *epoch_ends]).tolist()
    section.update(
        status="trained",
        epochs_run=len(epoch_seconds),
        epoch_seconds=epoch_seconds,
        median_epoch_seconds=float(np.median(epoch_seconds)) if epoch_seconds else None,
        training_seconds=training_seconds,
        cuda_peak_mb=cuda_peak_mb(device),
    )
    say(f"[{clock.elapsed():6.1f} s] trained {len(results)} replicates in {training_seconds:.1f} s")
    write()

    outcome = TrainingOutcome(section["config_hash"], architecture, [], section["samples"])
    eval_began = time.perf_counter()
    for result in sorted(results, key=lambda r: r.seed):
        if clock.left() < 5:
            section["evaluation_stopped_by_budget"] = True
            break
        scores = evaluate(architecture, result, dataset, series, samples, config.eval_batch_size, device)
        outcome.replicates.append(ReplicateOutcome(result, scores))
    section["evaluation_seconds"] = time.perf_counter() - eval_began
    section["replicates_evaluated"] = len(outcome.replicates)
    section["replicates"] = [
        {
            "seed": o.seed,
            "best_epoch": o.result.best_epoch,
            "epochs_run": o.result.epochs_run,
            "train_loss": o.result.train_loss,
            "validation_loss": o.result.validation_loss,
            "metrics": o.metrics,
        }
        for o in outcome.replicates
    ]
    if outcome.replicates:
        best = outcome.best
        section["distribution"] = outcome.distribution()
        section["selected"] = {
            "seed": best.seed,
            "best_epoch": best.result.best_epoch,
            "validation_nse": best.metrics["validation"]["nse"],
            "test_nse": best.metrics["test"]["nse"],
            "train_nse": best.metrics["train"]["nse"],
            "rule": "highest validation NSE, ties lowest seed (TrainingOutcome.best)",
        }
        section["metric_names"] = list(metrics.METRICS)
    section["status"] = "done"
    write()


def summary(report: dict) -> None:
    say("\n=== summary ===")
    env = report["environment"]
    say(f"{env.get('device_name')} | torch {env['torch']} | CUDA {env['torch_cuda']} | cuDNN {env['cudnn']}")
    section = report.get("throughput", {})
    for run in section.get("runs", []):
        label = f"{run['engine']}/{run['variant']}"
        if run["engine"] == "ensemble":
            label += f" R={run['replicates_timed']}"
        say(f"  {label:<28} {run['seconds_per_replicate_epoch']:8.3f} s per replicate-epoch")
    for key, values in section.get("ratios", {}).items():
        text = ", ".join(f"{k} {v:.2f}" for k, v in values.items() if "/" in k)
        say(f"  {key}: ensemble throughput / sequential: {text}")
    for line in section.get("skipped", []) + section.get("errors", []):
        say(f"  not timed: {line}")
    paper_section = report.get("paper", {})
    if "distribution" in paper_section:
        dist = paper_section["distribution"]
        sel = paper_section["selected"]
        say(
            f"  paper: {paper_section['replicates_evaluated']} replicates x {paper_section['epochs_run']} "
            f"epochs, median epoch {paper_section['median_epoch_seconds']:.2f} s"
        )
        for split in ("validation", "test"):
            d = dist[split]["nse"]
            say(f"  {split} NSE median {d['median']:.3f} (5-95 %: {d['p05']:.3f}-{d['p95']:.3f})")
        say(
            f"  selected seed {sel['seed']} (best epoch {sel['best_epoch']}): validation NSE "
            f"{sel['validation_nse']:.3f}, test NSE {sel['test_nse']:.3f}"
        )
    elif paper_section:
        say(f"  paper: {paper_section.get('status')} {paper_section.get('error', '')}")
    say(f"  elapsed {report['elapsed_s']:.1f} s of {report['budget_s']:.0f} s budget")


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    clock = Clock(args.budget_s)
    args.out.mkdir(parents=True, exist_ok=True)
    configure_cpu(args.threads)
    device = resolve_device(args.device)
    forget_bias = None if args.forget_bias.lower() == "none" else float(args.forget_bias)
    report: dict = {
        "schema": "hydroprobe bench_gpu 1",
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "budget_s": args.budget_s,
        "sections_s": {},
        "errors": [],
    }
    path = args.out / "gpu_bench.json"

    def write() -> None:
        report["elapsed_s"] = clock.elapsed()
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(report, indent=1, default=float) + "\n")
        os.replace(tmp, path)

    report["environment"] = environment(device)
    say(json.dumps(report["environment"]))
    write()

    dataset = BasinDataset.load(args.data)
    series = dataset.windowed(args.window)
    samples = split_samples(dataset, series)
    train_days, validation_days = samples["train"].days, samples["validation"].days
    timed = min(len(train_days), args.batches * args.batch_size)
    share = timed / len(train_days)
    ctx = {
        "dataset": dataset,
        "series": series,
        "architecture": {
            "type": "lstm",
            "n_inputs": 2,
            "hidden_size": args.hidden,
            "initial_forget_bias": forget_bias,
        },
        "timed_train": train_days[:timed],
        "timed_validation": validation_days[: max(1, round(len(validation_days) * share))],
        "full_train": len(train_days),
        "full_validation": len(validation_days),
    }
    report["data"] = {
        "folder": str(args.data),
        "basin": dataset.basin_id,
        "fingerprint": dataset.fingerprint,
        "splits": {k: [str(s.date()), str(e.date())] for k, (s, e) in dataset.splits.items()},
        "samples": {k: v.report() for k, v in samples.items()},
        "window": args.window,
    }
    say(f"[{clock.elapsed():6.1f} s] data {dataset.basin_id}: {report['data']['samples']}")
    write()

    for name, section in (("throughput", throughput), ("paper", paper)):
        if name == "throughput" and args.skip_throughput:
            report["throughput"] = {"status": "skipped (--skip-throughput)"}
            continue
        if name == "paper" and args.skip_paper:
            report["paper"] = {"status": "skipped (--skip-paper)"}
            continue
        if name == "paper" and clock.left() < args.eval_reserve_s + 10:
            report["paper"] = {"status": f"skipped: {clock.left():.0f} s left of the budget"}
            continue
        began = clock.elapsed()
        try:
            section(args, ctx, device, clock, report, write)
        except Exception as error:
            report["errors"].append(f"{name}: {type(error).__name__}: {str(error)[:500]}")
            report.setdefault(name, {})["status"] = "error"
            report[name]["error"] = f"{type(error).__name__}: {str(error)[:500]}"
            traceback.print_exc()
        report["sections_s"][name] = clock.elapsed() - began
        write()
    write()
    summary(report)
    say(f"wrote {path}")


if __name__ == "__main__":
    main()
