"""The PDF of the whole book, as printed by ``scripts/book_pdf.py``; runs only when given one:
``pytest tests/test_pdf.py --pdf _build/pdf/book.pdf`` (the book command with ``--pdf`` and the test
command pass the PDF they built; the unit-test run skips this file).

Read with poppler's ``pdftotext``, ``pdfinfo`` and ``pdffonts``. Checks: every chapter's title, and
the course page's and the API reference's, starts a page, in the order of the table of contents;
every chapter spans several pages; each chapter's pages carry MathJax's fonts (its maths was
typeset: MJXTEX/MJXZERO, or the unnamed Type 3 fonts that Debian's Chromium embeds for them)
and no page holds TeX that MathJax left untypeset (``\\(``, ``\\[``, ``$$``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))
# Besides the chapters, the pages of the book a reader of the PDF looks for by title.
OTHER_PAGES = [ROOT / "book" / "course.md", ROOT / "book" / "api" / "index.md"]
MIN_CHAPTER_PAGES = 3  # a theorem with its proof, the implementation and an experiment's figure
UNTYPESET_TEX = re.compile(r"\\\(|\\\[|\$\$")


def title(path: Path) -> str:
    return next(line[2:].strip() for line in path.read_text().splitlines() if line.startswith("# "))


def words(text: str) -> str:
    """Lower-case words only: pdftotext breaks lines and may split or join a title's punctuation."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


@pytest.fixture(scope="module")
def pdf(request) -> Path:
    path = request.config.getoption("--pdf")
    if not path:
        pytest.skip("needs --pdf PATH (bash scripts/book.sh --pdf and the test command pass the PDF they built)")
    if not shutil.which("pdftotext"):
        pytest.fail("the PDF test needs poppler-utils (scripts/setup.sh installs it when run as root; "
                    "else: apt-get install poppler-utils)")
    path = Path(path)
    assert path.is_file() and path.read_bytes()[:5] == b"%PDF-", f"{path} is not a PDF"
    return path


@pytest.fixture(scope="module")
def pages(pdf) -> list[str]:
    """The text of each page (pdftotext separates pages by form feeds)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    found = text.split("\f")
    n_pages = int(re.search(r"^Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True,
                                                              text=True, check=True).stdout, re.M)[1])
    assert len(found) >= n_pages, f"pdftotext gave {len(found)} pages of {n_pages}"
    return found[:n_pages]


def opens(page: str, target: str) -> bool:
    """Whether the page's text starts with the title (in words), after its chapter number if any:
    a page of the front matter that lists the chapters' titles does not count."""
    return re.match(rf"(\d+ )?{re.escape(target)}", words(" ".join(page.strip().splitlines()[:6]))) is not None


def start_pages(pages: list[str], titles: list[str]) -> dict[str, int | None]:
    """The first page (1-based) that each title opens, searching in order from the previous title's
    page: a title must open a page, not be cited in the text."""
    found, after = {}, 0
    for name in titles:
        target = words(name)
        found[name] = next((i + 1 for i in range(after, len(pages)) if opens(pages[i], target)), None)
        after = found[name] or after
    return found


def test_every_chapter_title_opens_a_page_in_order(pages):
    titles = [title(path) for path in CHAPTERS + OTHER_PAGES]
    found = start_pages(pages, titles)
    missing = [name for name, page in found.items() if page is None]
    assert not missing, f"titles that open no page (in the order of the book): {missing}"
    order = [found[name] for name in titles]
    assert order == sorted(order) and len(set(order)) == len(order), f"pages of the titles out of order: {found}"


def test_every_chapter_spans_pages(pages):
    titles = [title(path) for path in CHAPTERS + OTHER_PAGES]
    found = start_pages(pages, titles)
    starts = [found[name] for name in titles]
    assert None not in starts, "a title is missing (see the test above)"
    lengths = {name: nxt - start for name, start, nxt in zip(titles, starts, starts[1:])}
    short = {name: n for name, n in list(lengths.items())[:len(CHAPTERS)] if n < MIN_CHAPTER_PAGES}
    assert not short, f"chapters shorter than {MIN_CHAPTER_PAGES} pages (lost their content?): {short}"
    assert len(pages) > starts[-1], f"nothing after the last title: {len(pages)} pages"


def test_maths_is_typeset_in_every_chapter(pdf, pages):
    raw = [(i + 1, m.group()) for i, page in enumerate(pages) for m in UNTYPESET_TEX.finditer(page)]
    assert not raw, f"{len(raw)} formulas left as TeX, first on pages {sorted({p for p, _ in raw})[:10]}"
    titles = [title(path) for path in CHAPTERS]
    found = start_pages(pages, titles + [title(OTHER_PAGES[0])])
    starts = [found[name] for name in titles + [title(OTHER_PAGES[0])]]
    assert None not in starts, "a title is missing (see the first test)"
    without = []
    for name, first, nxt in zip(titles, starts, starts[1:]):
        fonts = subprocess.run(["pdffonts", "-f", str(first), "-l", str(nxt - 1), str(pdf)],
                               capture_output=True, text=True, check=True).stdout
        # MathJax's web fonts: named MJXTEX/MJXZERO by some Chromium versions, embedded as unnamed
        # Type 3 fonts by Debian's (the page's own text is DejaVu, CID TrueType). A title page,
        # without maths, has neither.
        if not any(mark in fonts for mark in ("MJXTEX", "MJXZERO", "Type 3")):
            without.append(name)
    assert not without, f"chapters whose pages use no MathJax font (maths not typeset): {without}"
