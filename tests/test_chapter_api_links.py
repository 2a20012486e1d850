"""Each chapter links the API entries of the method it implements (issue 21), read statically from
``chapters/NN_slug.md`` (no chapter is executed).

The rules, one function each, returning the chapter's problems as ``"line N: what"`` strings:

``implementation-links``
    The chapter's implementation section (the ``## `` section holding its first
    ``literalinclude`` of library source) names at least one API entry in its prose with a Python
    role, ``{py:class}``, ``{py:func}``, ``{py:mod}``, ``{py:meth}``.
``imports-linked``
    Every class or function a code cell imports from the method's packages,
    ``infobounds.models``, ``.bounds``, ``.estimators``, ``.metrics`` and ``.data`` (``from
    infobounds.models.vib import VIB``), is named in a Python role somewhere in the chapter's
    Markdown, by any of its import paths (``infobounds.models.VIB`` and
    ``infobounds.models.vib.VIB`` are the same object). Constants (``ESTIMATORS``,
    ``SHAPE_NAMES``) have no entry of their own to be linked to and are exempt, and so is
    ``infobounds.metrics.seeds`` (``compare_over_seeds``), the seed comparison every chapter's
    claims go through, plumbing like ``infobounds.results``.
``roles-resolve``
    Every ``infobounds`` target of a Python role imports, and names an object of the role's kind:
    a class for ``{py:class}``, a function for ``{py:func}``, a module for ``{py:mod}``. The
    strict site build (``-n``) fails on a target it cannot resolve; this finds it without a build,
    and finds a class linked as a function, which Sphinx's Python domain lets through.

``test_each_rule_fails_on_its_control`` breaks each rule in a copy of a chapter and checks that the
rule reports it. Run ``python tests/test_chapter_api_links.py [NN ...]`` to print every chapter's
problems.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The book's Sphinx extension: a role resolves here as it does in the build.
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from infobounds_api import locate as resolve  # noqa: E402
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))

PACKAGE = "infobounds"
METHOD_PACKAGES = tuple(f"{PACKAGE}.{name}" for name in ("models", "bounds", "estimators", "metrics", "data"))
PLUMBING_MODULES = {f"{PACKAGE}.metrics.seeds"}

# {py:class}`~infobounds.models.vib.VIB`, {py:func}`the estimator <infobounds.bounds.estimate_mi>`
ROLE = re.compile(r"\{py:(?P<kind>\w+)\}`(?P<content>[^`]+)`")
FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\s*(?:\{(?P<name>[\w:-]+)\})?")
HEADING = re.compile(r"^## ")
# Which objects each role may name (``obj`` names anything).
ROLE_KINDS = {
    "class": ("class",), "exc": ("class",), "func": ("function",), "mod": ("module",),
    "meth": ("function",), "attr": ("other", "function"), "data": ("other",),
    "obj": ("class", "function", "module", "other"),
}


@dataclass
class Chapter:
    path: Path
    lines: list[str]
    code_cells: list[tuple[int, str]]  # (line of the cell's first source line, its source)
    prose: list[tuple[int, str]]  # every line outside code cells, with its number


def read_chapter(path: Path, text: str | None = None) -> Chapter:
    """Split a MyST-Markdown notebook into its code cells and its prose by their fences."""
    lines = (path.read_text() if text is None else text).splitlines()
    code_cells, prose, i = [], [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match and match["name"] == "code-cell":
            fence, start, i = match["fence"], i + 1, i + 1
            while i < len(lines) and lines[i].strip() != fence:
                i += 1
            body = lines[start:i]
            if body and body[0].strip() == "---":  # the cell's YAML metadata
                end = next((k for k in range(1, len(body)) if body[k].strip() == "---"), 0)
                start, body = start + end + 1, body[end + 1:]
            while body and body[0].startswith(":"):  # ":tags: [...]" options
                start, body = start + 1, body[1:]
            code_cells.append((start + 1, "\n".join(body)))
        else:
            prose.append((i + 1, lines[i]))
        i += 1
    return Chapter(path, lines, code_cells, prose)


def roles(prose: list[tuple[int, str]]) -> list[tuple[int, str, str]]:
    """``(line, kind, target)`` of every Python role in the prose; the target without ``~``/``!``
    and without the link text of ``text <target>``."""
    found = []
    for number, line in prose:
        for match in ROLE.finditer(line):
            content = match["content"].strip()
            if (explicit := re.search(r"<([^<>]+)>$", content)) is not None:
                content = explicit[1]
            found.append((number, match["kind"], content.lstrip("~!.")))
    return found


def kind_of(obj) -> str:
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "class"
    if inspect.isroutine(obj):
        return "function"
    return "other"


def method_imports(chapter: Chapter) -> list[tuple[int, str, object]]:
    """``(line, "module.name", object)`` of every class and function a code cell imports from the
    method's packages (constants and the plumbing modules left out)."""
    found = []
    for first_line, source in chapter.code_cells:
        # IPython magics and shell escapes are not Python.
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                           for line in source.splitlines())
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue
            module = node.module
            if not module.startswith(METHOD_PACKAGES) or module in PLUMBING_MODULES:
                continue
            imported = importlib.import_module(module)
            for alias in node.names:
                obj = getattr(imported, alias.name)
                if getattr(obj, "__module__", None) in PLUMBING_MODULES:
                    continue
                if kind_of(obj) in ("class", "function"):
                    found.append((first_line + node.lineno - 1, f"{module}.{alias.name}", obj))
    return found


# ---------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------
def implementation_section(chapter: Chapter) -> tuple[int, int] | None:
    """The lines ``[start, end)`` of the ``## `` section that holds the first ``literalinclude``."""
    first = next((n for n, line in chapter.prose if re.match(r"^`{3,}\{literalinclude\}", line)), None)
    if first is None:
        return None
    headings = [n for n, line in chapter.prose if HEADING.match(line)]
    start = max((n for n in headings if n < first), default=1)
    end = min((n for n in headings if n > first), default=len(chapter.lines) + 1)
    return start, end


def check_implementation_links(chapter: Chapter) -> list[str]:
    section = implementation_section(chapter)
    if section is None:
        return ["line 1: no literalinclude of library source, so no implementation section"]
    start, end = section
    if not roles([(n, line) for n, line in chapter.prose if start <= n < end]):
        return [f"line {start}: the implementation section links no API entry "
                "({py:class}, {py:func}, {py:mod})"]
    return []


def check_imports_linked(chapter: Chapter) -> list[str]:
    linked = [resolve(target) for _, _, target in roles(chapter.prose)
              if target.startswith(PACKAGE + ".")]
    return [f"line {line}: imports {name} but never names it in a {{py:...}} role"
            for line, name, obj in method_imports(chapter)
            if not any(obj is target for target in linked)]


def check_roles_resolve(chapter: Chapter) -> list[str]:
    problems = []
    for line, kind, target in roles(chapter.prose):
        if not target.startswith(PACKAGE + ".") and target != PACKAGE:
            continue
        obj = resolve(target)
        if obj is None:
            problems.append(f"line {line}: {{py:{kind}}}`{target}` names nothing in {PACKAGE}")
        elif kind_of(obj) not in ROLE_KINDS.get(kind, ()):
            problems.append(f"line {line}: {{py:{kind}}}`{target}` is a {kind_of(obj)}")
    return problems


RULES = {
    "implementation-links": check_implementation_links,
    "imports-linked": check_imports_linked,
    "roles-resolve": check_roles_resolve,
}


def problems(path: Path, text: str | None = None) -> dict[str, list[str]]:
    chapter = read_chapter(path, text)
    return {name: rule(chapter) for name, rule in RULES.items()}


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_links_its_api(path, rule):
    found = RULES[rule](read_chapter(path))
    assert not found, f"{path.name} breaks {rule}:\n" + "\n".join(found)


def test_there_are_21_chapters():
    assert len(CHAPTERS) == 21


def _first_link_in_section(text: str) -> str:
    chapter = read_chapter(Path("x.md"), text)
    start, end = implementation_section(chapter)
    for number, line in chapter.prose:
        if start <= number < end and ROLE.search(line):
            return line
    raise AssertionError("the control chapter's implementation section has no link")


def test_each_rule_fails_on_its_control():
    """Each rule reports a copy of chapter 02 broken in the way the rule forbids, and nothing on
    the chapter as it is."""
    path = ROOT / "chapters" / "02_information_bottleneck.md"
    text = path.read_text()
    assert not any(problems(path, text).values())

    # No link in the implementation section: every role there becomes plain code.
    chapter = read_chapter(path, text)
    start, end = implementation_section(chapter)
    lines = text.splitlines()
    for number in range(start, end):
        lines[number - 1] = ROLE.sub(lambda m: f"`{m['content']}`", lines[number - 1])
    assert problems(path, "\n".join(lines))["implementation-links"]

    # An imported class named in no role: every role naming VIBConfig becomes plain code.
    unlinked = re.sub(r"\{py:class\}`([^`]*VIBConfig)`", r"`\1`", text)
    found = problems(path, unlinked)["imports-linked"]
    assert found and all("VIBConfig" in line for line in found)

    # A role with a wrong target, and a class linked as a function.
    line = _first_link_in_section(text)
    wrong = text.replace(line, line + " {py:class}`infobounds.models.NoSuchThing`", 1)
    assert any("NoSuchThing" in p for p in problems(path, wrong)["roles-resolve"])
    swapped = text.replace("{py:class}`~infobounds.models.vib.VIB`",
                           "{py:func}`~infobounds.models.vib.VIB`", 1)
    assert swapped != text
    assert any("is a class" in p for p in problems(path, swapped)["roles-resolve"])


if __name__ == "__main__":
    wanted = sys.argv[1:]
    for path in CHAPTERS:
        if wanted and path.name[:2] not in wanted:
            continue
        for rule, found in problems(path).items():
            for line in found:
                print(f"{path.name}: {rule}: {line}")
