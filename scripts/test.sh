#!/usr/bin/env bash
# Run every test: set up, unit tests, every chapter under nbval in the quick profile, a smoke run of
# every chapter in the full profile (paper-sized networks, a few steps each), and a strict
# build of the site from the notebooks nbval executed (warnings are errors, so broken references,
# maths, citations or glued numbers fail; no chapter is executed twice). At the end it writes its own
# wall time, with the commit, hardware and test counts, to _build/tested-book/test_command_time.json.
set -euo pipefail
cd "$(dirname "$0")/.."
command_start=$SECONDS
bash scripts/setup.sh
export INFOBOUNDS_PROFILE=quick     # the profile CI and readers' laptops run
export INFOBOUNDS_OFFLINE=1         # nothing downloads in tests
# Two test files (or chapters) at a time on two cores, one thread each: two threads each would
# oversubscribe the cores (results/bench/chapter_threads.json); the book command runs chapters alike.
export OMP_NUM_THREADS=1
stage=_build/tested-book
rm -rf "$stage"
# The chapters' records of this run go beside the tested site, not into results/.
export INFOBOUNDS_RESULTS=${INFOBOUNDS_RESULTS:-$PWD/$stage/results}
export INFOBOUNDS_EXECUTED_DIR=$PWD/$stage/chapters

# Test files run in parallel, one worker per core (CI has 2): --dist loadfile keeps a file's tests,
# and a chapter's cells with their kernel, in one worker.
workers=${INFOBOUNDS_TEST_WORKERS:-2}
start=$SECONDS
echo "== unit tests, chapters and the course page (nbval, quick profile), $workers workers"
.venv/bin/python -m pytest tests chapters book/course.md -n "$workers" --dist loadfile --nbval-lax --nbval-current-env --nbval-cell-timeout=600 \
  -p no:cacheprovider --durations=10 --junitxml="$stage/junit-tests-and-chapters.xml"
echo "== smoke run of the full profile: every chapter with the paper's networks, configs and batch sizes, a few steps"
# INFOBOUNDS_SMOKE cuts every fit() to a few steps and every data set to a few hundred examples, stands in
# for missing MNIST/CIFAR-10/SVHN with generated files, skips the asserts of trained phenomena and records
# nothing; its executed notebooks are not kept (the site is built from the quick run's).
smoke_start=$SECONDS
smoke_results=$(mktemp -d)
env -u INFOBOUNDS_EXECUTED_DIR INFOBOUNDS_PROFILE=full INFOBOUNDS_SMOKE=1 INFOBOUNDS_RESULTS="$smoke_results" \
  .venv/bin/python -m pytest chapters -n "$workers" --dist loadfile --nbval-lax --nbval-current-env \
  --nbval-cell-timeout=600 -p no:cacheprovider -q --junitxml="$stage/junit-smoke.xml"
rm -rf "$smoke_results"
SMOKE_S=$((SECONDS - smoke_start))
echo "== the smoke run took $SMOKE_S s"
echo "== strict build of the site from the executed chapters (its scoreboard from this run's records)"
# --pdf: every page's download menu offers the whole book, which is printed next and copied into the site.
.venv/bin/python scripts/stage_book.py executed "$stage" --pdf
.venv/bin/jupyter-book build "$stage" --builder html -W -n --keep-going
echo "== the PDF: the single-page build of the same notebooks, printed by Chromium"
.venv/bin/jupyter-book build "$stage" --builder singlehtml -W -n --keep-going
.venv/bin/python scripts/book_pdf.py "$stage/_build/singlehtml" "$stage/_build/pdf/book.pdf"
cp "$stage/_build/pdf/book.pdf" "$stage/_build/html/book.pdf"
echo "== the site in a browser (headless Chromium): maths, theorems, figures, links, the PDF it offers"
.venv/bin/python -m pytest tests/site --site "$stage/_build/html" --book-pdf book.pdf \
  --screenshots "$stage/_build/screenshots" -p no:cacheprovider -q --junitxml="$stage/junit-site.xml"
echo "== the PDF read back: every title opens its page, maths typeset"
.venv/bin/python -m pytest tests/test_pdf.py --pdf "$stage/_build/pdf/book.pdf" -p no:cacheprovider -q \
  --junitxml="$stage/junit-pdf.xml"
echo "== all tests passed in $((SECONDS - start)) s; the tested site is in $stage/_build/html"
# The measured time of this whole command (set-up included), for results/bench/ and the README.
WALL_S=$((SECONDS - command_start)) TESTS_S=$((SECONDS - start)) SMOKE_S=$SMOKE_S \
  .venv/bin/python scripts/command_time.py test "$stage"
