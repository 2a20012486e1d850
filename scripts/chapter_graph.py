"""Draw the reading guide's chapter-dependency graph, ``book/chapter-graph.svg``, from the chapters'
own cross-references, so that it cannot drift from the text.

Chapter B *builds on* chapter A (A before B) when B's text refers to something A defines: a
``{prf:ref}``, ``{ref}``, ``{numref}`` or ``{eq}`` to a label of A (a theorem, a section, a figure,
an equation, an exercise), or a ``{doc}`` to A. A reference to a later chapter is a signpost, not a
dependency, and draws nothing. The figure draws the *transitive reduction* of these edges (an edge
A -> C is left out when a path A -> B -> C says the same), in layers from left to right: a chapter
sits one layer right of the furthest chapter it builds on. Each box is coloured by its part
(``_toc.yml``). The SVG carries the edges as ids ``edge-AA-BB``, which the tests check against the
references.

Generated at set-up (``scripts/setup.sh``), like the index of theorems.

Usage: python scripts/chapter_graph.py [OUT.svg]
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import yaml  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# A label a chapter defines: a MyST target "(label)=", a ":label:"/":name:" option of a directive
# (theorems, exercises, equations, figures), a "name:" of a code cell's mystnb figure metadata, or
# an equation label after a display's closing "$$".
TARGET = re.compile(r"^\(([\w:.-]+)\)=\s*$"
                    r"|^\s*:(?:label|name):\s*(\S+)\s*$"
                    r"|^\s{4,}name:\s*(\S+)\s*$"
                    r"|^\s*\$\$\s*\(([\w:.-]+)\)\s*$", re.M)
# A reference: {role}`target` or {role}`text <target>`.
REFERENCE = re.compile(r"\{(prf:ref|ref|numref|eq|doc)\}`(?:[^`<]*<)?([^`<>]+)>?`")
CHAPTER_DOC = re.compile(r"(?:^|/)(\d\d)_[\w-]+$")
PART = re.compile(r"^Part ([IVX]+): (.+)$")
TITLE = re.compile(r"^# (.+)$", re.M)


def chapters() -> dict[int, Path]:
    return {int(p.name[:2]): p for p in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))}


def _body(text: str) -> str:
    """The chapter without its jupytext front matter (whose kernelspec has a 'name:')."""
    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end != -1:
            return text[end + 4:]
    return text


def labels(path: Path) -> set[str]:
    """Every label the chapter defines."""
    return {next(g for g in match.groups() if g) for match in TARGET.finditer(_body(path.read_text()))}


def references(path: Path) -> list[tuple[str, str]]:
    """Every (role, target) cross-reference in the chapter, in order."""
    return [(m[1], m[2].strip()) for m in REFERENCE.finditer(_body(path.read_text()))]


def dependencies(sources: dict[int, Path] | None = None) -> dict[tuple[int, int], list[str]]:
    """(A, B) -> the references by which chapter B builds on the earlier chapter A."""
    sources = chapters() if sources is None else sources
    owner: dict[str, int] = {}
    for number, path in sources.items():
        for label in labels(path):
            owner.setdefault(label, number)
    edges: dict[tuple[int, int], list[str]] = {}
    for number, path in sources.items():
        for role, target in references(path):
            if role == "doc":
                match = CHAPTER_DOC.search(target)
                source = int(match[1]) if match and int(match[1]) in sources else None
            else:
                source = owner.get(target)
            if source is not None and source < number:
                edges.setdefault((source, number), []).append(f"{{{role}}}`{target}`")
    return edges


def reading_edges(edges) -> set[tuple[int, int]]:
    """The transitive reduction of the dependency edges: what the figure draws."""
    graph = nx.DiGraph(list(edges))
    return set(nx.transitive_reduction(graph).edges())


def parts() -> dict[int, tuple[str, str]]:
    """Chapter number -> (roman numeral, part title), from _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    out = {}
    for part in toc["parts"]:
        if match := PART.match(part.get("caption", "")):
            for entry in part["chapters"]:
                if entry["file"].startswith("chapters/"):
                    out[int(Path(entry["file"]).name[:2])] = (match[1], match[2])
    return out


def title(path: Path) -> str:
    match = TITLE.search(_body(path.read_text()))
    return match[1].strip() if match else path.stem


def short_label(number: int, path: Path, width: int = 17, lines: int = 3) -> str:
    """'NN Title' in at most ``lines`` lines: the title up to its colon, shortened at a word."""
    wrapped = textwrap.wrap(f"{number:02d} {title(path).split(':')[0]}", width=width)
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1].rsplit(" ", 1)[0] + " …"
    return "\n".join(wrapped)


def layout(numbers: list[int], edges: set[tuple[int, int]]):
    """Layers and rows (a Sugiyama-style layering). A chapter's layer is the longest path of
    dependencies into it. An edge that spans several layers passes through a waypoint in each
    layer between, which takes a row like a chapter, so no edge crosses a box. Rows within a layer
    are ordered by the mean row of the neighbours in the previous (then the next) layer, a few
    sweeps of the barycentre heuristic, ties by chapter number.

    Returns (place, routes): chapter -> (layer, row), and edge -> the (layer, row) of its waypoints.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(numbers)
    graph.add_edges_from(edges)
    layer = {}
    for n in nx.topological_sort(graph):
        layer[n] = max((layer[p] + 1 for p in graph.predecessors(n)), default=0)
    # The layered graph: the chapters, and a waypoint (a, b, k) per edge a -> b and layer k it crosses.
    nodes = {n: layer[n] for n in numbers}
    links, waypoints = [], {}
    for a, b in sorted(edges):
        chain = [a] + [(a, b, k) for k in range(layer[a] + 1, layer[b])] + [b]
        nodes.update({w: w[2] for w in chain[1:-1]})
        waypoints[(a, b)] = chain[1:-1]
        links += list(zip(chain, chain[1:]))
    below = {n: [u for u, v in links if v == n] for n in nodes}
    above = {n: [v for u, v in links if u == n] for n in nodes}

    def tie(node):
        return node if isinstance(node, int) else node[0] + 0.5

    layers: dict[int, list] = {}
    for node in sorted(nodes, key=tie):
        layers.setdefault(nodes[node], []).append(node)
    row = {node: float(i) for members in layers.values() for i, node in enumerate(members)}
    for sweep in range(6):
        downwards = sweep % 2 == 0
        for k in sorted(layers, reverse=not downwards):
            def key(node):
                near = below[node] if downwards else above[node]
                return (sum(row[m] for m in near) / len(near) if near else row[node], tie(node))

            layers[k].sort(key=key)
            row.update({node: float(i) for i, node in enumerate(layers[k])})
    first = min(numbers)
    if row[first] > (len(layers[nodes[first]]) - 1) / 2:  # the first chapter at the top
        for members in layers.values():
            members.reverse()
    tallest = max(len(members) for members in layers.values())
    for members in layers.values():
        offset = (tallest - len(members)) / 2
        row.update({node: offset + i for i, node in enumerate(members)})
    place = {n: (layer[n], row[n]) for n in numbers}
    routes = {edge: [(nodes[w], row[w]) for w in chain] for edge, chain in waypoints.items()}
    return place, routes


COLOURS = {"I": "#4c72b0", "II": "#dd8452", "III": "#55a868", "IV": "#c44e52", "V": "#8172b3"}


def draw(out: Path) -> set[tuple[int, int]]:
    """Write the figure; returns the edges drawn."""
    sources = chapters()
    edges = reading_edges(dependencies(sources))
    place, routes = layout(list(sources), edges)
    part_of = parts()
    n_layers = max(k for k, _ in place.values()) + 1
    n_rows = max([row for _, row in place.values()]
                 + [row for route in routes.values() for _, row in route]) + 1
    width, height, gap_x, gap_y, scale = 2.05, 0.66, 0.42, 0.14, 0.72
    plt.rcParams["svg.hashsalt"] = "infobounds"
    fig, ax = plt.subplots(figsize=(scale * (n_layers * (width + gap_x) - gap_x) + 0.3,
                                    scale * n_rows * (height + gap_y) + 0.9))
    ax.set_xlim(-0.05, n_layers * (width + gap_x) - gap_x + 0.05)
    ax.set_ylim(-n_rows * (height + gap_y), 0.75)
    ax.axis("off")

    def corner(k, row):  # lower-left corner of the slot in layer k, row ``row``
        return k * (width + gap_x), -row * (height + gap_y) - height

    for n, path in sources.items():
        x, y = corner(*place[n])
        colour = COLOURS.get(part_of.get(n, ("?", ""))[0], "0.5")
        patch = FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.0,rounding_size=0.06",
                               facecolor=colour, alpha=0.25, edgecolor=colour, linewidth=1.2)
        patch.set_gid(f"chapter-{n:02d}")
        ax.add_patch(patch)
        ax.text(x + 0.06, y + height / 2, short_label(n, path), ha="left", va="center", fontsize=8.4)
    for a, b in sorted(edges):
        (xa, ya), (xb, yb) = corner(*place[a]), corner(*place[b])
        points = [(xa + width, ya + height / 2)]
        for k, row in routes[(a, b)]:  # straight through the slot a box would take
            x, y = corner(k, row)
            points += [(x, y + height / 2), (x + width, y + height / 2)]
        points.append((xb, yb + height / 2))
        for start, end in zip(points[:-1], points[1:]):
            last = end == points[-1]
            arrow = FancyArrowPatch(start, end, arrowstyle="-|>" if last else "-", mutation_scale=9,
                                    color="0.35", lw=0.9, shrinkA=0, shrinkB=1 if last else 0)
            arrow.set_gid(f"edge-{a:02d}-{b:02d}")
            ax.add_patch(arrow)
    names = dict(part_of.values())
    handles = [Patch(facecolor=c, alpha=0.4, edgecolor=c, label=f"Part {r}: {names[r]}")
               for r, c in COLOURS.items() if r in names]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, 1.0), ncol=3, fontsize=8.6,
              frameon=False)
    fig.savefig(out, format=out.suffix[1:], bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return edges


if __name__ == "__main__":
    draw(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "book" / "chapter-graph.svg")
