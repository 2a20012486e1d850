#!/usr/bin/env bash
# One command: build a separate venv with pythae beside our package, then run the VAE benchmark.
#   bash benchmarks/vae_throughput.sh [--rounds 5 --epochs 1 ...]   (arguments go to the script)
# The venv (benchmarks/.venv-pythae, git-ignored) keeps pythae's pins away from the project's.
# torch is pinned to the CPU build 2.13.0: taken from a local wheel if pip finds one there, else
# from PyTorch's CPU index (never an unpinned torch, which would resolve to a multi-GB CUDA build).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
venv="${PYTHAE_VENV:-$here/.venv-pythae}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import pythae, infobounds" 2>/dev/null; then
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    # A local CPU wheel (pip's find-links) first, then its dependencies from the usual index.
    if "$venv/bin/pip" install -q --no-deps --no-index "torch==2.13.0" 2>/dev/null; then
        "$venv/bin/pip" install -q "torch==2.13.0"
    else
        "$venv/bin/pip" install -q "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
            --extra-index-url https://pypi.org/simple
    fi
    "$venv/bin/pip" install -q "pythae==0.1.2" -e "$repo"
fi
cd "$repo"
OMP_WAIT_POLICY=PASSIVE exec "$venv/bin/python" "$here/vae_throughput.py" "$@"
