"""Issue 15 in one run: cuDNN sequential vs the eager ensemble vs the CUDA-graph step, parity, paper protocol.

Reads the already normalised Salmon River basin (``--data``, default ``outputs/salmon_river``:
carry it to a device machine) and imports no mlflow / dvc / netCDF, so it runs on a bare GPU box:

    PYTHONPATH=src python3 -u benchmarks/bench_gpu_paper.py --out "$OUT/gpu_paper.json" --paper

Sections (the JSON is rewritten after each, so a run killed from outside keeps what it finished;
a section that would pass ``--budget-s`` is skipped and says so):

1. environment: device name, date, torch / CUDA / cuDNN versions, git commit;
2. throughput, seconds per (full) epoch for R = ``--replicates-list`` replicates at paper size:
   (i) cuDNN ``nn.LSTM`` sequential (``train_replicate``): one replicate timed, × R, since
   replicates run one after another; (ii) the eager ensemble engine (``cuda_graph: off``);
   (iii) the graph step (``cuda_graph: on``; CUDA only, skipped with a note elsewhere);
   (iv) the MC-LSTM one replicate after another (``mclstm``; the sequential engine, per-step
   Python loop; hidden ``--mclstm-hidden``, learning rate 0.02), one replicate timed, x R, and
   (v) its replicates stacked in the ensemble engine (``mclstm_stacked``, eager). Epochs
   are cut to ``--batches`` training batches and the same share of validation days, then scaled
   to the full split; 1 warm-up epoch (which includes the graph capture) + ``--timed-epochs``;
3. parity: the same seeds for ``--parity-epochs`` cut epochs on the graph and the eager path
   (on CPU: the static step run eagerly), largest differences of losses and weights;
4. ``--paper``: the paper protocol for the LSTM on the full split (``--paper-replicates``,
   patience ``--patience``, up to ``--paper-epochs`` epochs; graph step on CUDA), each
   replicate's stop epoch and the wall time.

``--smoke``: tiny sizes (hidden 4, window 30, a few batches, 1–3 replicates) for a CPU check in
well under a minute; it is what the test runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_gpu as base  # noqa: E402  (environment, timers and budget helpers of the first GPU run)

from hydroprobe.data.dataset import BasinDataset  # noqa: E402
from hydroprobe.models import ensemble_triton, mclstm  # noqa: E402
from hydroprobe.training.config import TrainConfig  # noqa: E402
from hydroprobe.training.device import configure_cpu, resolve_device  # noqa: E402
from hydroprobe.training.ensemble import train_ensemble  # noqa: E402
from hydroprobe.training.replicates import split_samples  # noqa: E402
from hydroprobe.training.trainer import train_replicate  # noqa: E402

SEQUENTIAL = ("cudnn", "mclstm")  # engines that train replicates one after another
MCLSTM_LEARNING_RATE = 0.02  # references.mclstm.train.learning_rate
SMOKE = {"hidden": 4, "mclstm_hidden": 2, "window": 30, "batch_size": 32, "replicates_list": "1,3",
         "batches": 2, "timed_epochs": 1, "parity_replicates": 3, "parity_epochs": 2, "paper_replicates": 3,
         "paper_epochs": 3, "patience": 1, "eval_batch_size": 256}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--out", type=Path, required=True, help="JSON file to write (a folder gets gpu_paper.json)")
    add("--data", type=Path, default=Path("outputs/salmon_river"), help="normalised basin folder")
    add("--device", default="auto", help="auto | cuda | cpu")
    add("--budget-s", type=float, default=420.0, help="wall-clock budget; later sections are skipped")
    add("--smoke", action="store_true", help="tiny sizes, for a CPU check in < 60 s")
    add("--hidden", type=int, default=50)
    add("--window", type=int, default=365)
    add("--batch-size", type=int, default=256)
    add("--learning-rate", type=float, default=1e-3)
    add("--grad-clip", type=float, default=1.0)
    add("--eval-batch-size", type=int, default=2048)
    add("--replicates-list", default="1,16,100", help="R values timed")
    add("--batches", type=int, default=8, help="training batches per timed (cut) epoch")
    add("--timed-epochs", type=int, default=2, help="timed epochs after one warm-up epoch")
    add("--parity-replicates", type=int, default=16)
    add("--parity-epochs", type=int, default=3)
    add("--mclstm-hidden", type=int, default=8, help="MC-LSTM cell states (references.mclstm)")
    add("--engines", default="cudnn,eager,graph,triton,mclstm,mclstm_stacked",
        help="timed at every R: cudnn, eager, graph (torch recurrence), triton (graph + Triton), mclstm "
             "(one after another), mclstm_stacked (ensemble engine)")
    add("--triton-variants", default="16/ieee/2/1,16/ieee/1/1,16/tf32x3/2/1,32/ieee/4/1,64/ieee/4/1",
        help="BLOCK/PRECISION[/WARPS[/STAGES]] of the Triton kernels also timed at the largest R")
    add("--paper-engine", default="triton", help="engine of the paper protocol on CUDA (graph | triton)")
    add("--paper", action="store_true", help="also run the paper protocol end to end")
    add("--paper-replicates", type=int, default=100)
    add("--paper-epochs", type=int, default=500)
    add("--patience", type=int, default=30)
    args = parser.parse_args(argv)
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    return args


def config(args, epochs: int, patience: int, kind: str) -> TrainConfig:
    """The engine ``kind`` as train settings: graph for ``graph`` and every ``triton*``, and so on."""
    triton = kind.startswith("triton")
    learning_rate = MCLSTM_LEARNING_RATE if kind.startswith("mclstm") else args.learning_rate
    return TrainConfig(window=args.window, batch_size=args.batch_size, learning_rate=learning_rate,
                       max_epochs=epochs, patience=patience, grad_clip=args.grad_clip,
                       eval_batch_size=args.eval_batch_size, checkpoint_minutes=0,
                       cuda_graph="on" if kind == "graph" or triton else "off",
                       recurrence="triton" if triton else "torch")


TUNING = ("BLOCK", "PRECISION", "WARPS", "STAGES")  # ensemble_triton's knobs, in variant order


def tuned(kind: str) -> dict:
    """``triton:BLOCK/PRECISION[/WARPS[/STAGES]]`` → the kernels' settings (plain ``triton``: defaults)."""
    settings = {name: getattr(ensemble_triton, name) for name in TUNING}
    if ":" in kind:
        for name, value in zip(TUNING, kind.split(":")[1].split("/"), strict=False):
            settings[name] = value if name == "PRECISION" else int(value)
    return settings


def run_engine(kind: str, replicates: int, cfg, ctx, on_epoch) -> list:
    """Train ``replicates`` seeds: ``cudnn`` / ``mclstm`` (one replicate), ``static`` (the graph's step
    run eagerly), or the ensemble engine as ``cfg.cuda_graph`` says (any other kind)."""
    series, train, validation = ctx["series"], ctx["train"], ctx["validation"]
    architecture, device = ctx["architecture"], ctx["device"]
    if kind == "mclstm":
        return [train_replicate(ctx["mclstm_architecture"], series, train, validation, cfg, 0, device,
                                lambda epoch, *_: on_epoch(0, epoch))]
    if kind == "cudnn":
        return [train_replicate(architecture, series, train, validation, cfg, 0, device,
                                lambda epoch, *_: on_epoch(0, epoch))]
    if kind == "mclstm_stacked":
        return list(train_ensemble(ctx["mclstm_architecture"], series, train, validation, cfg,
                                   list(range(replicates)), device,
                                   lambda seed, epoch, *_: on_epoch(seed, epoch), max_group=replicates))
    defaults = tuned("triton")
    for name, value in tuned(kind).items():
        setattr(ensemble_triton, name, value)
    try:
        return list(train_ensemble(architecture, series, train, validation, cfg, list(range(replicates)),
                                   device, lambda seed, epoch, *_: on_epoch(seed, epoch),
                                   max_group=replicates, static_step=kind == "static"))
    finally:
        for name, value in defaults.items():
            setattr(ensemble_triton, name, value)


def time_engine(kind: str, replicates: int, args, ctx) -> dict:
    """Seconds per full epoch for all ``replicates`` (cuDNN, MC-LSTM: one replicate's time × R)."""
    epochs = 1 + args.timed_epochs
    sequential = kind in SEQUENTIAL
    timer = base.EpochTimer()
    base.free(ctx["device"])
    began = time.perf_counter()
    results = run_engine(kind, replicates, config(args, epochs, epochs + 1, kind), ctx,
                         lambda seed, epoch: timer.mark(epoch))
    base.sync(ctx["device"])
    cut_epoch = float(np.median(timer.timed_epochs()))
    full_epoch = cut_epoch * ctx["extrapolation"] * (replicates if sequential else 1)
    return {"engine": kind, "replicates": replicates, "timed_cut_epoch_seconds": timer.timed_epochs(),
            "seconds_per_epoch_all_replicates": full_epoch,
            "seconds_per_replicate_epoch": full_epoch / replicates,
            "warmup_epoch_seconds": timer.stamps.get(1, began) - began,
            "wall_seconds": time.perf_counter() - began, "cuda_peak_mb": base.cuda_peak_mb(ctx["device"]),
            "final_train_loss": [r.train_loss[-1] for r in results]}


def throughput(args, ctx, clock, report, write) -> None:
    section = report["throughput"] = {"runs": [], "skipped": [], "errors": [], "method": (
        f"cut epochs of {len(ctx['train'])} of {ctx['full_train']} training days, x{ctx['extrapolation']:.3f}"
        f" to the full split; 1 warm-up + {args.timed_epochs} timed epochs, median; cudnn = one "
        "nn.LSTM replicate x R (run one after another); eager = ensemble, cuda_graph off; "
        "graph = ensemble, cuda_graph on; mclstm = one MC-LSTM replicate x R (the train stage's "
        "sequential engine)")}
    cuda = ctx["device"].type == "cuda"
    sequential: dict[str, dict] = {}
    for replicates in [int(r) for r in args.replicates_list.split(",") if r]:
        largest = replicates == max(int(r) for r in args.replicates_list.split(",") if r)
        variants = [f"triton:{v}" for v in args.triton_variants.split(",") if v] if largest else []
        for kind in args.engines.split(",") + variants:
            label = f"{kind} R={replicates}"
            if (kind == "graph" or kind.startswith("triton")) and not cuda:
                section["skipped"].append(f"{label}: CUDA graphs and the Triton kernels need a CUDA device")
                continue
            if clock.left() < 30:
                section["skipped"].append(f"{label}: budget spent")
                continue
            if kind in sequential:  # one replicate's epoch does not depend on R: time it once
                run = scaled(sequential[kind], replicates)
                section["runs"].append(run)
                continue
            base.say(f"[{clock.elapsed():6.1f} s] timing {label} ...")
            try:
                run = time_engine(kind, replicates, args, ctx)
            except Exception as error:  # one engine failing must not end the benchmark
                section["errors"].append(f"{label}: {type(error).__name__}: {str(error)[:300]}")
                base.say(f"    failed: {type(error).__name__}: {error}")
                continue
            section["runs"].append(run)
            if kind in SEQUENTIAL:
                sequential[kind] = run
            base.say(f"    {run['seconds_per_epoch_all_replicates']:.3f} s per epoch for all {replicates}")
            write()
    section["speedups"] = speedups(section["runs"])


def scaled(run: dict, replicates: int) -> dict:
    """A sequential engine's timing at another R: the same replicate epoch, run R times."""
    per_replicate = run["seconds_per_replicate_epoch"]
    return dict(run, replicates=replicates, seconds_per_epoch_all_replicates=per_replicate * replicates,
                timed_at_replicates=run["replicates"])


def speedups(runs: list[dict]) -> dict:
    """Per R: cudnn seconds / engine seconds for all R replicates (> 1: faster than cuDNN sequential)."""
    out: dict = {}
    by_key = {(r["engine"], r["replicates"]): r["seconds_per_epoch_all_replicates"] for r in runs}
    for (engine, replicates), seconds in by_key.items():
        cudnn = by_key.get(("cudnn", replicates))
        if engine not in SEQUENTIAL and cudnn:
            out[f"R={replicates}/{engine}_vs_cudnn"] = cudnn / seconds
    return out


def parity(args, ctx, clock, report, write) -> None:
    """Graph and Triton (CPU: the static step run eagerly) vs the eager engine, same seeds.

    ``report["parity"]`` keeps the graph (or static) comparison where earlier runs had it;
    ``report["parity_triton"]`` adds the Triton kernels' (CUDA only).
    """
    cuda = ctx["device"].type == "cuda"
    epochs = args.parity_epochs
    runs = {name: run_engine(name, args.parity_replicates, config(args, epochs, epochs + 1, name), ctx,
                             lambda *_: None)
            for name in (("eager", "graph", "triton") if cuda else ("eager", "static"))}
    for kind, key in (("graph", "parity"), ("static", "parity"), ("triton", "parity_triton")):
        if kind in runs:
            report[key] = compared(kind, runs[kind], runs["eager"], args)
            base.say(f"[{clock.elapsed():6.1f} s] {key}: {json.dumps(report[key]['train_loss'])}")


def compared(kind: str, runs: list, eager: list, args) -> dict:
    """The largest loss and weight differences of ``kind``'s replicates from the eager engine's."""
    pairs = list(zip(runs, eager, strict=True))

    def largest(values) -> dict:
        values = [np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)) for a, b in values]
        return {"max_abs": float(max(v.max() for v in values))}

    return {
        "compared": f"{kind} vs eager, {args.parity_replicates} replicates, {args.parity_epochs} cut epochs",
        "note": "CPU: no CUDA graph; the static step ran eagerly" if kind == "static" else None,
        "train_loss": largest((a.train_loss, b.train_loss) for a, b in pairs),
        "validation_loss": largest((a.validation_loss, b.validation_loss) for a, b in pairs),
        "weights": largest((a.state_dict[k], b.state_dict[k]) for a, b in pairs for k in b.state_dict),
        "final_train_loss": {kind: [a.train_loss[-1] for a, _ in pairs],
                             "eager": [b.train_loss[-1] for _, b in pairs]},
    }


def paper(args, ctx, clock, report, write) -> None:
    """The paper protocol on the full split; the budget lowers ``max_epochs`` if it must."""
    kind = args.paper_engine if ctx["device"].type == "cuda" else "eager"
    cfg = config(args, args.paper_epochs, args.patience, kind)
    budgeted = base.BudgetedConfig(cfg)
    section = report["paper"] = {"replicates": args.paper_replicates, "max_epochs": args.paper_epochs,
                                 "patience": args.patience, "engine": kind, "cuda_graph": cfg.cuda_graph,
                                 "recurrence": cfg.recurrence, "status": "started"}
    stamps: dict[int, float] = {}
    began = time.perf_counter()

    def on_epoch(seed: int, epoch: int) -> None:
        if epoch in stamps:
            return
        stamps[epoch] = time.perf_counter()
        last = stamps[epoch] - stamps.get(epoch - 1, began)
        if epoch % 10 == 0 or epoch < 3:
            base.say(f"[{clock.elapsed():6.1f} s] paper epoch {epoch}: {last:.2f} s")
        if epoch < budgeted.max_epochs and clock.left() < 2 * last + 5:
            budgeted.max_epochs = epoch
            section["stopped_by_budget_after_epoch"] = epoch

    full = dict(ctx, train=ctx["full_train_days"], validation=ctx["full_validation_days"])
    results = run_engine(kind, args.paper_replicates, budgeted, full, on_epoch)
    base.sync(ctx["device"])
    section.update(
        status="done", wall_seconds=time.perf_counter() - began, epochs_run=len(stamps),
        epoch_seconds=np.diff([began, *(stamps[e] for e in sorted(stamps))]).tolist(),
        cuda_peak_mb=base.cuda_peak_mb(ctx["device"]),
        stop_epochs=[{"seed": r.seed, "stopped_after_epoch": r.epochs_run, "best_epoch": r.best_epoch,
                      "early_stopped": r.epochs_run - r.best_epoch >= args.patience,
                      "best_validation_mse": min(r.validation_loss), "seconds": r.seconds}
                     for r in sorted(results, key=lambda r: r.seed)])
    wall = section["wall_seconds"]
    base.say(f"[{clock.elapsed():6.1f} s] paper: {len(results)} replicates in {wall:.1f} s")


def context(args, device: torch.device) -> dict:
    dataset = BasinDataset.load(args.data)
    series = dataset.windowed(args.window)
    samples = split_samples(dataset, series)
    train, validation = samples["train"].days, samples["validation"].days
    timed = min(len(train), args.batches * args.batch_size)
    share = timed / len(train)
    return {"device": device, "series": series, "basin": dataset.basin_id,
            "architecture": {"type": "lstm", "n_inputs": 2, "hidden_size": args.hidden,
                             "initial_forget_bias": None},
            "mclstm_architecture": {"type": "mclstm", "n_inputs": 2, "hidden_size": args.mclstm_hidden,
                                    **mclstm.architecture_extras(dataset, {})},
            "train": train[:timed], "validation": validation[: max(1, round(len(validation) * share))],
            "full_train_days": train, "full_validation_days": validation,
            "full_train": len(train), "extrapolation": len(train) / timed}


def main(argv: list[str] | None = None) -> dict:
    args = parse(sys.argv[1:] if argv is None else argv)
    clock = base.Clock(args.budget_s)
    path = args.out / "gpu_paper.json" if args.out.is_dir() else args.out
    path.parent.mkdir(parents=True, exist_ok=True)
    configure_cpu(0)
    device = resolve_device(args.device)
    report: dict = {"schema": "hydroprobe bench_gpu_paper 1", "issue": 15, "smoke": args.smoke,
                    "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                    "environment": base.environment(device), "sections_s": {}, "errors": []}

    def write() -> None:
        report["elapsed_s"] = clock.elapsed()
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(report, indent=1, default=float) + "\n")
        os.replace(tmp, path)

    base.say(json.dumps(report["environment"]))
    ctx = context(args, device)
    report["data"] = {"basin": ctx["basin"], "train_samples": ctx["full_train"], "window": args.window}
    sections = [("throughput", throughput), ("parity", parity)] + ([("paper", paper)] if args.paper else [])
    for name, section in sections:
        if clock.left() < 20:
            report[name] = {"status": f"skipped: {clock.left():.0f} s left of the budget"}
            continue
        began = clock.elapsed()
        try:
            section(args, ctx, clock, report, write)
        except Exception as error:
            report["errors"].append(f"{name}: {type(error).__name__}: {str(error)[:500]}")
            base.say(f"{name} failed: {type(error).__name__}: {error}")
        report["sections_s"][name] = clock.elapsed() - began
        write()
    base.say(f"wrote {path}")
    return report


if __name__ == "__main__":
    main()
