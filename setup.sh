#!/usr/bin/env bash
# Create .venv and install hydroprobe into it. Idempotent: re-running only
# installs what is missing. Usage: bash setup.sh [--dev]
#   --dev   also install the test and lint tools (pytest, ruff), neuralhydrology (its tests), Ray and
#           psycopg (extra 'distributed') and the PostgreSQL server its tests start on 127.0.0.1
# The conceptual reference model (RavenPy + the Raven executable, extra 'raven') is
# installed too; building Raven needs the netCDF C library and takes a few minutes once.
set -euo pipefail
cd "$(dirname "$0")"

extras="raven"
dev=""
[ "${1:-}" = "--dev" ] && dev=1 && extras="raven,dev,neuralhydrology,distributed"

# apt_install PACKAGE WHY: install a Debian package (as root, or through sudo), else stop saying what to do
apt_install() {
  local as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo"
  if command -v apt-get >/dev/null && { [ -z "$as_root" ] || command -v sudo >/dev/null; }; then
    echo "installing $1, $2"
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null ||
      { $as_root apt-get update -qq && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null; }
  else
    echo "error: $2: install $1 (Debian/Ubuntu) or its equivalent, then rerun" >&2
    exit 1
  fi
}

command -v nc-config >/dev/null || apt_install libnetcdf-dev "the netCDF C library, needed to build Raven"
# the distributed tests start a real PostgreSQL (initdb/pg_ctl) on 127.0.0.1
if [ -n "$dev" ] && ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql "the PostgreSQL server the distributed tests start"
fi

python3 -m venv .venv
# torch first, pinned: a bare `torch` requirement on an empty venv pulls a
# multi-GB CUDA build; 2.13.0 CPU is the release this project is tested with.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check "torch==2.13.0"
fi
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[${extras}]"
echo "hydroprobe installed in .venv ($(.venv/bin/hydroprobe --version))"
