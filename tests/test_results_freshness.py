"""The committed quick-profile results match the chapters that write them: every key of
``results/quick/NN_slug.json`` (its metrics, and its claims by name under ``_claims``) is made by a
``record(`` or ``record_claim(`` call in ``chapters/NN_slug.md``, and every such call has its key in
the file. A chapter that gains, loses or renames a metric fails here until its results are
regenerated, so the scoreboard cannot list a number no chapter computes any more.

The chapters are read statically: each code cell is parsed, and the name argument of every call is
a string literal or an f-string, which becomes a regular expression (each ``{...}`` matches one or
more characters), as in the code review's check (B5). A name may also be the loop variable of
``for name, ... in CLAIMS.items()`` (or ``for name in CLAIMS``) where the chapter assigns ``CLAIMS``
a dict written out with literal or f-string keys (or a dict comprehension with such a key): the
names are then those keys. A name built any other way is reported, since it could not be checked.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import jupytext
import pytest

from infobounds import results

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))
QUICK = ROOT / "results" / "quick"
NAME_ARGUMENT = {"record": ("metric", "metric"), "record_claim": ("name", "claim")}  # call -> (keyword, kind)


@dataclass(frozen=True)
class RecordCall:
    kind: str  # "metric" or "claim"
    pattern: re.Pattern
    source: str  # the name as written, for messages
    line: int  # in the code cell


def _code_cells(chapter: Path) -> list[str]:
    cells = [cell.source for cell in jupytext.read(chapter).cells if cell.cell_type == "code"]
    # IPython magics and shell escapes are not Python: blank them so ast can parse the rest.
    return ["\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.splitlines())
            for cell in cells]


def _name_pattern(node: ast.expr) -> str | None:
    """A regular expression matching every value of a literal or f-string name (None otherwise)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.escape(node.value)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                parts.append(re.escape(str(part.value)))
            else:
                parts.append(".+")
        return "".join(parts)
    return None


def _literal_dicts(trees: list[ast.Module]) -> dict[str, list[str]]:
    """The key patterns of the chapter's dicts of literal or f-string keys, by variable name, read in
    source order over all cells: ``D = {...}``; ``D = {k: ... for k, ... in E.items()}`` (the keys of
    ``E``) or with a literal or f-string key; and ``D["..."] = ...`` adds a key to ``D``."""
    assignments = [(i, node.lineno, node) for i, tree in enumerate(trees) for node in ast.walk(tree)
                   if isinstance(node, ast.Assign) and len(node.targets) == 1]
    dicts: dict[str, list[str]] = {}
    for _, _, node in sorted(assignments, key=lambda a: a[:2]):
        target, value = node.targets[0], node.value
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
                and target.value.id in dicts:
            key = _name_pattern(target.slice)
            if key is None:
                del dicts[target.value.id]  # a key the scan cannot read: the dict is unknown
            else:
                dicts[target.value.id].append(key)
            continue
        if not isinstance(target, ast.Name):
            continue
        dicts.pop(target.id, None)
        if isinstance(value, ast.Dict):
            patterns = [_name_pattern(k) if k is not None else None for k in value.keys]
        elif isinstance(value, ast.DictComp):
            generator = value.generators[0]
            keys = _name_pattern(value.key) or _loop_key_patterns(value.key, [generator], dicts)
            patterns = [keys]
        else:
            continue
        if None not in patterns:
            dicts[target.id] = patterns
    return dicts


def _loop_key_patterns(name: ast.expr, loops: list, dicts: dict[str, list[str]]) -> str | None:
    """The keys a loop variable ``name`` runs over, as one regular expression: ``for name, ... in
    D.items()`` or ``for name in D`` around the call, with ``D`` a dict of literal keys."""
    if not isinstance(name, ast.Name):
        return None
    for loop in reversed(loops):  # the innermost loop that binds the name
        target = loop.target.elts[0] if isinstance(loop.target, ast.Tuple) and loop.target.elts else loop.target
        if not (isinstance(target, ast.Name) and target.id == name.id):
            continue
        source = loop.iter
        if isinstance(source, ast.Call) and isinstance(source.func, ast.Attribute) \
                and source.func.attr in ("items", "keys") and not source.args:
            source = source.func.value
        if isinstance(source, ast.Name) and source.id in dicts:
            return "|".join(f"(?:{p})" for p in dicts[source.id])
        return None
    return None


def _calls_with_loops(tree: ast.AST, loops: tuple[ast.For, ...] = ()):
    """Every call node of ``tree`` with the ``for`` loops around it, outermost first."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.Call):
            yield child, list(loops)
        yield from _calls_with_loops(child, loops + (child,) if isinstance(child, ast.For) else loops)


def record_calls(chapter: Path) -> tuple[list[RecordCall], list[str]]:
    """Every ``record(``/``record_claim(`` call of the chapter's code (as a function or an attribute,
    ``results.record``), with the problems that keep a call from being checked."""
    calls, problems = [], []
    trees = [ast.parse(cell) for cell in _code_cells(chapter)]
    dicts = _literal_dicts(trees)
    for tree in trees:
        for node, loops in _calls_with_loops(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if func not in NAME_ARGUMENT:
                continue
            keyword, kind = NAME_ARGUMENT[func]
            args = {**dict(zip(("chapter", keyword), node.args)), **{k.arg: k.value for k in node.keywords}}
            where = f"{chapter.name}: {func}(...) at cell line {node.lineno}"
            target = args.get("chapter")
            if not (isinstance(target, ast.Constant) and target.value == chapter.stem):
                problems.append(f"{where} records for {ast.unparse(target) if target else '?'}, not "
                                f"'{chapter.stem}' as a literal")
                continue
            pattern = None
            if keyword in args:
                pattern = _name_pattern(args[keyword]) or _loop_key_patterns(args[keyword], loops, dicts)
            if pattern is None:
                problems.append(f"{where}: the {kind} name must be a string literal or an f-string to be checked")
                continue
            calls.append(RecordCall(kind, re.compile(pattern), ast.unparse(args[keyword]), node.lineno))
    return calls, problems


def recorded_keys(results_file: Path) -> dict[str, set[str]]:
    """The metric keys (all keys but ``_run`` and ``_claims``) and the claim names of a results file."""
    data = json.loads(results_file.read_text())
    return {"metric": {k for k in data if not k.startswith("_")}, "claim": set(data.get("_claims", {}))}


def freshness_problems(chapter: Path, results_file: Path) -> list[str]:
    """What disagrees between a chapter's record calls and its results file (empty when they match)."""
    calls, problems = record_calls(chapter)
    if not results_file.is_file():
        return problems + ([f"{chapter.name} records results but {results_file} does not exist"] if calls else [])
    keys = recorded_keys(results_file)
    for kind, names in keys.items():
        mine = [c for c in calls if c.kind == kind]
        for name in sorted(names):
            if not any(c.pattern.fullmatch(name) for c in mine):
                problems.append(f"{results_file.name}: {kind} {name!r} is made by no record call in {chapter.name}")
        for call in mine:
            if not any(call.pattern.fullmatch(name) for name in names):
                problems.append(f"{chapter.name} records {kind} {call.source} (cell line {call.line}), which "
                                f"{results_file.name} lacks")
    return problems


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_committed_quick_results_are_the_ones_the_chapter_records(chapter):
    assert freshness_problems(chapter, QUICK / f"{chapter.stem}.json") == []


def test_every_committed_results_file_belongs_to_a_chapter():
    stems = {c.stem for c in CHAPTERS}
    assert [p.name for p in sorted(QUICK.glob("*.json")) if p.stem not in stems] == []


def test_the_scan_finds_literal_and_f_string_names(tmp_path):
    chapter = tmp_path / "99_scan.md"
    chapter.write_text("```{code-cell} ipython3\n"
                       "for name in ['factorvae', 'beta_vae']:\n"
                       '    record("99_scan", f"distortion_{name}", 1.0, profile=profile.name)\n'
                       'record("99_scan", "tc_check", 0.1, profile=profile.name)\n'
                       'record_claim("99_scan", "a_beats_b", "A beats B.", 0.1, 0.0, 3, True, profile="quick")\n'
                       "```\n")
    calls, problems = record_calls(chapter)
    assert problems == [] and sorted(c.kind for c in calls) == ["claim", "metric", "metric"]
    metrics = [c for c in calls if c.kind == "metric"]
    assert any(c.pattern.fullmatch("distortion_factorvae") for c in metrics)
    assert any(c.pattern.fullmatch("tc_check") for c in metrics)
    assert not any(c.pattern.fullmatch("not_a_metric") for c in metrics)


def test_the_scan_reads_claim_names_from_a_loop_over_a_literal_dict(tmp_path):
    chapter = tmp_path / "99_scan.md"
    chapter.write_text("```{code-cell} ipython3\n"
                       "claims = {'a_beats_b': (c1, 'A beats B.'), f'a_beats_{other}': (c2, 'A beats it.')}\n"
                       "more = {name: c for name, (c, _) in claims.items()}\n"
                       "built = {}\n"
                       "built[f'late_{k}'] = 1\n"
                       "```\n\n```{code-cell} ipython3\n"
                       "for name, (c, statement) in claims.items():\n"
                       '    record_claim("99_scan", name, statement, 0.1, 0.0, 3, True, profile="quick")\n'
                       "for name in more:\n"
                       '    record("99_scan", name, 1.0, profile="quick")\n'
                       "for name, v in built.items():\n"
                       '    record("99_scan", name, v, profile="quick")\n'
                       "for name in sorted(claims):\n"
                       '    record_claim("99_scan", name, "x", 0.1, 0.0, 3, True, profile="quick")\n'
                       "```\n")
    calls, problems = record_calls(chapter)
    claim, metric, late = calls
    assert claim.pattern.fullmatch("a_beats_b") and claim.pattern.fullmatch("a_beats_c")
    assert not claim.pattern.fullmatch("b_beats_a")  # only the dict's keys, not any name
    assert metric.pattern.fullmatch("a_beats_b") and not metric.pattern.fullmatch("elsewhere")
    assert late.pattern.fullmatch("late_x") and not late.pattern.fullmatch("a_beats_b")
    # a loop over something other than a dict the scan can read stays unchecked, and says so
    assert len(problems) == 1 and "the claim name must be a string literal" in problems[0]


# Controls: the check fails on a results file with a key no chapter makes, and on a chapter that
# records a key its results file lacks. They run on a small synthetic chapter and its results file,
# so they do not depend on whether the committed results are fresh.
CONTROL = "99_control_chapter"
CONTROL_CHAPTER = (
    "# A control chapter\n\n```{code-cell} ipython3\n"
    "for name in ['a', 'b']:\n"
    f'    record("{CONTROL}", f"score_{{name}}", 1.0, profile=profile.name)\n'
    f'record_claim("{CONTROL}", "a_beats_b", "A beats B.", 0.1, 0.01, 3, True, profile=profile.name)\n'
    "```\n"
)


@pytest.fixture
def control_copies(tmp_path):
    chapter = tmp_path / f"{CONTROL}.md"
    results_file = tmp_path / f"{CONTROL}.json"
    chapter.write_text(CONTROL_CHAPTER)
    entry = {"value": 1.0, "unit": "", "paper": None, "profile": "quick", "hardware": "CPU",
             "torch": "2.13.0", "git_sha": "0" * 12, "date": "2026-12-06", "note": ""}
    claim = {"statement": "A beats B.", "effect": 0.1, "sd": 0.01, "n_seeds": 3, "holds": True}
    results_file.write_text(json.dumps({"score_a": dict(entry, metric="score_a"),
                                        "score_b": dict(entry, metric="score_b"),
                                        "_claims": {"a_beats_b": claim}}))
    assert freshness_problems(chapter, results_file) == []
    return chapter, results_file


def test_control_a_made_up_key_in_the_results_file_fails(control_copies):
    chapter, results_file = control_copies
    data = json.loads(results_file.read_text())
    data["made_up_metric"] = dict(data[next(k for k in data if not k.startswith("_"))], metric="made_up_metric")
    data["_claims"]["made_up_claim"] = {"statement": "x", "effect": 0.0, "sd": 0.0, "n_seeds": 3, "holds": True}
    results_file.write_text(json.dumps(data))
    problems = freshness_problems(chapter, results_file)
    assert len(problems) == 2
    assert "metric 'made_up_metric' is made by no record call" in problems[0]
    assert "claim 'made_up_claim' is made by no record call" in problems[1]


def test_control_a_chapter_call_whose_key_is_absent_fails(control_copies):
    chapter, results_file = control_copies
    chapter.write_text(chapter.read_text() + "\n```{code-cell} ipython3\n"
                       f'record("{CONTROL}", f"absent_{{name}}_metric", 1.0, profile=profile.name)\n'
                       f'record_claim("{CONTROL}", "absent_claim", "It holds.", 0.1, 0.01, 3, True, '
                       'profile=profile.name)\n'
                       f'record("{CONTROL}", metric_name, 1.0, profile=profile.name)\n'
                       f'record("02_information_bottleneck", "elsewhere", 1.0, profile=profile.name)\n```\n')
    problems = freshness_problems(chapter, results_file)
    assert len(problems) == 4
    assert any("the metric name must be a string literal or an f-string" in p for p in problems)
    assert any("records for '02_information_bottleneck'" in p for p in problems)
    assert any("records metric f'absent_{name}_metric'" in p and "lacks" in p for p in problems)
    assert any("records claim 'absent_claim'" in p and "lacks" in p for p in problems)


# The staged book's scoreboard is the one of the run that staged it (scripts/stage_book.py), never
# the one in book/ that set-up wrote from the committed results before the chapters ran (3a9ca49).
def _stage_book():
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    import stage_book

    return stage_book


def test_the_tested_site_gets_the_scoreboard_of_the_run_that_executed_its_chapters(tmp_path, monkeypatch):
    stage_book = _stage_book()
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path / "run-results"))
    results.record("01_information_measures", "only_in_this_run", 0.123, profile="quick")
    target = tmp_path / "tested-book"
    (target / "chapters").mkdir(parents=True)
    for chapter in CHAPTERS:  # what nbval leaves: one executed notebook per chapter
        (target / "chapters" / f"{chapter.stem}.ipynb").write_text("{}")
    for page in stage_book.BOOK_NOTEBOOKS:  # and per notebook page of book/ (the course page)
        (target / "chapters" / f"{page}.ipynb").write_text("{}")
    stage_book.stage(target, "executed")
    board = (target / "book" / "scoreboard.md").read_text()
    assert "### {doc}`../chapters/01_information_measures`" in board
    assert "| only_in_this_run |" in board and "0.123" in board
    assert "infonce_at_10_nats" not in board  # a committed metric this run did not record


def test_the_built_book_gets_its_scoreboard_after_the_chapters_run(tmp_path, monkeypatch):
    stage_book = _stage_book()
    monkeypatch.setenv("INFOBOUNDS_RESULTS", str(tmp_path / "run-results"))
    target = tmp_path / "book-stage"
    stage_book.stage(target, "sources")
    before = (target / "book" / "scoreboard.md").read_text()
    assert "written after the chapters execute" in before and "(scoreboard-claims)=" in before
    results.record("01_information_measures", "recorded_by_the_build", 4.5, profile="quick")  # a chapter runs
    stage_book.stage(target, "scoreboard")
    board = (target / "book" / "scoreboard.md").read_text()
    assert "### {doc}`../chapters/01_information_measures`" in board
    assert "| recorded_by_the_build | — | — | — | — | 4.5" in board
