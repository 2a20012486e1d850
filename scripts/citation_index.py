"""Write ``book/bibliography.md``: the bibliography, then for every cited work the chapters that cite
it, each a link.

sphinxcontrib-bibtex links a citation to its entry but, for a bibliography on its own page, not back
from the entry to the citing pages (its back-references work only within one document). The
"Where each work is cited" table gives those back-links. It is generated at set-up from the
chapters' ``{cite}``/``{cite:p}``/``{cite:t}`` roles (and the front and back matter's), like the index
of theorems, so it cannot fall behind the text.

Usage: python scripts/citation_index.py [OUT.md]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
TITLE = re.compile(r"^# (.+)$", re.M)


def citations(path: Path) -> set[str]:
    """The keys a page cites."""
    return {key.strip() for match in CITE.finditer(path.read_text()) for key in match[1].split(",")}


def pages() -> list[Path]:
    """The book's pages in the order of _toc.yml (chapters and the Markdown pages of book/)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc["parts"]:
        walk(part["chapters"])
    return [ROOT / f"{f}.md" for f in files if (ROOT / f"{f}.md").is_file() and f != "book/bibliography"]


def _link(path: Path) -> str:
    target = f"../{path.relative_to(ROOT).with_suffix('').as_posix()}"
    if path.parent.name == "chapters":
        return f"{{doc}}`ch. {int(path.name[:2])} <{target}>`"
    match = TITLE.search(path.read_text())
    return f"{{doc}}`{match[1].strip() if match else path.stem} <{target}>`"


def cited_in(sources: list[Path]) -> dict[str, list[Path]]:
    """key -> the pages that cite it, in book order."""
    where: dict[str, list[Path]] = {}
    for path in sources:
        for key in sorted(citations(path)):
            where.setdefault(key, []).append(path)
    return where


def bibliography_markdown(sources: list[Path] | None = None) -> str:
    where = cited_in(pages() if sources is None else sources)
    lines = ["(bibliography)=", "# Bibliography", "",
             "Every work the book cites. The table after the list gives, for each, the chapters (and other",
             "pages) that cite it; a citation in the text links to the work's entry.", "",
             "```{bibliography}", "```", "", "(cited-in)=", "## Where each work is cited", "",
             "| work | cited in |", "|---|---|"]
    for key in sorted(where):
        lines.append(f"| {{cite:t}}`{key}` | {', '.join(_link(p) for p in where[key])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "book" / "bibliography.md"
    target.write_text(bibliography_markdown())
