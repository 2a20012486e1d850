"""Stage a copy of the book whose chapters are the notebooks nbval just executed.

The test command runs every chapter once under nbval (``chapters/conftest.py`` writes each executed
chapter to ``<stage>/chapters/NN_slug.ipynb``); this script adds the rest of the book around them
with execution turned off, so the strict site build checks references, maths, citations and glued
numbers without executing the chapters a second time.

Usage: python scripts/stage_executed_book.py STAGE_DIR
"""

import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def stage(target: Path) -> None:
    chapters = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))
    missing = [c.stem for c in chapters if not (target / "chapters" / f"{c.stem}.ipynb").is_file()]
    if missing:
        raise SystemExit(f"no executed notebook for {', '.join(missing)}: did nbval run every chapter?")
    for folder in ["book", "src", "_static"]:
        shutil.copytree(ROOT / folder, target / folder, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy2(ROOT / "_toc.yml", target / "_toc.yml")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    (target / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    stage(Path(sys.argv[1]))
