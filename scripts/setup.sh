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
# llama-cpp-python builds from source (minutes), so its wheel is kept in $wheels. It is built without
# llama.cpp's AMX kernels: they crash on some Intel Xeons that have AMX (ggml-org/llama.cpp#20824).
llama=0.3.36
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/smallrag/wheels"
if ! ls "$wheels"/llama_cpp_python-$llama-*.whl >/dev/null 2>&1; then
  cmake_args=${CMAKE_ARGS:-}
  if [ -z "$cmake_args" ] && [ "$(uname -m)" = x86_64 ]; then
    no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    cmake_args="-DCMAKE_C_FLAGS='$no_amx' -DCMAKE_CXX_FLAGS='$no_amx'"
  fi
  CMAKE_ARGS="$cmake_args" $pip wheel -q --no-cache-dir --no-deps -w "$wheels" "llama-cpp-python==$llama"
fi
$pip install -q --no-index --no-deps --force-reinstall --find-links "$wheels" "llama-cpp-python==$llama"
$pip install -q -e ".[dev]"
.venv/bin/rag models install "$@"
