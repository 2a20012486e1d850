#!/usr/bin/env bash
# Build the book: set up, execute every chapter (profile from INFOBOUNDS_PROFILE, default quick on
# any hardware) and render the HTML into _build/html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
# The pages are built from notebooks staged in _build/book-stage (see scripts/stage_book.py: the
# Colab button then opens the chapter's .ipynb); the HTML still lands in _build/html.
stage=_build/book-stage
rm -rf "$stage"
.venv/bin/python scripts/stage_book.py sources "$stage"
.venv/bin/jupyter-book build "$stage" --path-output . --all --builder html "$@"
# The chapters have now run and recorded their results: write the scoreboard from them and rebuild
# (an incremental build re-reads only the changed page; no chapter executes again).
echo "== the scoreboard from the results this build's chapters recorded"
.venv/bin/python scripts/stage_book.py scoreboard "$stage"
.venv/bin/jupyter-book build "$stage" --path-output . --builder html "$@"
echo "== checking the built site in a browser (headless Chromium)"
.venv/bin/python -m pytest tests/site --site _build/html --screenshots _build/screenshots -p no:cacheprovider -q
echo "The book is in _build/html: open _build/html/index.html in a browser."
