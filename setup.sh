#!/usr/bin/env bash
# Create .venv and install hydroprobe into it. Idempotent: re-running only
# installs what is missing. Usage: bash setup.sh [--dev]
#   --dev   also install the test and lint tools (pytest, ruff)
set -euo pipefail
cd "$(dirname "$0")"

extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"

python3 -m venv .venv
# torch first, pinned: a bare `torch` requirement on an empty venv pulls a
# multi-GB CUDA build; 2.13.0 CPU is the release this project is tested with.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check "torch==2.13.0"
fi
.venv/bin/pip install --quiet --disable-pip-version-check -e ".${extras}"
echo "hydroprobe installed in .venv ($(.venv/bin/hydroprobe --version))"
