#!/usr/bin/env bash
# Issue 15: the one prepared command for a lent GPU machine. Run from the repository root with
# the normalised basin carried along (ignored path `outputs/salmon_river`), e.g. with the device tool:
#   run(command="bash benchmarks/run_gpu_checks.sh", carry=["outputs/salmon_river"], timeout_s=540)
# Writes to $OUT (default benchmarks/results): nvidia_smi.txt, gpu_paper_smoke.json (a tiny
# graph run first, ~1 min, so a capture failure shows before the long run), gpu_paper.json.
# LIMIT_S bounds the whole script; each step is under `timeout`, and the benchmark's own budget
# stops its sections early, so the JSON written so far always comes back. SMOKE=0 skips the smoke
# run; BENCH_ARGS is passed to the main run (e.g. "--engines cudnn,graph,triton").
set -uo pipefail
OUT="${OUT:-benchmarks/results}"
LIMIT_S="${LIMIT_S:-500}"
PYTHON="${PYTHON:-python3}"
DATA="${DATA:-outputs/salmon_river}"
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT"
began=$(date +%s)
left() { echo $(( LIMIT_S - ($(date +%s) - began) )); }

nvidia-smi -L > "$OUT/nvidia_smi.txt" 2>&1; cat "$OUT/nvidia_smi.txt"
if [ ! -f "$DATA/normalized.csv" ]; then
  echo "no normalised basin at $DATA: carry outputs/salmon_river (or set DATA)" >&2; exit 2
fi
if [ "${SMOKE:-1}" != 0 ]; then
  timeout 100 "$PYTHON" -u benchmarks/bench_gpu_paper.py --smoke --device cuda --data "$DATA" \
    --out "$OUT/gpu_paper_smoke.json" --budget-s 90
  echo "smoke exit $? after $(( $(date +%s) - began )) s"
fi

budget=$(( $(left) - 40 ))
if [ "$budget" -lt 120 ]; then echo "only $(left) s left: skipping the main run" >&2; exit 3; fi
timeout $(( budget + 30 )) "$PYTHON" -u benchmarks/bench_gpu_paper.py --device cuda --data "$DATA" \
  --out "$OUT/gpu_paper.json" --budget-s "$budget" --paper ${BENCH_ARGS:-}
echo "main exit $? after $(( $(date +%s) - began )) s"
