"""Draw the landing page's figure of the book's five parts: ``book/parts.svg``.

Generated at set-up (like the scoreboard) so it always matches the book: the parts and their
written chapters come from ``_toc.yml``, the titles of all 21 chapters and their status from the
chapter table of ``book/intro.md``. A chapter in the table but not in the table of contents is
drawn as planned.

Usage: python scripts/parts_figure.py [OUT.svg]
"""

import re
import textwrap
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import yaml  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\|\s*(\d\d)\s*\|\s*([^|]+?)\s*\|[^|]*\|\s*(\w+)\s*\|\s*$")
PART = re.compile(r"^Part ([IVX]+): (.+)$")
# Chapters are numbered through the parts in order: part k holds the numbers from FIRST[k] on.
FIRST = {"I": 1, "II": 2, "III": 6, "IV": 13, "V": 18}


def chapter_table() -> dict[int, str]:
    titles = {}
    for line in (ROOT / "book" / "intro.md").read_text().splitlines():
        if match := ROW.match(line):
            titles[int(match[1])] = match[2]
    if len(titles) != 21:
        raise SystemExit(f"book/intro.md's chapter table lists {len(titles)} chapters, expected 21")
    return titles


def parts() -> list[tuple[str, str, list[int], set[int]]]:
    """(roman numeral, title, all chapter numbers, written chapter numbers) for each part."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    written, named = {}, {}
    for part in toc["parts"]:
        if match := PART.match(part["caption"]):
            named[match[1]] = match[2]
            written[match[1]] = {int(Path(c["file"]).name[:2]) for c in part["chapters"]}
    numerals = list(FIRST)
    bounds = [FIRST[r] for r in numerals] + [22]
    return [(r, named[r], list(range(bounds[i], bounds[i + 1])), written.get(r, set()))
            for i, r in enumerate(numerals)]


def draw(out: Path) -> None:
    titles = chapter_table()
    layout = parts()
    plt.rcParams["svg.hashsalt"] = "infobounds"
    fig, ax = plt.subplots(figsize=(13, 5.4))
    ax.set_xlim(0, 5)
    ax.set_ylim(-7.6, 1.45)
    ax.axis("off")
    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"]
    for k, (numeral, name, numbers, written) in enumerate(layout):
        x = k + 0.04
        ax.add_patch(FancyBboxPatch((x, 0.05), 0.92, 1.3, boxstyle="round,pad=0.0,rounding_size=0.06",
                                    facecolor=colours[k], edgecolor="none"))
        heading = f"Part {numeral}\n" + name.replace(" and ", " and\n")
        ax.text(x + 0.46, 0.7, heading, ha="center", va="center",
                color="white", fontsize=9, weight="bold")
        for j, n in enumerate(numbers):
            y = -0.1 - (j + 1) * 1.0
            done = n in written
            ax.add_patch(FancyBboxPatch((x, y), 0.92, 0.85, boxstyle="round,pad=0.0,rounding_size=0.05",
                                        facecolor=colours[k] if done else "white", alpha=0.22 if done else 1.0,
                                        edgecolor=colours[k], linestyle="-" if done else "--", linewidth=1.2))
            label = textwrap.fill(f"{n:02d}  {titles[n]}", width=27, subsequent_indent="     ")
            ax.text(x + 0.04, y + 0.42, label, ha="left", va="center", fontsize=8.2,
                    color="black" if done else "0.45")
        if k < len(layout) - 1:
            ax.annotate("", xy=(x + 1.0, 0.7), xytext=(x + 0.92, 0.7),
                        arrowprops=dict(arrowstyle="->", color="0.4"))
    if any(set(numbers) - written for *_, numbers, written in layout):
        ax.text(0.04, -7.45, "filled: written and executed with the book; dashed: planned", fontsize=8.5,
                color="0.35")
    fig.savefig(out, format=out.suffix[1:], bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)


if __name__ == "__main__":
    draw(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "book" / "parts.svg")
