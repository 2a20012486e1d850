"""Let nbval collect the book's MyST-Markdown chapters (``NN_slug.md``) as notebooks.

nbval only collects ``.ipynb``; here each chapter is read with ``jupytext.read`` and handed to
nbval's ``IPyNbFile`` without writing a notebook to disk. The kernel starts in ``chapters/``, as in
the book build. Only digit-prefixed ``.md`` files are chapters.
"""

from __future__ import annotations

import os
import re

import jupytext
import pytest
from nbval.plugin import IPyNbFile

CHAPTER = re.compile(r"^\d\d_[a-z0-9_]+\.md$")

# Quick profile, no spin-waiting OpenMP threads, no downloads: set before the kernels start.
os.environ.setdefault("INFOBOUNDS_PROFILE", "quick")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("INFOBOUNDS_OFFLINE", "1")


class MystChapter(IPyNbFile):
    """An nbval notebook item read from a jupytext MyST-Markdown file."""

    def collect(self):
        # nbval reads the file with nbformat.read inside collect(); read it with jupytext instead.
        import nbval.plugin as plugin

        original = plugin.nbformat
        plugin.nbformat = _JupytextReader(original)
        try:
            yield from super().collect()
        finally:
            plugin.nbformat = original


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
