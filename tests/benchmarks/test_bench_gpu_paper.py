"""``benchmarks/bench_gpu_paper.py --smoke`` runs on CPU in seconds and writes a sane report.

The GPU figures of issue 15 come from this script on a device machine; this keeps it runnable
(the graph parts are skipped on CPU with a note) so a lent GPU's minutes are not spent on a typo.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import numpy as np

from hydroprobe.data.dataset import normalize, write_prepared
from tests.training.conftest import TEST, TRAIN, VALIDATION

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gpu_paper.py"


def load_script():
    spec = importlib.util.spec_from_file_location("bench_gpu_paper", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_mode_writes_every_section(salmon, tmp_path):
    cut = dataclasses.replace(salmon, frame=salmon.frame.loc["1960-12-01":"1962-06-30"])
    write_prepared(cut, {"train": TRAIN, "validation": VALIDATION, "test": TEST}, tmp_path / "basin")
    normalize(tmp_path / "basin")
    out = tmp_path / "out" / "smoke.json"
    report = load_script().main(["--smoke", "--paper", "--device", "cpu", "--data", str(tmp_path / "basin"),
                                 "--out", str(out), "--budget-s", "120"])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report, default=float))
    assert report["errors"] == []
    assert {"date_utc", "torch", "device_name", "commit"} <= report["environment"].keys()
    runs = report["throughput"]["runs"]
    timed = {(r["engine"], r["replicates"]) for r in runs}
    assert timed == {(e, r) for e in ("cudnn", "eager", "mclstm", "mclstm_stacked") for r in (1, 3)}
    assert all(r["seconds_per_epoch_all_replicates"] > 0 for r in runs)
    by_key = {(r["engine"], r["replicates"]): r for r in runs}
    for engine in ("cudnn", "mclstm"):  # sequential: timed once at R = 1, three replicates take 3x
        once, thrice = by_key[engine, 1], by_key[engine, 3]
        assert thrice["timed_at_replicates"] == 1
        assert thrice["seconds_per_epoch_all_replicates"] == 3 * once["seconds_per_epoch_all_replicates"]
    # the stacked MC-LSTM trains seed 0 as the sequential engine does (float rounding apart)
    stacked, alone = by_key["mclstm_stacked", 1]["final_train_loss"], by_key["mclstm", 1]["final_train_loss"]
    np.testing.assert_allclose(stacked, alone, rtol=1e-4)
    skipped = [line.rsplit(": CUDA graphs", 1)[0] for line in report["throughput"]["skipped"]]
    assert skipped == ["graph R=1", "triton R=1", "graph R=3", "triton R=3",
                       *(f"triton:{v} R=3" for v in ("16/ieee/2/1", "16/ieee/1/1", "16/tf32x3/2/1",
                                                      "32/ieee/4/1", "64/ieee/4/1"))]
    assert all(line.endswith("CUDA graphs and the Triton kernels need a CUDA device")
               for line in report["throughput"]["skipped"])
    assert report["parity"]["note"].startswith("CPU: no CUDA graph")
    assert report["parity"]["train_loss"]["max_abs"] < 1e-5
    assert report["parity"]["weights"]["max_abs"] < 1e-4
    stops = report["paper"]["stop_epochs"]
    assert [s["seed"] for s in stops] == [0, 1, 2]
    assert all(1 <= s["best_epoch"] <= s["stopped_after_epoch"] <= 3 for s in stops)


def test_triton_variants_name_the_kernel_settings_in_order():
    script = load_script()
    defaults = script.tuned("triton")
    assert defaults == {"BLOCK": 16, "PRECISION": "ieee", "WARPS": 4, "STAGES": 3}
    assert script.tuned("triton:64/tf32x3") == {**defaults, "BLOCK": 64, "PRECISION": "tf32x3"}
    assert script.tuned("triton:16/ieee/2/1") == {**defaults, "WARPS": 2, "STAGES": 1}
