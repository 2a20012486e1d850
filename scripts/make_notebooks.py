"""Turn each chapter into a Jupyter notebook for Colab and Binder.

Colab opens only ``.ipynb`` files, so the deploy workflow runs this script and publishes the
notebooks on the ``notebooks`` branch that the book's launch buttons point at. Each notebook starts
with a cell that installs the package from the repository when it is not importable (Colab), and
does nothing where it is (Binder, a local checkout).

Usage: python scripts/make_notebooks.py OUT_DIR [CHAPTER.md ...]
"""

import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = "https://github.com/infobounds/infobounds"

INSTALL_CELL = f"""\
# Colab: install the infobounds package and Fashion-MNIST's loader (about a minute). Elsewhere: nothing to do.
try:
    import infobounds  # noqa: F401
except ImportError:
    %pip install --quiet "infobounds @ git+{REPOSITORY}"
    import infobounds  # noqa: F401
"""


def chapter_notebook(path: Path) -> nbformat.NotebookNode:
    nb = jupytext.read(path)
    cell = nbformat.v4.new_code_cell(INSTALL_CELL)
    cell.metadata["tags"] = ["remove-cell"]
    nb.cells.insert(0, cell)
    nb.metadata.setdefault("colab", {})["name"] = path.stem
    return nb


def main(out_dir: str, *chapters: str) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [Path(c) for c in chapters] or sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))
    written = []
    for path in paths:
        target = out / f"{path.stem}.ipynb"
        nbformat.write(chapter_notebook(path), target)
        written.append(target)
    return written


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for p in main(*sys.argv[1:]):
        print(p)
