#!/usr/bin/env bash
# Shared set-up of the two README commands: a venv with the package and its book/test extras, and
# Fashion-MNIST on disk. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
VENV=${INFOBOUNDS_VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
# Reinstall only when pyproject.toml or constraints.txt changed since the last install. The package
# declares ranges; constraints.txt pins the book's exact versions (torch==2.13.0 among them: left
# free, pip would pick the newest torch, a multi-GB CUDA build on Linux).
stamp="$VENV/.infobounds-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  echo "[setup] installing infobounds with the book and test extras, versions pinned by constraints.txt"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[book,test]'
  touch "$stamp"
fi

# Generated from the chapters and _toc.yml, so they cannot fall behind the text: the chapter-
# dependency graph of the landing page (from the chapters' cross-references), the index of
# theorems, the bibliography with the chapters that cite each work, and the API reference (from the
# package's modules and docstrings). The concluding chapter is
# written here from results/; the scoreboard is not: the book and test commands write both after
# their chapters run, from that run's results (scripts/stage_book.py), so a built site never shows
# numbers or claims older than its own pages.
"$VENV/bin/python" scripts/chapter_graph.py book/chapter-graph.svg
"$VENV/bin/python" scripts/theorem_index.py book/theorems.md
"$VENV/bin/python" scripts/citation_index.py book/bibliography.md
"$VENV/bin/python" scripts/api_reference.py book/api
"$VENV/bin/python" scripts/conclusion.py book/conclusion.md

# MathJax served from the built site itself, so maths renders offline.
[ -f _mathjax/mathjax/tex-chtml.js ] || "$VENV/bin/python" scripts/vendor_mathjax.py

# Fashion-MNIST: Debian's package when root on Debian, else a download when a network is there.
if ! "$VENV/bin/python" - <<'PY' 2>/dev/null
import os
os.environ["INFOBOUNDS_OFFLINE"] = "1"
from infobounds.data.idx import locate_idx_files
locate_idx_files("fashion_mnist", "train"); locate_idx_files("fashion_mnist", "test")
PY
then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing Debian's dataset-fashion-mnist"
    apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null; }
  else
    echo "[setup] downloading Fashion-MNIST into the user cache"
    "$VENV/bin/python" -c "from infobounds.data import load; load('fashion_mnist', 'train'); load('fashion_mnist', 'test')" \
      || { echo "[setup] Fashion-MNIST is missing: see the message above for how to get it." >&2; exit 1; }
  fi
fi

# The site test drives Debian's Chromium with its chromedriver (a test tool's own browser download
# does not work offline).
if ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing Debian's chromium and chromium-driver for the site test"
    apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium chromium-driver >/dev/null; }
  else
    echo "[setup] note: chromium and chromium-driver are missing; the site test will fail until they are installed" >&2
  fi
fi

# The PDF test reads the printed book with poppler's pdftotext, pdfinfo and pdffonts.
if ! command -v pdftotext >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing Debian's poppler-utils for the PDF test"
    apt-get install -y -qq poppler-utils >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq poppler-utils >/dev/null; }
  else
    echo "[setup] note: poppler-utils is missing; the PDF test will fail until it is installed" >&2
  fi
fi
