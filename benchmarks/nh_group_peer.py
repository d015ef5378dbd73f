"""neuralhydrology's CudaLSTM on the group's 35 snow basins: wall time to a median validation NSE of 0.75.

Issue 29, item 5, the peer benchmark: does hydroprobe's regional LSTM reach a median validation NSE
of 0.75 over the ``camels_snow`` basins in less wall time than the field's own library on the same
2 CPU cores? This trains one neuralhydrology 1.13 CudaLSTM on the very data hydroprobe's group study
reads: the 35 Caravan CAMELS snow basins, loaded by hydroprobe's loaders (``group_plan``,
``load_regional``), so the days, units (precipitation mm/d, temperature °C, discharge mm/d) and the
six CAMELS attributes are identical, written as a neuralhydrology GenericDataset. Same water-year
splits (train 1981-10..1999-09, validation 1999-10..2004-09, test 2004-10..2014-09), hidden size 64,
inputs P, T and the attributes, nh's NSE* loss, Adam 1e-3, batch 256, gradient clipping 1, forget-gate
bias 3, no dropout, CPU with ``--threads`` threads. Two variants:

* ``seq2one``: as the field trains it, 365-day windows, loss on the last day (``predict_last_n: 1``);
* ``last_n``: 730-day windows with the loss on their last 365 days (``predict_last_n: 365``), the
  windows hydroprobe's group training uses. nh still samples a window ending on every training day
  and still validates and tests on the last day of a window ending on every day.

nh validates after every epoch on all basins. Its training runs in a subprocess, observed (not
changed) by hooks that time each epoch's training and validation and take the median validation NSE
over basins; the subprocess is stopped when ``--minutes`` of training wall time (from the first
epoch, nh's data loading excluded and reported apart) are spent, keeping what it wrote. The epoch of
highest median validation NSE is then evaluated on the test split by nh's own tester (median test NSE
over basins, cross-checked with hydroprobe's NSE). With ``--hydroprobe-run DIR`` (a run directory
holding ``outputs/camels_snow/group_train.json`` of a hydroprobe group run), hydroprobe's regional
LSTM's per-epoch curve is put beside it, with both times to 0.75 and their ratio.

Run from the repository root (it needs the group's Caravan folder: ``hydroprobe data fetch``) on an
otherwise idle machine, one line per variant; each writes
``benchmarks/results/nh_group_peer_<variant>_<date>.json``:

    python benchmarks/nh_group_peer.py --variant seq2one --minutes 20 --hydroprobe-run .
    python benchmarks/nh_group_peer.py --variant last_n --minutes 20 --hydroprobe-run .

An nh epoch is one window ending on every training day of every basin: about 890 updates, measured
on 2 basins of an AMD EPYC at 2 threads as 0.18 s an update at 365 days and 0.38 s at 730, so about
2.7 and 5.3 minutes an epoch over the 35 basins, plus a validation of about 15–20 s. To validate more
often, ``--max-updates-per-epoch N`` sets nh's ``max_updates_per_epoch`` (random windows, a fresh
shuffle each epoch). The test evaluation of the selected epoch runs after the budget (under a minute or two).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from hydroprobe.data.regional import RegionalData, load_regional
from hydroprobe.group.settings import group_plan
from hydroprobe.training import metrics
from hydroprobe.training.fingerprint import cpu_model

TARGET = 0.75  # median validation NSE over the basins
VARIANTS = {"seq2one": {"seq_length": 365, "predict_last_n": 1},
            "last_n": {"seq_length": 730, "predict_last_n": 365}}
INPUTS = ["precipitation", "temperature"]
TARGET_VARIABLE = "discharge"
POLL_S = 1.0

# Runs nh's own training (``start_run``) in the subprocess. The hooks only time and read: each epoch's
# start and end, every 20th update, each validation's start, end and per-basin NSE, one JSON line per
# event; an epoch that would start with the budget spent stops the run (the parent also stops it then).
_CHILD = r'''
import json, sys, time
from pathlib import Path

config, events, threads, budget = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
UPDATES_LOGGED = 20
import numpy as np
import torch

torch.set_num_threads(threads)
from neuralhydrology.evaluation.tester import BaseTester
from neuralhydrology.nh_run import start_run
from neuralhydrology.training.basetrainer import BaseTrainer
from torch.optim.optimizer import register_optimizer_step_post_hook


def log(**row):
    with events.open("a") as f:
        f.write(json.dumps({"time": time.time(), **row}) + "\n")


class BudgetSpent(Exception):
    pass


began, state = {}, {"epoch": 0, "updates": 0}
train_and_validate, train_epoch = BaseTrainer.train_and_validate, BaseTrainer._train_epoch
evaluate = BaseTester.evaluate


def timed_train_and_validate(self):
    began["train"] = time.time()
    log(event="train_start", run_dir=str(self.cfg.run_dir), samples=len(self.loader.dataset),
        batches=len(self.loader), threads=torch.get_num_threads())
    return train_and_validate(self)


def timed_train_epoch(self, epoch):
    if time.time() - began["train"] >= budget:
        raise BudgetSpent
    state.update(epoch=epoch, updates=0)
    log(event="epoch_start", epoch=epoch)
    train_epoch(self, epoch=epoch)
    log(event="epoch_end", epoch=epoch, updates=state["updates"])


def count_update(optimizer, args, kwargs):
    state["updates"] += 1
    if state["updates"] % UPDATES_LOGGED == 0:
        log(event="updates", epoch=state["epoch"], updates=state["updates"])


def timed_evaluate(self, epoch=None, **kwargs):
    if self.period != "validation":
        return evaluate(self, epoch=epoch, **kwargs)
    log(event="validation_start", epoch=epoch)
    results = evaluate(self, epoch=epoch, **kwargs)
    nse = {basin: float(next(iter(freqs.values())).get("NSE", float("nan")))
           for basin, freqs in results.items()}
    log(event="validation_end", epoch=epoch, nse=nse)
    return results


BaseTrainer.train_and_validate, BaseTrainer._train_epoch = timed_train_and_validate, timed_train_epoch
BaseTester.evaluate = timed_evaluate
register_optimizer_step_post_hook(count_update)
log(event="child_start")
try:
    start_run(config_file=config)
except BudgetSpent:
    log(event="budget_spent")
'''


def _nh_date(day: pd.Timestamp) -> str:
    return pd.Timestamp(day).strftime("%d/%m/%Y")


def load_group(root: Path, raw_dir: Path | None, n_basins: int | None) -> tuple[str, RegionalData]:
    """The group's basins through hydroprobe's own loaders (the first ``n_basins`` if given)."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    if raw_dir is not None:
        params["data"] = {**params.get("data", {}), "raw_dir": str(raw_dir.resolve())}
    plan = group_plan(params, root)
    specs = dict(list(plan.specs.items())[:n_basins]) if n_basins else plan.specs
    raw = root / str(params["data"].get("raw_dir", "data"))
    return plan.group_id, load_regional(plan.group_id, specs, raw, plan.static_names)


def write_dataset(folder: Path, data: RegionalData) -> None:
    """``time_series/<basin>.nc`` (P, T, discharge in mm/d); the raw attributes in ``attributes/``."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "time_series").mkdir(parents=True)
    (folder / "attributes").mkdir()
    for basin in data.basin_ids:
        frame = data.depth_frame(basin)[[*INPUTS, TARGET_VARIABLE]].astype("float64")
        frame.index.name = "date"
        frame.to_xarray().to_netcdf(folder / "time_series" / f"{basin}.nc", engine="h5netcdf")
    attributes = pd.DataFrame.from_dict(data.static_raw, orient="index")[list(data.static.names)]
    attributes.index.name = "basin_id"  # nh reads the first column as the basin id (a string)
    attributes.to_csv(folder / "attributes" / "attributes.csv")


def nh_config(work: Path, data: RegionalData, variant: str, args: argparse.Namespace) -> dict:
    """The CudaLSTM run: everything issue 29 holds equal with hydroprobe's regional LSTM."""
    (work / "basins.txt").write_text("\n".join(data.basin_ids) + "\n")
    config = {
        "experiment_name": f"nh_group_peer_{variant}", "run_dir": str(work / "runs"),
        "data_dir": str(work / "data"), "dataset": "generic", "device": "cpu", "seed": args.seed,
        "num_workers": 0, "verbose": 0, "log_interval": 0, "log_tensorboard": False, "log_n_figures": 0,
        "save_weights_every": 1, "validate_every": 1, "validate_n_random_basins": len(data.basin_ids),
        "save_validation_results": False, "metrics": ["NSE"],
        **{f"{period}_basin_file": str(work / "basins.txt") for period in ("train", "validation", "test")},
        **{f"{split}_{edge}_date": _nh_date(data.splits[split][i])
           for split in ("train", "validation", "test") for i, edge in enumerate(("start", "end"))},
        "model": "cudalstm", "head": "regression", "output_activation": "linear", "hidden_size": 64,
        "initial_forget_bias": 3, "output_dropout": 0.0, "optimizer": "Adam", "loss": "NSE",
        "learning_rate": 1e-3, "batch_size": 256, "epochs": args.max_epochs, "clip_gradient_norm": 1.0,
        **VARIANTS[variant],
        "dynamic_inputs": INPUTS, "static_attributes": list(data.static.names),
        "target_variables": [TARGET_VARIABLE],
    }
    if args.max_updates_per_epoch:
        config["max_updates_per_epoch"] = args.max_updates_per_epoch
    return config


def _events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip().endswith("}")]


def run_nh(work: Path, config: dict, threads: int, minutes: float) -> tuple[list[dict], str]:
    """Train in a subprocess until nh finishes or ``minutes`` of training are spent; its events."""
    config_file, events, log_file = work / "config.yml", work / "events.jsonl", work / "nh_child.log"
    config_file.write_text(yaml.safe_dump(config))
    events.unlink(missing_ok=True)
    budget = minutes * 60.0
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    stopped = "finished"
    with log_file.open("w") as log:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(config_file), str(events), str(threads),
                                  str(budget)], stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            while child.poll() is None:
                time.sleep(POLL_S)
                start = next((r["time"] for r in _events(events) if r["event"] == "train_start"), None)
                if start is not None and time.time() - start >= budget:
                    stopped = "budget"
                    child.terminate()
                    try:
                        child.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        child.kill()
                        child.wait()
        except BaseException:
            child.kill()
            child.wait()
            raise
    rows = _events(events)
    if any(r["event"] == "budget_spent" for r in rows):
        stopped = "budget"
    if stopped == "finished" and child.returncode != 0:
        tail = "\n".join(log_file.read_text().splitlines()[-30:])
        raise RuntimeError(f"neuralhydrology exited with {child.returncode}:\n{tail}")
    return rows, stopped


def _train_losses(run_dir: Path) -> dict[int, float]:
    """nh's logged mean training loss (NSE*) per epoch, from its ``output.log``."""
    log = run_dir / "output.log"
    if not log.exists():
        return {}
    found = re.findall(r"Epoch (\d+) average loss: .*?avg_total_loss: ([^\s,]+)", log.read_text())
    return {int(epoch): float(value) for epoch, value in found}


def curve(rows: list[dict], run_dir: Path) -> list[dict]:
    """Per validated epoch: seconds since training began, its training and validation seconds, median NSE."""
    start = next(r["time"] for r in rows if r["event"] == "train_start")
    at = {(r["event"], r.get("epoch")): r for r in rows}
    losses = _train_losses(run_dir)
    out, train_total = [], 0.0
    for row in (r for r in rows if r["event"] == "validation_end"):
        epoch = row["epoch"]
        train_s = at[("epoch_end", epoch)]["time"] - at[("epoch_start", epoch)]["time"]
        train_total += train_s
        nse = list(row["nse"].values())
        out.append({
            "epoch": epoch,
            "elapsed_s": round(row["time"] - start, 2),
            "train_s": round(train_s, 2),
            "validation_s": round(row["time"] - at[("validation_start", epoch)]["time"], 2),
            "train_elapsed_s": round(train_total, 2),
            "median_validation_nse": _num(np.nanmedian(nse)),
            "validation_basins": int(np.sum(np.isfinite(nse))),
            "train_loss": _num(losses.get(epoch, math.nan)),
        })
    return out


def updates(rows: list[dict]) -> dict:
    """Updates done (a stopped epoch's logged ones included) and the median seconds per update."""
    per_update, last = [], None
    for row in rows:
        if row["event"] == "epoch_start":
            last = (row["time"], 0)
        elif row["event"] in ("updates", "epoch_end") and last is not None:
            if row["updates"] > last[1]:
                per_update.append((row["time"] - last[0]) / (row["updates"] - last[1]))
            last = None if row["event"] == "epoch_end" else (row["time"], row["updates"])
    ended = {r["epoch"]: r["updates"] for r in rows if r["event"] == "epoch_end"}
    stopped = [r["updates"] for r in rows if r["event"] == "updates" and r["epoch"] not in ended]
    return {"updates_done": sum(ended.values()) + max(stopped, default=0),
            "seconds_per_update": _num(np.median(per_update), 3) if per_update else None}


def _num(value: float, digits: int = 5) -> float | None:
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 1) if values else None


def _reached(points: list[dict], target: float) -> dict | None:
    return next((p for p in points if (p["median_validation_nse"] or -math.inf) >= target), None)


def test_scores(run_dir: Path, epoch: int, basins: list[str]) -> dict:
    """nh's tester on the test split with the weights of ``epoch``, basin by basin (keeps memory low)."""
    from neuralhydrology.evaluation import get_tester
    from neuralhydrology.utils.config import Config

    began = time.perf_counter()
    tester = get_tester(cfg=Config(run_dir / "config.yml"), run_dir=run_dir, period="test", init_model=True)
    nse, differences = {}, []
    for basin in basins:
        tester.basins = [basin]
        results = tester.evaluate(epoch=epoch, save_results=False, metrics=["NSE"])
        (result,) = results[basin].values()
        nse[basin] = float(result["NSE"])
        last_day = result["xr"].isel(time_step=-1)
        observed, simulated = (last_day[f"{TARGET_VARIABLE}_{k}"].values for k in ("obs", "sim"))
        ours = metrics.nse(observed, simulated)
        differences.append(abs(ours - nse[basin]))
    values = np.array(list(nse.values()))
    return {
        "epoch": epoch,
        "median_nse": _num(np.nanmedian(values)),
        "quartiles": [_num(np.nanpercentile(values, 25)), _num(np.nanpercentile(values, 75))],
        "nse": {basin: _num(v) for basin, v in nse.items()},
        "max_abs_difference_hydroprobe_nse": float(np.nanmax(differences)),
        "seconds": round(time.perf_counter() - began, 1),
    }


def hydroprobe_summary(path: Path, group_id: str, basins: list[str], target: float) -> dict:
    """hydroprobe's regional LSTM of a group run: its per-epoch curve (``validation_loss`` = 1 − median
    validation NSE; a replicate's ``seconds`` spread evenly over its epochs) and its test medians."""
    record_file = path if path.is_file() else path / "outputs" / group_id / "group_train.json"
    record = json.loads(record_file.read_text())
    model = record["models"]["regional_lstm"]
    replicates = []
    for rep in model["replicates"]:
        per_epoch = rep["seconds"] / max(len(rep["validation_loss"]), 1)
        points = [
            {"epoch": i + 1, "elapsed_s": round(per_epoch * (i + 1), 2),
             "median_validation_nse": _num(1.0 - loss)}
            for i, loss in enumerate(rep["validation_loss"])
        ]
        reached = _reached(points, target)
        test = [scores["test"]["nse"] for scores in rep["metrics"].values()]
        replicates.append({
            "seed": rep["seed"], "best_epoch": rep["best_epoch"], "epochs_run": rep["epochs_run"],
            "seconds": round(rep["seconds"], 1), "reused_from_cache": rep.get("reused", False),
            "median_validation_nse": _num(rep["median_validation_nse"]),
            "median_test_nse": _num(np.nanmedian(test)),
            "time_to_target_s": reached and reached["elapsed_s"],
            "epoch_to_target": reached and reached["epoch"],
            "curve": points,
        })
    ensemble = [scores["test"]["nse"] for scores in model["ensemble"]["metrics"].values()]
    return {
        "record": str(record_file),
        "basins": len(record["basins"]),
        "same_basins": sorted(record["basins"]) == sorted(basins),
        "profile": record["profile"]["models"].get("regional_lstm"),
        "environment": model.get("environment"),
        "model_seconds": round(model["seconds"], 1),
        "replicates": replicates,
        "ensemble_median_test_nse": _num(np.nanmedian(ensemble)),
        "note": "seconds: each replicate's share of the stacked training wall time (epoch time / replicates "
                "active), validation included; model_seconds adds the final evaluation",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", choices=list(VARIANTS), default="seq2one")
    parser.add_argument("--minutes", type=float, default=20.0, help="training wall budget")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hydroprobe-run", type=Path, help="a hydroprobe group run folder to compare")
    parser.add_argument("--max-updates-per-epoch", type=int, default=None,
                        help="nh's max_updates_per_epoch (default: a full pass over every training window)")
    parser.add_argument("--raw-dir", type=Path, help="raw data folder (default: params data.raw_dir)")
    parser.add_argument("--work", type=Path, help="nh's data and runs (default /tmp/nh_group_peer_<variant>)")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results/…<variant>_<date>.json")
    parser.add_argument("--basins", type=int, default=None, help=argparse.SUPPRESS)  # smoke tests: first N
    parser.add_argument("--max-epochs", type=int, default=1000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    root, date = Path.cwd(), time.strftime("%Y-%m-%d")
    work = args.work or Path(f"/tmp/nh_group_peer_{args.variant}")
    out = args.out or root / "benchmarks" / "results" / f"nh_group_peer_{args.variant}_{date}.json"
    torch.set_num_threads(args.threads)
    work.mkdir(parents=True, exist_ok=True)

    group_id, data = load_group(root, args.raw_dir, args.basins)
    write_dataset(work / "data", data)
    config = nh_config(work, data, args.variant, args)
    rows, stopped = run_nh(work, config, args.threads, args.minutes)
    began = {r["event"]: r for r in rows if r["event"] in ("child_start", "train_start")}
    if "train_start" not in began:
        raise RuntimeError(f"neuralhydrology never started training; see {work / 'nh_child.log'}")
    run_dir = Path(began["train_start"]["run_dir"])
    points = curve(rows, run_dir)
    reached = _reached(points, TARGET)
    best = max(points, default=None, key=lambda p: p["median_validation_nse"]
               if p["median_validation_nse"] is not None else -math.inf)
    if best is None:
        print(f"no epoch trained and validated within {args.minutes} minutes: nothing to test")

    result = {
        "benchmark": "neuralhydrology CudaLSTM on the group's basins (issue 29, item 5)",
        "date": date, "machine": cpu_model(), "threads": began["train_start"]["threads"],
        "torch": torch.__version__, "neuralhydrology": metadata.version("neuralhydrology"),
        "python": platform.python_version(),
        "group": group_id, "basins": len(data.basin_ids), "basin_ids": data.basin_ids,
        "splits": {s: [str(d.date()) for d in days] for s, days in data.splits.items()},
        "variant": args.variant, "budget_minutes": args.minutes, "stopped": stopped,
        "settings": {k: config[k] for k in (
            "model", "hidden_size", "seq_length", "predict_last_n", "loss", "optimizer", "learning_rate",
            "batch_size", "clip_gradient_norm", "initial_forget_bias", "output_dropout", "dynamic_inputs",
            "static_attributes", "target_variables", "seed", "validate_every", "validate_n_random_basins",
            "num_workers", "device")} | {"max_updates_per_epoch": args.max_updates_per_epoch},
        "train_samples": began["train_start"]["samples"],
        "batches_per_epoch": began["train_start"]["batches"],
        "setup_seconds": round(began["train_start"]["time"] - began["child_start"]["time"], 1),
        "target_median_validation_nse": TARGET,
        "time_to_target_s": reached and reached["elapsed_s"],
        "time_to_target_train_only_s": reached and reached["train_elapsed_s"],
        "epoch_to_target": reached and reached["epoch"],
        "best_validation": best and {k: best[k] for k in ("epoch", "elapsed_s", "median_validation_nse")},
        "epochs_validated": len(points),
        **updates(rows),
        "mean_epoch_train_s": _mean([p["train_s"] for p in points]),
        "mean_epoch_validation_s": _mean([p["validation_s"] for p in points]),
        "curve": points,
        "test": best and test_scores(run_dir, best["epoch"], data.basin_ids),
        "nh_run_dir": str(run_dir),
    }
    if args.hydroprobe_run is not None:
        peer = hydroprobe_summary(args.hydroprobe_run, group_id, data.basin_ids, TARGET)
        result["hydroprobe_regional_lstm"] = peer
        ours = peer["replicates"][0]["time_to_target_s"]
        theirs = result["time_to_target_s"]
        result["time_to_target_ratio_nh_over_hydroprobe"] = theirs and ours and round(theirs / ours, 2)
        if ours and not theirs:  # nh did not reach the target within the budget: the ratio is at least this
            result["time_to_target_ratio_at_least"] = round(args.minutes * 60.0 / ours, 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    shown = {k: v for k, v in result.items() if k not in ("curve", "basin_ids", "hydroprobe_regional_lstm")}
    shown["test"] = result["test"] and {k: v for k, v in result["test"].items() if k != "nse"}
    print(json.dumps(shown, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
