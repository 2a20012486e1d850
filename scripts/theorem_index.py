"""Write ``book/theorems.md``: every definition, theorem, lemma, proposition and corollary of the book,
by chapter.

Generated at set-up from the chapters listed in ``_toc.yml`` (a chapter's entries are the
``{prf:definition}``, ``{prf:theorem}``, ``{prf:lemma}``, ``{prf:proposition}`` and
``{prf:corollary}`` directives that carry a ``:label:``), so the index cannot fall behind the book. Each entry is a ``{prf:ref}`` link;
the strict build fails if a label does not resolve.

Usage: python scripts/theorem_index.py [OUT.md]
"""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DIRECTIVE = re.compile(r"^(`{3,}|:{3,})\{prf:(definition|theorem|lemma|proposition|corollary)\}\s*(.*)$")
LABEL = re.compile(r"^:label:\s*(\S+)")
TITLE = re.compile(r"^# (.+)$")


def results(chapter: Path) -> tuple[str, list[tuple[str, str, str]]]:
    """The chapter's title and its (kind, name, label) results in order."""
    lines = chapter.read_text().splitlines()
    title = next((m[1] for line in lines if (m := TITLE.match(line))), chapter.stem)
    found = []
    for i, line in enumerate(lines):
        if match := DIRECTIVE.match(line):
            label = next((m[1] for nxt in lines[i + 1:i + 6] if (m := LABEL.match(nxt))), None)
            if label:
                found.append((match[2], match[3].strip(), label))
    return title, found


def index() -> str:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    out = ["(theorem-index)=", "# Index of theorems", "",
           "Every definition, and every theorem, lemma, proposition and corollary proved in the book, in "
           "the order they appear.", ""]
    for part in toc["parts"]:
        files = [c["file"] for c in part["chapters"] if c["file"].startswith("chapters/")]
        if not files:
            continue
        out += [f"## {part['caption']}", ""]
        for file in files:
            title, found = results(ROOT / f"{file}.md")
            out += [f"**{{doc}}`{title} <../{file}>`**", ""]
            out += [f"- {{prf:ref}}`{label}`: {name}" if name else f"- {{prf:ref}}`{label}`"
                    for _, name, label in found] or ["- (none)"]
            out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "book" / "theorems.md"
    target.write_text(index())
