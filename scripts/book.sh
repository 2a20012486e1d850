#!/usr/bin/env bash
# Build the book: set up, execute every chapter (profile from INFOBOUNDS_PROFILE, default quick on
# any hardware) and render the HTML into _build/html; with --pdf also the PDF, _build/pdf/book.pdf.
# Other arguments go to jupyter-book build.
set -euo pipefail
pdf=0
if [ "${1:-}" = --pdf ]; then pdf=1; shift; fi
cd "$(dirname "$0")/.."
command_start=$SECONDS
bash scripts/setup.sh
export INFOBOUNDS_PROFILE=${INFOBOUNDS_PROFILE:-quick}
stage=_build/book-stage
rm -rf "$stage"
# The chapters run first, each in its own Jupyter kernel (nbval, the executor of the test command,
# which writes each executed chapter to $stage/chapters/NN_slug.ipynb); the site is then built from
# those notebooks with execution off, so no chapter runs twice and the scoreboard is this run's.
# Quick profile: two chapters at a time, one thread each. On two cores that is about twice as fast
# as one chapter at a time on two threads (measured: results/bench/chapter_threads.json), and the
# numbers are those of the test command, which runs the chapters the same way. The full profile
# (one GPU) runs one chapter at a time with torch's default threads.
if [ "$INFOBOUNDS_PROFILE" = quick ]; then
  workers=${INFOBOUNDS_BOOK_WORKERS:-2}; cell_timeout=600
else
  workers=${INFOBOUNDS_BOOK_WORKERS:-1}; cell_timeout=86400
fi
if [ "$workers" -gt 1 ]; then export OMP_NUM_THREADS=1; fi
export INFOBOUNDS_EXECUTED_DIR=$PWD/$stage/chapters
echo "== executing the chapters ($INFOBOUNDS_PROFILE profile, $workers at a time)"
chapters_start=$SECONDS
.venv/bin/python -m pytest chapters book/course.md -n "$workers" --dist loadfile --nbval-lax --nbval-current-env \
  --nbval-cell-timeout="$cell_timeout" -p no:cacheprovider -q --junitxml="$stage/junit-chapters.xml"
CHAPTERS_S=$((SECONDS - chapters_start))
echo "== the chapters took $CHAPTERS_S s; building the site from them"
# The pages are built from the staged notebooks (see scripts/stage_book.py: the Colab button then
# opens the chapter's .ipynb); the HTML still lands in _build/html.
# With --pdf every page's download menu offers the whole book (_build/html/book.pdf), printed after the
# HTML build from the single-page build of the same notebooks.
if [ "$pdf" = 1 ]; then
  .venv/bin/python scripts/stage_book.py executed "$stage" --pdf
else
  .venv/bin/python scripts/stage_book.py executed "$stage"
fi
.venv/bin/jupyter-book build "$stage" --path-output . --all --builder html "$@"
site_options=()
if [ "$pdf" = 1 ]; then
  echo "== the PDF: the single-page build of the same notebooks, printed by Chromium, then read back"
  .venv/bin/jupyter-book build "$stage" --path-output . --builder singlehtml "$@"
  .venv/bin/python scripts/book_pdf.py _build/singlehtml _build/pdf/book.pdf
  .venv/bin/python -m pytest tests/test_pdf.py --pdf _build/pdf/book.pdf -p no:cacheprovider -q
  cp _build/pdf/book.pdf _build/html/book.pdf
  site_options=(--book-pdf book.pdf)
fi
echo "== checking the built site in a browser (headless Chromium)"
.venv/bin/python -m pytest tests/site --site _build/html "${site_options[@]}" --screenshots _build/screenshots \
  -p no:cacheprovider -q
WALL_S=$((SECONDS - command_start)) CHAPTERS_S=$CHAPTERS_S WORKERS=$workers \
  .venv/bin/python scripts/command_time.py book "$stage"
echo "The book is in _build/html: open _build/html/index.html in a browser."
if [ "$pdf" = 1 ]; then echo "The PDF is _build/pdf/book.pdf."; fi
