"""Copy MathJax 3 (from the ``django-static-mathjax`` wheel) into ``_mathjax/mathjax`` for the book.

Only the pieces the TeX-to-CHTML bundle loads are copied (about 5 MB, not the 24 MB distribution).
The copy goes to Sphinx's ``html_extra_path`` (served as ``mathjax/`` at the site's root), not to
``_static``: Jupyter Book 1.x adds every ``.js`` file under a static path to every page as a
``<script>``, which loaded MathJax twice and its 50-odd components in arbitrary order, so a page's
maths sometimes never rendered. Only ``mathjax_path`` loads it now, once, deferred.
"""

import shutil
import sys
from pathlib import Path

import mathjax

PIECES = ["tex-chtml.js", "input", "output", "ui", "a11y", "adaptors"]


def main(target: str = "_mathjax/mathjax") -> None:
    source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    dest = Path(target)
    dest.mkdir(parents=True, exist_ok=True)
    for piece in PIECES:
        src = source / piece
        if src.is_dir():
            shutil.copytree(src, dest / piece, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dest / piece)
    print(f"[setup] MathJax copied to {dest}")


if __name__ == "__main__":
    main(*sys.argv[1:])
