"""Write the concluding chapter, ``book/conclusion.md`` ("What the bounds told us"), from
``book/conclusion.yml`` and the claims the chapters recorded.

The prose columns (the bound, what it predicted, what it missed) come from the YAML file; the claims
column is read from the results (``infobounds.results.load_results``, so ``$INFOBOUNDS_RESULTS`` or
the repository's ``results/``), like the scoreboard, so the page cannot show a claim's status other
than the one recorded. ``scripts/setup.sh`` writes it from ``results/``; ``scripts/stage_book.py``
rewrites the staged copy from the run that built the site (``--placeholder`` before that run has
happened).

Usage: python scripts/conclusion.py [OUT.md] [--placeholder]
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from chapter_graph import chapters, title  # noqa: E402

LABEL = "conclusion"
PLACEHOLDER = "written after the chapters run"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def claims_cell(chapter: str, quick: dict, full: dict) -> str:
    """Every claim the chapter recorded, with whether it held, per profile."""
    claims = {}
    for profile, results in (("quick", quick), ("full", full)):
        for name, entry in results.get(chapter, {}).get("_claims", {}).items():
            holds = entry.get("holds")
            verdict = "holds" if holds is True else "**does not hold**" if holds is False else "not judged"
            claims.setdefault(name, []).append(f"{verdict} ({profile})")
    if not claims:
        return "no claim recorded"
    return "<br>".join(f"`{name}`: {', '.join(verdicts)}" for name, verdicts in sorted(claims.items()))


def conclusion_markdown(placeholder: bool = False, spec_path: Path | None = None) -> str:
    spec_path = spec_path or ROOT / "book" / "conclusion.yml"
    spec = yaml.safe_load(spec_path.read_text())
    sources = chapters()
    stems = {path.stem: number for number, path in sources.items()}
    rows = spec["rows"]
    missing = sorted(set(stems) - set(rows))
    unknown = sorted(set(rows) - set(stems))
    if missing or unknown:
        raise SystemExit(f"{spec_path}: chapters without a row {missing}, rows of no chapter {unknown}")
    if placeholder:
        quick = full = {}
    else:
        from infobounds.results import load_results

        quick, full = load_results("quick"), load_results("full")
    lines = [f"({LABEL})=", "# What the bounds told us", "", spec["intro"].strip(), "",
             "| chapter | the bound | what it predicted | what it missed | claims tested over seeds |",
             "|---|---|---|---|---|"]
    for stem, number in sorted(stems.items(), key=lambda item: item[1]):
        row = rows[stem]
        name = title(sources[number]).split(":")[0]
        status = PLACEHOLDER if placeholder else claims_cell(stem, quick, full)
        lines.append(f"| {{doc}}`{number:02d} {name} <../chapters/{stem}>` | {_cell(row['bound'])} | "
                     f"{_cell(row['predicted'])} | {_cell(row['missed'])} | {status} |")
    lines += ["", spec["outro"].strip(), ""]
    return "\n".join(lines)


def write(path: Path, placeholder: bool = False) -> Path:
    path.write_text(conclusion_markdown(placeholder))
    return path


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--placeholder"]
    write(Path(args[0]) if args else ROOT / "book" / "conclusion.md", "--placeholder" in sys.argv[1:])
