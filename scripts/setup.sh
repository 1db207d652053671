#!/usr/bin/env bash
# Set up everything in .venv: CPU torch, the project, the bundled models. Safe to run again.
#   scripts/setup.sh                      all bundled models
#   scripts/setup.sh smollm2-135m         only the named ones
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=".venv/bin/python -m pip"
$pip install -q --upgrade pip
# The CPU wheel of torch on this kind of machine; any other spec pulls GBs of CUDA packages.
$pip install -q "torch==2.13.0"
# llama-cpp-python builds from source (minutes); pip's wheel cache keeps the build for next time.
$pip install -q -e ".[dev]"
.venv/bin/rag models install "$@"
