"""Tiles or one pass: how far the two evaluations of a group model differ on the real basins (issue 29).

A model trained sequence-to-sequence on 730-day windows can be run over a basin's 34-year record in
tiles of its training windows (each scored span warmed up on the year before it, states reset per
tile) or in one pass (states never reset: they reach back decades, further than any training
window). The group study runs the regional LSTM in tiles and the regional MC-LSTM in one pass
(its stores must not be emptied, or its water balance cannot close over years). This script runs
each registered group champion both ways on every basin and writes the per-basin test NSE of each
and their difference, so the choice rests on a number.

Run from the repository root after ``hydroprobe group train`` (it reads the registry):

    python benchmarks/group_evaluation_modes.py --out benchmarks/results/group_evaluation_modes.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from hydroprobe.config import load_params
from hydroprobe.data.basin import DISCHARGE, PRECIPITATION, TEMPERATURE
from hydroprobe.data.regional import load_regional
from hydroprobe.group import pipeline
from hydroprobe.group.settings import group_plan
from hydroprobe.models.replicate_ensemble import ReplicateEnsemble
from hydroprobe.tracking.group_probe import load_group_champion
from hydroprobe.training import metrics
from hydroprobe.training.fingerprint import cpu_model


def _with_mode(simulator, one_pass: bool):
    """The same simulator (or ensemble of them) evaluated in tiles or in one pass."""
    if isinstance(simulator, ReplicateEnsemble):
        return dataclasses.replace(simulator, members=[_with_mode(m, one_pass) for m in simulator.members])
    return dataclasses.replace(simulator, one_pass=one_pass)


def compare(root: Path) -> dict:
    params = load_params(root)
    plan = group_plan(params, root)
    data = load_regional(plan.group_id, plan.specs, root / params["data"]["raw_dir"], plan.static_names)
    start, end = data.splits["test"]
    out = {}
    for key in plan.by_scope("group"):
        name, version, spec, champion, replicates = load_group_champion(root, plan.registry_id, key)
        rows, began = {}, time.perf_counter()
        for basin_id in data.basin_ids:
            model, _, _ = pipeline.probed_model(name, spec, champion, replicates, data, basin_id)
            frame = data.series[basin_id].frame
            days = (frame.index >= start) & (frame.index <= end)
            observed = frame[DISCHARGE].to_numpy()[days]
            runs = {mode: _with_mode(model, mode == "one_pass").simulate(
                frame[PRECIPITATION].to_numpy(), frame[TEMPERATURE].to_numpy())[days]
                for mode in ("tiles", "one_pass")}
            rows[basin_id] = {
                **{f"test_nse_{mode}": metrics.nse(observed, run) for mode, run in runs.items()},
                "max_abs_difference_m3s": float(np.nanmax(np.abs(runs["tiles"] - runs["one_pass"]))),
                "mean_observed_m3s": float(np.nanmean(observed)),
            }
        differences = [r["test_nse_one_pass"] - r["test_nse_tiles"] for r in rows.values()]
        out[key] = {
            "model": f"{name} v{version}",
            "used_in_the_study": "one_pass" if spec.get("one_pass") else "tiles",
            "median_test_nse_tiles": float(np.median([r["test_nse_tiles"] for r in rows.values()])),
            "median_test_nse_one_pass": float(np.median([r["test_nse_one_pass"] for r in rows.values()])),
            "median_nse_difference_one_pass_minus_tiles": float(np.median(differences)),
            "largest_nse_difference": float(max(differences, key=abs)),
            "seconds": time.perf_counter() - began, "basins": rows,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args()
    torch.set_num_threads(2)
    result = {"device": cpu_model(), "threads": torch.get_num_threads(), "torch": torch.__version__,
              "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
              "models": compare(Path.cwd())}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for key, row in result["models"].items():
        print(f"{key}: median test NSE tiles {row['median_test_nse_tiles']:.3f}, one pass "
              f"{row['median_test_nse_one_pass']:.3f} (median difference "
              f"{row['median_nse_difference_one_pass_minus_tiles']:+.3f}, largest "
              f"{row['largest_nse_difference']:+.3f}); the study uses {row['used_in_the_study']}")


if __name__ == "__main__":
    main()
