#!/usr/bin/env bash
# Create .venv and install hydroprobe into it. Idempotent: re-running only
# installs what is missing. Usage: bash setup.sh [--dev]
#   --dev   also install the test and lint tools (pytest, ruff) and neuralhydrology (its tests)
# The conceptual reference model (RavenPy + the Raven executable, extra 'raven') is
# installed too; building Raven needs the netCDF C library and takes a few minutes once.
set -euo pipefail
cd "$(dirname "$0")"

extras="raven"
[ "${1:-}" = "--dev" ] && extras="raven,dev,neuralhydrology"

if ! command -v nc-config >/dev/null; then
  as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo"
  if command -v apt-get >/dev/null && { [ -z "$as_root" ] || command -v sudo >/dev/null; }; then
    echo "installing the netCDF C library (libnetcdf-dev), needed to build Raven"
    $as_root apt-get install -y -qq libnetcdf-dev >/dev/null ||
      { $as_root apt-get update -qq && $as_root apt-get install -y -qq libnetcdf-dev >/dev/null; }
  else
    echo "error: Raven needs the netCDF C library: install libnetcdf-dev (Debian/Ubuntu) or netcdf (brew), then rerun" >&2
    exit 1
  fi
fi

python3 -m venv .venv
# torch first, pinned: a bare `torch` requirement on an empty venv pulls a
# multi-GB CUDA build; 2.13.0 CPU is the release this project is tested with.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check "torch==2.13.0"
fi
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[${extras}]"
echo "hydroprobe installed in .venv ($(.venv/bin/hydroprobe --version))"
