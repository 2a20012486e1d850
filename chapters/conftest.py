"""Let nbval collect the book's MyST-Markdown chapters (``NN_slug.md``) as notebooks.

nbval only collects ``.ipynb``; here each chapter is read with ``jupytext.read`` and handed to
nbval without writing a notebook next to it. The kernel starts in ``chapters/``, as in the book
build. Only digit-prefixed ``.md`` files are chapters.

With ``INFOBOUNDS_EXECUTED_DIR`` set, each chapter is also written there as an executed ``.ipynb``
(the outputs nbval collected), so the test command can build the site strictly from these
notebooks instead of executing every chapter a second time.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import jupytext
import nbformat
import nbval.plugin as nbval_plugin

CHAPTER = re.compile(r"^\d\d_[a-z0-9_]+\.md$")

# Quick profile and no downloads: set before the kernels start. The thread count is left to the
# caller: the test and book commands run two chapters at a time with OMP_NUM_THREADS=1.
os.environ.setdefault("INFOBOUNDS_PROFILE", "quick")
os.environ.setdefault("INFOBOUNDS_OFFLINE", "1")


class ChapterCell(nbval_plugin.IPyNbCell):
    """An nbval cell that keeps the outputs it produced in the notebook it came from."""

    def runtest(self):
        try:
            super().runtest()
        finally:
            self.cell.outputs = list(getattr(self, "test_outputs", None) or [])
            self.cell.execution_count = self.cell_num + 1
            for out in self.cell.outputs:
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = self.cell.execution_count


class MystChapter(nbval_plugin.IPyNbFile):
    """An nbval notebook item read from a jupytext MyST-Markdown file."""

    def collect(self):
        # nbval reads the file with nbformat.read and builds IPyNbCell items inside collect();
        # read with jupytext instead and build cells that keep their outputs.
        original = nbval_plugin.nbformat
        nbval_plugin.nbformat = _JupytextReader(original)
        try:
            for item in super().collect():
                item.__class__ = ChapterCell  # same fields; only runtest differs
                yield item
        finally:
            nbval_plugin.nbformat = original

    def teardown(self):
        super().teardown()
        target = os.environ.get("INFOBOUNDS_EXECUTED_DIR")
        if target and getattr(self, "nb", None) is not None:
            path = Path(target) / (Path(str(self.fspath)).stem + ".ipynb")
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(self.nb, str(path))


class _JupytextReader:
    """Stands in for the ``nbformat`` module inside nbval's collect: ``read`` goes through jupytext."""

    def __init__(self, nbformat_module):
        self._nbformat = nbformat_module

    def read(self, path, as_version=4):
        return jupytext.read(path)

    def __getattr__(self, name):
        return getattr(self._nbformat, name)


def pytest_collect_file(file_path, parent):
    if CHAPTER.match(file_path.name) and parent.config.option.nbval_lax:
        return MystChapter.from_parent(parent, path=file_path)
    return None
