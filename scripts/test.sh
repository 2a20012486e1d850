#!/usr/bin/env bash
# Run every test: set up, unit tests, every chapter under nbval in the quick profile, and a strict
# build of the site from the notebooks nbval executed (warnings are errors, so broken references,
# maths, citations or glued numbers fail; no chapter is executed twice).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export INFOBOUNDS_PROFILE=quick     # the profile CI and readers' laptops run
export INFOBOUNDS_OFFLINE=1         # nothing downloads in tests
export OMP_WAIT_POLICY=PASSIVE      # no OpenMP spin-waiting on shared 2-core machines
stage=_build/tested-book
rm -rf "$stage"
# The chapters' records of this run go beside the tested site, not into results/.
export INFOBOUNDS_RESULTS=${INFOBOUNDS_RESULTS:-$PWD/$stage/results}
export INFOBOUNDS_EXECUTED_DIR=$PWD/$stage/chapters

start=$SECONDS
echo "== unit tests and chapters (nbval, quick profile)"
.venv/bin/python -m pytest tests chapters --nbval-lax --nbval-current-env --nbval-cell-timeout=600 \
  -p no:cacheprovider --durations=10
echo "== strict build of the site from the executed chapters"
.venv/bin/python scripts/stage_book.py executed "$stage"
.venv/bin/jupyter-book build "$stage" --builder html -W -n --keep-going
echo "== the site in a browser (headless Chromium): maths, theorems, figures, links"
.venv/bin/python -m pytest tests/site --site "$stage/_build/html" --screenshots "$stage/_build/screenshots" \
  -p no:cacheprovider -q
echo "== all tests passed in $((SECONDS - start)) s; the tested site is in $stage/_build/html"
