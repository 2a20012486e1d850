#!/usr/bin/env bash
# Prepare, here, what a full-profile run on the lent GPU machine needs and its image lacks, in
# .device/ (git-ignored), the one folder the device call carries.
#
# The device machine's python3 (3.12) holds a CUDA PyTorch, numpy, scipy, scikit-learn, pandas,
# matplotlib, seaborn and tqdm (/work/.library/device/KINDS.md), but not the pieces that execute a
# chapter (jupytext, nbclient, ipykernel and IPython, myst-nb's glue) nor POT, and nothing can be
# fetched there, data included. This puts
#   .device/whl/   those packages as wheels (about 15 MB), at the versions this checkout's .venv runs
#                  CI with, for CPython $PYVER on manylinux x86-64;
#   .device/data/  Fashion-MNIST (30 MB) from /usr/share/datasets (INFOBOUNDS_DATA there).
# POT's wheel alone is 32 MB, which with the data passes the 64 MiB a device call carries, so it is
# left out unless WITH_POT=1 (then the data is left out: chapter 11 needs both, and so cannot run
# there until one of them shrinks). MNIST, CIFAR-10 and SVHN are not on this machine, so chapters whose
# full profile uses them (02, 03, 09, 10, 12, 18-21) stop there with DataNotFoundError.
#
# usage: bash scripts/device_prepare.sh            (PYVER=3.12 by default)
# then:  device run, carry [".device"], command
#        "INFOBOUNDS_GIT_SHA=<sha> bash scripts/device_reproduce.sh CHAPTER..."
set -euo pipefail
cd "$(dirname "$0")/.."
PYVER=${PYVER:-3.12}
VENV_PY=${VENV_PY:-.venv/bin/python}
WITH_POT=${WITH_POT:-0}
# Import closure of `jupytext.read` + `nbclient` + an ipykernel kernel + `myst_nb.glue` + `ot`,
# less what the device image already has.
NAMES="jupytext mdit-py-plugins nbclient nbformat fastjsonschema jsonschema jsonschema-specifications
referencing rpds-py jupyter-client jupyter-core platformdirs traitlets pyzmq tornado ipykernel comm
debugpy matplotlib-inline ipython ipython-pygments-lexers prompt-toolkit wcwidth pexpect ptyprocess
jedi parso stack-data executing asttokens pure-eval myst-nb docutils"
[ "$WITH_POT" = 1 ] && NAMES="$NAMES pot"
rm -rf .device && mkdir -p .device/whl
freeze=$("$VENV_PY" -m pip freeze --disable-pip-version-check)
for name in $NAMES; do
  pattern=$(echo "$name" | sed 's/[-_]/[-_]/g')
  pin=$(echo "$freeze" | grep -i -E "^${pattern}==" | head -1 || true)
  if [ -z "$pin" ]; then echo "device_prepare: $name is not in $VENV_PY's environment" >&2; exit 1; fi
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version "$PYVER" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .device/whl "$pin"
done
if [ "$WITH_POT" != 1 ]; then
  mkdir -p .device/data/fashion-mnist
  cp /usr/share/datasets/fashion-mnist/*-ubyte.gz .device/data/fashion-mnist/
fi
size=$(du -sm .device | cut -f1)
echo "device_prepare: .device holds $(ls .device/whl | wc -l) wheels and $( [ -d .device/data ] && echo Fashion-MNIST || echo no data), ${size} MB"
if [ "$size" -gt 60 ]; then echo "device_prepare: over the 64 MiB a device call carries" >&2; exit 1; fi
