"""The conventions every chapter follows (issue 22), read statically from ``chapters/NN_slug.md``.

One rule per function, each returning the chapter's problems as ``"line N: what"`` strings (empty
when the chapter follows the rule):

``figure-captions``
    A code cell that draws a figure (a top-level call of ``plt.subplots``/``plt.figure``/
    ``plt.show``, a ``plot_*`` helper, ``.plot``/``.imshow``/``.scatter``, seaborn, or a function of
    the chapter whose body does) carries ``mystnb: figure:`` metadata with a ``name`` and a non-empty
    ``caption``, so the figure is numbered and can be cited with ``{numref}``. Removed cells
    (``remove-cell``, ``remove-output``) show nothing and are exempt; so is a cell that glues its
    figure (``glue(..., fig, ...)``) for a ``{glue:figure}`` directive with a caption and a name.
    A ``{figure}`` directive needs a caption (its body) and a ``:name:`` too.
``summary``
    A ``## Summary`` section after "What the bound did and did not predict" and before
    "Exercises": 3 to 5 top-level bullets, then one paragraph that opens with
    ``**Where this leads.**`` and holds at least one cross-reference (``{ref}``, ``{doc}``,
    ``{prf:ref}``, ``{numref}``), and nothing else.
``folded-proofs``
    Every ``{prf:proof}`` with more than 8 non-blank lines of body carries ``:class: dropdown``.
``code-lines``
    No line of a code cell, nor of a fenced code block (```` ```python ````, ```` ```bash ```` ...)
    in the prose, is longer than 88 characters.
``notation``
    The chapter opens a ``Notation in this chapter`` admonition, or its prose never writes the
    encoder with ``q`` (``q(z|x)``, ``q_\\phi(z \\mid x)``, ``Q(Z|X)``), the decoder with ``p``
    (``p(x|z)``, ``p_\\theta(x \\mid z)``), or calls a ``p(z)`` the prior: ``book/notation.md``
    gives the encoder ``p(z|x)``, the decoder ``q(x|z)`` and the prior ``r(z)``.
``exercises``
    Every ``{exercise}`` has a title that opens with its kind and difficulty, ``Derive ★★``
    (kinds Derive, Compute, Implement, Explore; one to three stars), and at least one exercise of
    the chapter is an Implement or Explore one.

The rules are enforced for the chapters in ``CONVERTED``; the others are being converted
(``/tmp/team/book-conventions.md`` describes the markup). ``test_every_chapter_is_converted`` fails
until all 21 are. ``test_each_rule_fails_on_its_control`` breaks each rule in a copy of a converted
chapter and checks that the rule reports it.

Run ``python tests/test_book_conventions.py [NN ...]`` to print every chapter's problems.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))

# The chapters whose conventions are enforced; a converted chapter is added here.
CONVERTED = {
    "01_information_measures",
    "02_information_bottleneck",
    "03_bottleneck_family",
    "04_transfer_entropy_bottleneck",
    "05_distribution_shift",
    "06_vae_rate_distortion",
    "07_rate_distortion_sandwich",
    "08_gans",
    "09_infogan",
    "10_deep_infomax",
    "11_wasserstein_autoencoders",
    "12_closed_loop_transcription",
    "13_factorvae",
    "14_stiefel_rkm",
    "15_cmi_disentanglement",
    "16_identifiability_clustering",
    "17_fair_representations",
    "18_multimodal_vaes",
    "19_meme",
    "20_multimodal_gan",
    "21_wyner_common_information",
}

MAX_CODE_LINE = 88
MAX_OPEN_PROOF_LINES = 8
SUMMARY_BULLETS = (3, 5)
EXERCISE_KINDS = ("Derive", "Compute", "Implement", "Explore")
HANDS_ON_KINDS = ("Implement", "Explore")
NOTATION_BOX_TITLE = "Notation in this chapter"


# ---------------------------------------------------------------------------------------------
# Reading a chapter
# ---------------------------------------------------------------------------------------------
@dataclass
class CodeCell:
    line: int  # of the first source line in the .md file
    metadata: dict
    source: list[str]


@dataclass
class Directive:
    name: str  # "prf:proof", "exercise", "admonition", ...
    argument: str  # the text after the directive's name on its opening line
    line: int  # of the opening line
    options: dict
    body: list[str]  # the lines after the options


@dataclass
class Chapter:
    path: Path
    code_cells: list[CodeCell] = field(default_factory=list)
    # The prose: every line outside code cells, as (line number, text); a code cell's place is
    # kept as one line "<code cell>".
    prose: list[tuple[int, str]] = field(default_factory=list)
    directives: list[Directive] = field(default_factory=list)
    fenced_code: list[tuple[int, str]] = field(default_factory=list)  # lines of ```python blocks


FENCE = re.compile(r"^(`{3,}|:{3,})\s*(\{([\w:-]+)\})?\s*(.*?)\s*$")
CODE_LANGUAGES = {"", "python", "py", "python3", "ipython", "ipython3", "bash", "sh", "shell", "console",
                  "text", "none", "yaml", "toml", "json"}


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def _options(lines: list[str]) -> tuple[dict, int]:
    """A directive's options (a ``---`` YAML block or ``:key: value`` lines) and how many lines
    they take."""
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is not None:
            return yaml.safe_load("\n".join(lines[1:end])) or {}, end + 1
    options, n = {}, 0
    while n < len(lines) and (match := re.match(r"^:([\w-]+):\s*(.*)$", lines[n])):
        options[match[1]] = yaml.safe_load(match[2]) if match[2] else True
        n += 1
    return options, n


def read_chapter(path: Path) -> Chapter:
    lines = path.read_text().splitlines()
    chapter = Chapter(path)
    i = 0
    if lines and lines[0].strip() == "---":  # the jupytext front matter
        i = next(k for k in range(1, len(lines)) if lines[k].strip() == "---") + 1
    stack: list[tuple[str, Directive]] = []  # open directives
    while i < len(lines):
        line = lines[i]
        if stack and _closes(line, stack[-1][0]):
            stack.pop()
            chapter.prose.append((i + 1, line))
            i += 1
            continue
        match = FENCE.match(line)
        if match and match[3] == "code-cell" and not stack:
            fence = match[1]
            end = next(k for k in range(i + 1, len(lines)) if _closes(lines[k], fence))
            body = lines[i + 1:end]
            options, n = _options(body)
            start = n + (1 if n and n < len(body) and not body[n].strip() else 0)
            chapter.code_cells.append(CodeCell(i + 2 + start, options, body[start:]))
            chapter.prose.append((i + 1, "<code cell>"))
            i = end + 1
            continue
        chapter.prose.append((i + 1, line))
        if match and match[3]:  # a directive: its body is prose, scanned for nested blocks
            fence = match[1]
            end = next((k for k in range(i + 1, len(lines)) if _closes(lines[k], fence)), len(lines))
            options, n = _options(lines[i + 1:end])
            directive = Directive(match[3], match[4], i + 1, options, lines[i + 1 + n:end])
            chapter.directives.append(directive)
            stack.append((fence, directive))
        elif match:  # a literal block (```python ...): nothing inside it is markup
            fence = match[1]
            end = next((k for k in range(i + 1, len(lines)) if _closes(lines[k], fence)), len(lines))
            if fence.startswith("`") and match[4].lower() in CODE_LANGUAGES:
                chapter.fenced_code += [(k + 1, lines[k]) for k in range(i + 1, end)]
            chapter.prose += [(k + 1, lines[k]) for k in range(i + 1, min(end + 1, len(lines)))]
            i = end + 1
            continue
        i += 1
    return chapter


def _prose_text(chapter: Chapter) -> str:
    return "\n".join(text for _, text in chapter.prose)


# ---------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------
PLOT_FUNCTIONS = {"subplots", "figure", "show", "subplot_mosaic", "imshow"}
PLOT_METHODS = {"plot", "imshow", "scatter", "hist", "bar", "barh", "heatmap", "matshow", "pcolormesh",
                "contour", "contourf", "errorbar", "fill_between", "violinplot", "boxplot"}


def _python(cell: CodeCell) -> ast.Module:
    # IPython magics and shell escapes are not Python: blank them so ast can parse the rest.
    source = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in cell.source)
    return ast.parse(source)


def _draws(node: ast.Call, drawing_functions: set[str]) -> bool:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id.startswith("plot_") or func.id in drawing_functions
    if isinstance(func, ast.Attribute):
        owner = func.value
        if isinstance(owner, ast.Name) and owner.id in {"plt", "pyplot"} and func.attr in PLOT_FUNCTIONS:
            return True
        if isinstance(owner, ast.Name) and owner.id in {"sns", "seaborn"}:
            return True
        if func.attr.startswith("plot_") or func.attr in PLOT_METHODS:
            return True
        # DataFrame.plot.bar(...)
        return isinstance(owner, ast.Attribute) and owner.attr == "plot"
    return False


def _top_level_calls(tree: ast.Module) -> list[ast.Call]:
    """The calls a cell makes when it runs (not those inside the functions it defines)."""
    calls, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Call):
            calls.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return calls


def _glued_figure_keys(tree: ast.Module) -> set[str]:
    keys = set()
    for node in _top_level_calls(tree):
        if isinstance(node.func, ast.Name) and node.func.id == "glue" and node.args:
            key = node.args[0]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                keys.add(key.value)
    return keys


def figure_problems(chapter: Chapter) -> list[str]:
    problems = []
    drawing_functions: set[str] = set()
    glue_figures = {d.argument: d for d in chapter.directives if d.name == "glue:figure"}
    for cell in chapter.code_cells:
        tree = _python(cell)
        for node in ast.walk(tree):  # the chapter's own drawing helpers
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(c, ast.Call) and _draws(c, drawing_functions) for c in ast.walk(node)):
                drawing_functions.add(node.name)
        if not any(_draws(call, drawing_functions) for call in _top_level_calls(tree)):
            continue
        tags = set(cell.metadata.get("tags") or [])
        if tags & {"remove-cell", "remove-output"}:
            continue
        if _glued_figure_keys(tree) & set(glue_figures):
            continue
        figure = (cell.metadata.get("mystnb") or {}).get("figure") or {}
        if not str(figure.get("caption") or "").strip():
            problems.append(f"line {cell.line}: a cell that draws a figure has no mystnb figure caption")
        elif not figure.get("name"):
            problems.append(f"line {cell.line}: a captioned figure has no name to cite it by")
    for directive in chapter.directives:
        if directive.name in {"figure", "glue:figure"}:
            if not any(line.strip() for line in directive.body):
                problems.append(f"line {directive.line}: a {{{directive.name}}} has no caption")
            if not directive.options.get("name"):
                problems.append(f"line {directive.line}: a {{{directive.name}}} has no :name:")
    return problems


HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
BULLET = re.compile(r"^[-*]\s+\S")
CROSS_REFERENCE = re.compile(r"\{(ref|doc|prf:ref|numref)\}`[^`]+`")
WHERE_NEXT = "**Where this leads.**"


def summary_problems(chapter: Chapter) -> list[str]:
    headings = [(k, line, HEADING.match(text)) for k, (line, text) in enumerate(chapter.prose)]
    headings = [(k, line, m[1], m[2]) for k, line, m in headings if m]
    summaries = [(k, line) for k, line, level, title in headings if level == "##" and title == "Summary"]
    if len(summaries) != 1:
        return [f"the chapter has {len(summaries)} '## Summary' sections, not one"]
    (start, line), problems = summaries[0], []
    titles = [title for _, _, level, title in headings if level == "##"]
    position = titles.index("Summary")
    if "Exercises" in titles and titles.index("Exercises") < position:
        problems.append(f"line {line}: the Summary comes after the Exercises")
    predicted = [t for t in titles if re.match(r"What the .*predict", t)]
    if predicted and titles.index(predicted[0]) > position:
        problems.append(f"line {line}: the Summary comes before '{predicted[0]}'")
    end = next((k for k, _, level, _ in headings if k > start and len(level) <= 2), len(chapter.prose))
    body = chapter.prose[start + 1:end]
    # Top-level bullets, each with its indented continuation lines; then the closing paragraph.
    bullets, k = 0, 0
    while k < len(body):
        text = body[k][1]
        if not text.strip():
            k += 1
        elif BULLET.match(text):
            bullets += 1
            k += 1
            while k < len(body) and body[k][1].startswith((" ", "\t")) and body[k][1].strip():
                k += 1
        else:
            break
    low, high = SUMMARY_BULLETS
    if not low <= bullets <= high:
        problems.append(f"line {line}: the Summary has {bullets} bullets, not {low} to {high}")
    rest = [(n, text) for n, text in body[k:]]
    paragraph = []
    for n, text in rest:
        if not text.strip() and paragraph:
            break
        if text.strip():
            paragraph.append((n, text))
    trailing = [(n, t) for n, t in rest[len(paragraph):] if t.strip()] if paragraph else []
    joined = " ".join(t.strip() for _, t in paragraph)
    if not joined.startswith(WHERE_NEXT):
        problems.append(f"line {line}: the bullets are not followed by a paragraph opening with "
                        f"'{WHERE_NEXT}'")
    elif not CROSS_REFERENCE.search(joined):
        problems.append(f"line {paragraph[0][0]}: '{WHERE_NEXT}' names no chapter by a cross-reference")
    other = [n for n, t in rest if t.strip() and (n, t) not in paragraph]
    if paragraph and (other or trailing):
        problems.append(f"line {(other or [trailing[0][0]])[0]}: the Summary holds more than its bullets "
                        f"and its '{WHERE_NEXT}' paragraph")
    return problems


def proof_problems(chapter: Chapter) -> list[str]:
    problems = []
    for directive in chapter.directives:
        if directive.name != "prf:proof":
            continue
        length = sum(1 for line in directive.body if line.strip())
        classes = str(directive.options.get("class", "")).split()
        if length > MAX_OPEN_PROOF_LINES and "dropdown" not in classes:
            problems.append(f"line {directive.line}: a proof of {length} lines is open "
                            f"(more than {MAX_OPEN_PROOF_LINES} needs ':class: dropdown')")
    return problems


def code_line_problems(chapter: Chapter) -> list[str]:
    problems = []
    lines = [(cell.line + k, text) for cell in chapter.code_cells for k, text in enumerate(cell.source)]
    for number, text in sorted(lines + chapter.fenced_code):
        if len(text) > MAX_CODE_LINE:
            problems.append(f"line {number}: a code line of {len(text)} characters (at most {MAX_CODE_LINE})")
    return problems


# The letters book/notation.md reserves: encoder p(z|x), decoder q(x|z), prior r(z). A chapter
# without a Notation box may not write the encoder with q, the decoder with p, or call p(z) a prior.
_SUB = r"(?:_\{[^{}]*\}|_\\?[A-Za-z]+|_[A-Za-z0-9])?"
_OPEN = r"\s*(?:\\left|\\big|\\Big|\\bigl|\\Bigl)?\("
_Z = r"(?:\\mathbf\s*|\\boldsymbol\s*|\\bm\s*)?\{?[zZ]\}?" + _SUB
_BAR = r"(?:\||\\mid|\\vert|\\middle\|)"
FORBIDDEN_LETTERS = {
    "the encoder written with q": re.compile(r"(?<![\\A-Za-z])[qQ]" + _SUB + _OPEN + r"\s*" + _Z
                                             + r"[^()|]*?" + _BAR),
    "the decoder written with p": re.compile(r"(?<![\\A-Za-z])p" + _SUB + _OPEN + r"\s*(?:\\mathbf\s*)?[xX]"
                                             + _SUB + r"[^()|]*?" + _BAR + r"[^()]*?(?<![A-Za-z\\])[zZ]"),
    "the prior written with p": re.compile(r"\bprior\b[^.$]{0,20}\$?\s*[pP]" + _SUB + _OPEN + r"\s*" + _Z),
}


def notation_problems(chapter: Chapter) -> list[str]:
    if any(d.name == "admonition" and d.argument.strip() == NOTATION_BOX_TITLE for d in chapter.directives):
        return []
    problems = []
    for number, text in chapter.prose:
        for what, pattern in FORBIDDEN_LETTERS.items():
            for match in pattern.finditer(text):
                problems.append(f"line {number}: {what}, {match[0]!r}, and no '{NOTATION_BOX_TITLE}' box")
    return problems


EXERCISE_TITLE = re.compile(r"^(" + "|".join(EXERCISE_KINDS) + r") (★{1,3})(?::\s+\S.*)?$")


def exercise_problems(chapter: Chapter) -> list[str]:
    exercises = [d for d in chapter.directives if d.name == "exercise"]
    problems, kinds = [], set()
    for exercise in exercises:
        if match := EXERCISE_TITLE.match(exercise.argument.strip()):
            kinds.add(match[1])
        else:
            problems.append(f"line {exercise.line}: the exercise's title {exercise.argument.strip()!r} does not "
                            f"open with its kind ({', '.join(EXERCISE_KINDS)}) and one to three stars")
    if exercises and not kinds & set(HANDS_ON_KINDS):
        problems.append(f"no exercise is of kind {' or '.join(HANDS_ON_KINDS)}")
    if not exercises:
        problems.append("the chapter has no exercise")
    return problems


RULES = {
    "figure-captions": figure_problems,
    "summary": summary_problems,
    "folded-proofs": proof_problems,
    "code-lines": code_line_problems,
    "notation": notation_problems,
    "exercises": exercise_problems,
}


def problems_of(path: Path) -> dict[str, list[str]]:
    chapter = read_chapter(path)
    return {rule: check(chapter) for rule, check in RULES.items()}


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if c.stem in CONVERTED], ids=lambda c: c.stem[:2])
def test_converted_chapter_follows_the_convention(chapter, rule):
    problems = RULES[rule](read_chapter(chapter))
    assert not problems, f"{chapter.name} breaks '{rule}':\n" + "\n".join(problems)


def test_converted_names_real_chapters():
    assert CONVERTED <= {c.stem for c in CHAPTERS}, CONVERTED - {c.stem for c in CHAPTERS}


def test_every_chapter_is_converted():
    assert CONVERTED == {c.stem for c in CHAPTERS}, sorted({c.stem for c in CHAPTERS} - CONVERTED)


# Each control breaks one rule in a copy of a converted chapter.
def _break_figure(text: str) -> str:
    return text + "\n```{code-cell} ipython3\nfig, ax = plt.subplots()\nplt.show()\n```\n"


def _break_summary(text: str) -> str:
    return text.replace("\n## Summary\n", "\n## Recap\n", 1)


def _break_proof(text: str) -> str:
    return re.sub(r"(\{prf:proof\}[^\n]*\n):class: dropdown\n", r"\1", text, count=1)


def _break_code_line(text: str) -> str:
    return text + "\n```{code-cell} ipython3\nx = " + "1 + " * 24 + "1\n```\n"


def _break_notation(text: str) -> str:
    text = re.sub(r"(?ms)^(`{3,}|:{3,})\{admonition\} " + NOTATION_BOX_TITLE + r".*?^\1\s*$", "", text)
    return text + "\nThe encoder $q_\\phi(z \\mid x)$ of the paper.\n"


def _break_exercises(text: str) -> str:
    return re.sub(r"(\{exercise\}) [^\n]*", r"\1", text, count=1)


CONTROLS = {"figure-captions": _break_figure, "summary": _break_summary, "folded-proofs": _break_proof,
            "code-lines": _break_code_line, "notation": _break_notation, "exercises": _break_exercises}


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_fails_on_its_control(rule, tmp_path):
    example = ROOT / "chapters" / f"{sorted(CONVERTED)[0]}.md"
    original = example.read_text()
    broken = CONTROLS[rule](original)
    assert broken != original, f"the control of '{rule}' changed nothing in {example.name}"
    copy = tmp_path / example.name
    copy.write_text(original)
    assert not RULES[rule](read_chapter(copy))
    copy.write_text(broken)
    assert RULES[rule](read_chapter(copy)), f"'{rule}' missed its control"


def test_notation_box_alone_is_not_needed_by_a_chapter_in_the_book_letters(tmp_path):
    """Without its box, a chapter in the notation page's letters still passes; with the paper's
    letters it fails (the control above)."""
    example = ROOT / "chapters" / f"{sorted(CONVERTED)[0]}.md"
    without_box = re.sub(r"(?ms)^(`{3,}|:{3,})\{admonition\} " + NOTATION_BOX_TITLE + r".*?^\1\s*$", "",
                         example.read_text())
    copy = tmp_path / example.name
    copy.write_text(without_box)
    assert not notation_problems(read_chapter(copy))


if __name__ == "__main__":
    wanted = sys.argv[1:]
    for path in CHAPTERS:
        if wanted and path.name[:2] not in wanted:
            continue
        found = problems_of(path)
        mark = "converted" if path.stem in CONVERTED else "not converted"
        print(f"{path.stem} ({mark}): " + ", ".join(f"{rule} {len(p)}" for rule, p in found.items()))
        for rule, problems in found.items():
            for problem in problems:
                print(f"  {rule}: {problem}")
