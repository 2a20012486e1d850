"""The reading guide's chapter-dependency graph (``scripts/chapter_graph.py``) draws only what the
chapters' cross-references say: every edge in the SVG is a backward reference of the later chapter to
a label the earlier chapter defines, checked here by reading both chapters' text directly; and every
such reference is drawn, directly or through a path."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import chapter_graph  # noqa: E402

EDGE_ID = re.compile(r'id="edge-(\d\d)-(\d\d)"')


def drawn_edges(svg: str) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in EDGE_ID.findall(svg)}


def _defines(text: str, label: str) -> bool:
    """The text defines ``label`` (read without the script's regular expressions)."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in (f"({label})=", f":label: {label}", f":name: {label}", f"name: {label}") \
                or (stripped.startswith("$$") and stripped.endswith(f"({label})")):
            return True
    return False


def unreferenced(edges, sources: dict[int, Path]) -> list[tuple[int, int]]:
    """The edges (a, b) for which chapter b has no reference to something chapter a defines."""
    bad = []
    for a, b in edges:
        earlier, later = sources[a].read_text(), sources[b].read_text()
        found = False
        for role, target in re.findall(r"\{(prf:ref|ref|numref|eq|doc)\}`(?:[^`<]*<)?([^`<>]+)>?`", later):
            if role == "doc":
                found |= Path(target).name == sources[a].stem
            else:
                found |= _defines(earlier, target)
        if not found or a >= b:
            bad.append((a, b))
    return bad


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """The figure as set-up draws it: (the SVG's text, the edges draw() returned)."""
    out = tmp_path_factory.mktemp("graph") / "chapter-graph.svg"
    returned = chapter_graph.draw(out)
    return out.read_text(), returned


def test_every_drawn_edge_is_a_backward_cross_reference(drawn):
    svg, returned = drawn
    edges = drawn_edges(svg)
    assert edges == returned and edges, "the SVG's edges are the ones the script computed"
    assert unreferenced(edges, chapter_graph.chapters()) == []


def test_control_an_edge_without_a_reference_is_caught(tmp_path, monkeypatch):
    real = chapter_graph.reading_edges
    monkeypatch.setattr(chapter_graph, "reading_edges", lambda deps: real(deps) | {(3, 21)})
    out = tmp_path / "graph.svg"
    chapter_graph.draw(out)
    assert (3, 21) in drawn_edges(out.read_text())
    assert unreferenced(drawn_edges(out.read_text()), chapter_graph.chapters()) == [(3, 21)]


def test_every_dependency_is_drawn_directly_or_through_a_path():
    deps = chapter_graph.dependencies()
    drawn = nx.DiGraph(list(chapter_graph.reading_edges(deps)))
    for a, b in deps:
        assert drawn.has_node(a) and nx.has_path(drawn, a, b), (a, b, deps[(a, b)])


def _toy_book(folder: Path, second_refers: bool = True) -> dict[int, Path]:
    texts = {
        1: "(ch-one)=\n# One\n\n```{prf:theorem}\n:label: thm-one\n```\n",
        2: "(ch-two)=\n# Two\n\n" + ("By {prf:ref}`thm-one`.\n" if second_refers else "Alone.\n")
           + "Later: {ref}`ch-three`.\n$$\nx\n$$ (eq-two)\n",
        3: "(ch-three)=\n# Three\n\nBy {eq}`eq-two` and {ref}`the first <ch-one>`.\n",
    }
    paths = {}
    for number, text in texts.items():
        paths[number] = folder / f"{number:02d}_toy.md"
        paths[number].write_text(text)
    return paths


def test_edges_come_from_backward_references_only(tmp_path):
    deps = chapter_graph.dependencies(_toy_book(tmp_path))
    assert set(deps) == {(1, 2), (2, 3), (1, 3)}  # the forward {ref}`ch-three` draws nothing
    assert deps[(1, 3)] == ["{ref}`ch-one`"]
    assert chapter_graph.reading_edges(deps) == {(1, 2), (2, 3)}  # 1 -> 3 goes through 2


def test_control_removing_a_reference_removes_its_edge(tmp_path):
    deps = chapter_graph.dependencies(_toy_book(tmp_path, second_refers=False))
    assert set(deps) == {(2, 3), (1, 3)}
    assert chapter_graph.reading_edges(deps) == {(2, 3), (1, 3)}


@pytest.mark.parametrize("number", range(1, 22))
def test_every_chapter_is_a_box_with_its_part(number, drawn):
    assert f'id="chapter-{number:02d}"' in drawn[0]
    assert number in chapter_graph.parts()
