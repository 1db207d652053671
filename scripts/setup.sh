#!/usr/bin/env bash
# Set up everything in .venv: CPU torch, the project, the bundled models. Safe to run again.
#   scripts/setup.sh                      all bundled models
#   scripts/setup.sh smollm2-135m         only the named ones
# VENV=path puts the environment elsewhere; SMALLRAG_SETUP_PLAN=1 only says what it would do.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=${VENV:-.venv}
say() { printf '==> %s\n' "$*"; }
started=$(date +%s)

[ -x "$venv/bin/python" ] || { say "creating $venv with $($python --version)"; "$python" -m venv "$venv"; }
pip="$venv/bin/python -m pip"

# torch: always the CPU build. PyPI's Linux wheels of torch pull several GB of CUDA libraries, so where the
# machine keeps no wheel of its own (pip's find-links), the CPU build comes from PyTorch's CPU index.
torch="torch==2.13.0"
torch_index=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
kept=$(mktemp -d)
if $pip download -q --no-index --no-deps -d "$kept" "$torch" >/dev/null 2>&1; then
  torch_from="the wheel this machine keeps ($(ls "$kept"))"
  torch_args=()
elif [ "$(uname -s)" = Linux ]; then
  torch_from="PyTorch's CPU index, $torch_index (PyPI's Linux build would pull GBs of CUDA libraries)"
  torch_args=(--index-url "$torch_index" --extra-index-url "${PIP_INDEX_URL:-https://pypi.org/simple}")
else
  torch_from="PyPI (a CPU build on this OS)"
  torch_args=()
fi
rm -rf "$kept"

# llama-cpp-python builds from source (about 7 minutes on 2 cores), so its wheel is kept in $wheels. It is built
# without llama.cpp's AMX kernels: they crash on some Intel Xeons that have AMX (ggml-org/llama.cpp#20824).
llama=0.3.36
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/smallrag/wheels"
if ls "$wheels"/llama_cpp_python-$llama-*.whl >/dev/null 2>&1; then
  llama_from="the wheel kept in $wheels"
else
  llama_from="a build from source, about 7 minutes on 2 cores (once: the wheel is kept in $wheels)"
fi

# Tesseract reads scanned pages and images (OCR): Debian's packages, with these languages' packs.
ocr_packages="tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-spa"
ocr_packages="$ocr_packages tesseract-ocr-chi-sim tesseract-ocr-rus"
if command -v tesseract >/dev/null; then
  ocr_from="installed ($(tesseract --version 2>&1 | head -1))"
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  ocr_from="Debian's packages: $ocr_packages"
else
  ocr_from="missing: scanned pages and images fail with that reason until: sudo apt-get install -y $ocr_packages"
fi

if [ -n "${SMALLRAG_SETUP_PLAN:-}" ]; then
  echo "torch: $torch from $torch_from"
  echo "llama-cpp-python: $llama from $llama_from"
  echo "tesseract: $ocr_from"
  exit 0
fi

say "pip itself"
$pip install -q --upgrade pip
say "$torch from $torch_from"
$pip install -q "${torch_args[@]}" "$torch"

say "llama-cpp-python $llama from $llama_from"
if ! ls "$wheels"/llama_cpp_python-$llama-*.whl >/dev/null 2>&1; then
  missing=()
  command -v cmake >/dev/null || missing+=(cmake)
  command -v c++ >/dev/null || missing+=(g++)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
      say "installing ${missing[*]} (needed to build llama.cpp)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
    else
      echo "llama.cpp is built here and needs ${missing[*]}: sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  cmake_args=${CMAKE_ARGS:-}
  if [ -z "$cmake_args" ] && [ "$(uname -m)" = x86_64 ]; then
    no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    cmake_args="-DCMAKE_C_FLAGS='$no_amx' -DCMAKE_CXX_FLAGS='$no_amx'"
  fi
  CMAKE_ARGS="$cmake_args" $pip wheel -q --no-cache-dir --no-deps -w "$wheels" "llama-cpp-python==$llama"
fi
$pip install -q --no-index --no-deps --force-reinstall --find-links "$wheels" "llama-cpp-python==$llama"

say "tesseract (OCR): $ocr_from"
if ! command -v tesseract >/dev/null && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086 # a list of packages
  apt-get install -y -q $ocr_packages >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q $ocr_packages >/dev/null; }
fi

say "the project and its packages"
$pip install -q -e ".[dev]"
say "the models: ${*:-all bundled}"
"$venv/bin/rag" models install "$@"
say "set up in $(( $(date +%s) - started )) s"
