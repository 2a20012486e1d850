"""Let nbval collect the book's pages that are notebooks but not chapters (``course.md``).

They are collected exactly as a chapter is (``chapters/conftest.py``: read with jupytext, the
kernel started in this folder, the executed notebook written to ``$INFOBOUNDS_EXECUTED_DIR`` when it
is set), but only when named on the command line, as the test command does
(``pytest tests chapters book/course.md --nbval-lax ...``): ``book/`` holds other Markdown pages,
which are not notebooks. ``scripts/stage_book.py executed`` moves the executed page from
``$INFOBOUNDS_EXECUTED_DIR`` to its place in the staged book.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

NOTEBOOK_PAGES = ("course.md",)

_spec = importlib.util.spec_from_file_location(
    "infobounds_chapter_collector", Path(__file__).resolve().parents[1] / "chapters" / "conftest.py")
_chapters = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_chapters)


def pytest_collect_file(file_path, parent):
    if file_path.name in NOTEBOOK_PAGES and file_path.parent == Path(__file__).parent \
            and parent.config.option.nbval_lax:
        return _chapters.MystChapter.from_parent(parent, path=file_path)
    return None
