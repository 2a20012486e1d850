"""Copy MathJax 3 (from the ``django-static-mathjax`` wheel) into ``_static/mathjax`` for the book.

Only the pieces the TeX-to-CHTML bundle loads are copied (about 5 MB, not the 24 MB distribution).
"""

import shutil
import sys
from pathlib import Path

import mathjax

PIECES = ["tex-chtml.js", "input", "output", "ui", "a11y", "adaptors"]


def main(target: str = "_static/mathjax") -> None:
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
