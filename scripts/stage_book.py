"""Stage a copy of the book whose chapters are notebooks (``.ipynb``), then build that copy.

Three modes:

``executed STAGE``
    The test and book commands run every chapter once under nbval (``chapters/conftest.py`` writes
    each executed chapter to ``<stage>/chapters/NN_slug.ipynb``); this adds the rest of the book around
    them with execution turned off, so the strict site build checks references, maths, citations
    and glued numbers without executing the chapters a second time. The staged scoreboard is
    generated here, from the results those chapters just recorded (``$INFOBOUNDS_RESULTS``).
``sources STAGE``
    A build in which Jupyter Book executes the chapters itself, one at a time (``jupyter-book build
    STAGE``; the book command used to work so, before it ran two chapters at a time under nbval):
    each ``chapters/NN_slug.md`` is converted by jupytext to an unexecuted notebook. The chapters
    have not run yet, so the staged scoreboard only says that it is written after they run.
``scoreboard STAGE``
    (Re)write the staged ``book/scoreboard.md`` and the claims column of ``book/conclusion.md`` from
    the results as they are now: after a ``sources`` build has executed the chapters, call it and
    rebuild (an incremental build re-reads only those pages).

With ``--pdf`` (``executed`` and ``sources``), every page's download menu offers the whole book as
``book.pdf`` at the site's root (``infobounds_book_pdf``, book/_ext/infobounds_api.py): the command
that stages so prints the PDF after the HTML build and copies it there (``scripts/test.sh``, and
``scripts/book.sh --pdf``).

The scoreboard of a staged book is therefore always the one of the run that built it, never the
one in ``book/`` (written whenever someone last ran ``python -m infobounds scoreboard``).

Either way the pages' sources are ``.ipynb``, so the Colab and Binder buttons open
``chapters/NN_slug.ipynb`` on the ``notebooks`` branch, where the deploy workflow publishes them
(``scripts/make_notebooks.py``); a build from the ``.md`` files would point Colab at Markdown,
which it cannot open.

Usage: python scripts/stage_book.py executed|sources|scoreboard STAGE_DIR [--pdf]
"""

import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def chapter_sources() -> list[Path]:
    return sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))


# Pages of book/ that are notebooks with code (collected under nbval by book/conftest.py): staged as
# .ipynb like a chapter, the executed one from $INFOBOUNDS_EXECUTED_DIR beside the chapters.
BOOK_NOTEBOOKS = ("course",)


PLACEHOLDER_SCOREBOARD = """# Scoreboard

The scoreboard is written after the chapters execute, from the results that run records
(`scripts/stage_book.py scoreboard`); this build stopped before that.

(scoreboard-claims)=
## Claims

Written with the rest of the scoreboard, after the chapters execute.
"""


def write_scoreboard(target: Path) -> Path:
    """The staged book's scoreboard, from the results recorded so far (``$INFOBOUNDS_RESULTS``, else
    the repository's ``results/``)."""
    from infobounds.results import write_scoreboard as write

    return write(target / "book" / "scoreboard.md")


def write_conclusion(target: Path, placeholder: bool = False) -> Path:
    """The staged concluding chapter, its claims column from the same results as the scoreboard
    (``scripts/conclusion.py``); with ``placeholder``, before the chapters have run, it says so."""
    import conclusion

    return conclusion.write(target / "book" / "conclusion.md", placeholder=placeholder)


# Where the site offers the whole-book PDF, relative to its root.
BOOK_PDF = "book.pdf"


def stage(target: Path, mode: str, pdf: bool = False) -> None:
    if mode == "scoreboard":
        write_scoreboard(target)
        write_conclusion(target)
        return
    chapters = chapter_sources()
    if mode == "executed":
        missing = [c.stem for c in chapters if not (target / "chapters" / f"{c.stem}.ipynb").is_file()]
        missing += [f"book/{page}" for page in BOOK_NOTEBOOKS if not (target / "chapters" / f"{page}.ipynb").is_file()]
        if missing:
            raise SystemExit(f"no executed notebook for {', '.join(missing)}: did nbval run every chapter "
                             f"and {', '.join(f'book/{page}.md' for page in BOOK_NOTEBOOKS)}?")
    elif mode == "sources":
        import jupytext

        (target / "chapters").mkdir(parents=True, exist_ok=True)
        for chapter in chapters:
            jupytext.write(jupytext.read(chapter), target / "chapters" / f"{chapter.stem}.ipynb")
    else:
        raise SystemExit(f"mode must be 'executed', 'sources' or 'scoreboard', got {mode!r}\n\n{__doc__}")
    for folder in ["book", "src", "_mathjax"]:
        shutil.copytree(ROOT / folder, target / folder, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for page in BOOK_NOTEBOOKS:
        staged = target / "book" / f"{page}.ipynb"
        if mode == "executed":
            shutil.move(target / "chapters" / f"{page}.ipynb", staged)
        else:
            import jupytext

            jupytext.write(jupytext.read(ROOT / "book" / f"{page}.md"), staged)
        (target / "book" / f"{page}.md").unlink()
    # Never the scoreboard (or the conclusion's claims) in book/: they may predate this run's chapters.
    if mode == "executed":
        write_scoreboard(target)
        write_conclusion(target)
    else:
        (target / "book" / "scoreboard.md").write_text(PLACEHOLDER_SCOREBOARD)
        write_conclusion(target, placeholder=True)
    shutil.copy2(ROOT / "_toc.yml", target / "_toc.yml")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    if mode == "executed":
        config["execute"]["execute_notebooks"] = "off"
    if pdf:
        config["sphinx"]["config"]["infobounds_book_pdf"] = BOOK_PDF
    (target / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    offer_pdf = "--pdf" in arguments
    if offer_pdf:
        arguments.remove("--pdf")
    if len(arguments) != 2:
        raise SystemExit(__doc__)
    if offer_pdf and arguments[0] == "scoreboard":
        raise SystemExit("--pdf applies to the 'executed' and 'sources' modes, not to 'scoreboard'")
    stage(Path(arguments[1]), arguments[0], pdf=offer_pdf)
