"""The book's own Sphinx extension: autodoc adapted to the docstrings of ``infobounds`` (the API
reference, book/api/), and the whole-book PDF (the single-page build it is printed from, the
download menu that offers it).

**The docstrings' conventions** (:func:`adapt_docstring`, run before napoleon reads the numpydoc
sections):

* A ``Parameters``/``Attributes`` entry is ``name : what it is``: the text after the colon is a
  description, never a type (the signature carries the types). Napoleon would print it as a type,
  so the entry becomes ``name`` with the text as its indented description.
* Prose after the entries, at the entries' indentation, ends the section in these docstrings; to
  napoleon it would be more entries, so it gets a ``Notes`` heading.
* ``Returns``, ``Yields`` and ``Raises`` are sentences, not napoleon's ``name : type`` lists: the
  book's ``_config.yml`` makes them napoleon's generic sections (``napoleon_custom_sections``), a
  heading over the text as written.
* Plain-text maths uses ``|x|`` for absolute values and cardinalities and ``(B, *shape)`` for
  shapes; reST would read the first as a substitution and the second as the start of an emphasis,
  so those bars and stars are escaped (never inside literals, roles or ``.. math::`` blocks).
* A constant without a doc comment would show its type's docstring (``dict(**kwargs) -> ...``);
  it shows none.

**Names** (:func:`resolve`). The API reference documents each object once, under the module that
defines it (``infobounds.bounds.mi.estimate_mi``), while chapters and docstrings name it the way it
is imported (``infobounds.bounds.estimate_mi``, or ``estimate_mi`` inside its package). When
Sphinx's Python domain finds no target, this looks the name up in the package itself: a dotted
path, absolute or relative to the module being documented, is imported and followed to the object,
whose ``__module__`` and ``__qualname__`` give the documented entry; a name that still has no target
resolves to the one documented object whose full name ends with its last part, when exactly one
does: in the module being documented or else in the package for a short name, in the module named
for a dotted one (constants such as ``SMOKE_EXAMPLES`` or ``infobounds.bounds.ESTIMATORS``, which
carry no ``__module__``; a method named in a summary line). References into other
libraries (torch, numpy, the standard library: no inventory of theirs is reachable offline) are
left as text without a warning (:func:`external`). Anything else stays unresolved, so the strict
build (``-n``) fails on a reference to something in ``infobounds`` that is not documented.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import inspect
import re
import typing

from sphinx.util.docstrings import prepare_docstring

PACKAGE = "infobounds"

# --- the docstrings' conventions ------------------------------------------------------------

NAMED_SECTIONS = {"Parameters", "Other Parameters", "Attributes", "Keyword Arguments", "Keyword Args"}
UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
NAMES = r"\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*"
ENTRY = re.compile(rf"^(?P<names>{NAMES})\s+:\s+(?P<text>\S.*)$")
BARE_NAMES = re.compile(rf"^{NAMES}\s*$")
# Spans where reST markup is already deliberate: ``literals``, :roles:`...`, `interpreted`.
MARKED = re.compile(r"``.+?``|:[\w:+-]+:`[^`]*`|`[^`]*`_{0,2}")
# "(B, *input_shape)": a star before a name that closes a parenthesis is Python's unpacking.
STARRED_SHAPE = re.compile(r"(\([^()]*?, )\*(\w+\))")


def _is_header(lines: list[str], i: int) -> bool:
    return bool(lines[i].strip()) and i + 1 < len(lines) and bool(UNDERLINE.match(lines[i + 1]))


def _escape_plain(text: str) -> str:
    """Escape ``|`` and the star of a starred shape outside marked-up spans of one line."""
    out, last = [], 0
    for match in MARKED.finditer(text):
        out.append(STARRED_SHAPE.sub(r"\1\\*\2", text[last:match.start()]).replace("|", r"\|"))
        out.append(match.group())
        last = match.end()
    out.append(STARRED_SHAPE.sub(r"\1\\*\2", text[last:]).replace("|", r"\|"))
    return "".join(out)


def _escape(lines: list[str]) -> list[str]:
    """:func:`_escape_plain` on every line outside directives' bodies (``.. math::``, code) and
    tables."""
    out, block_indent = [], None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if block_indent is not None and (not line.strip() or indent > block_indent):
            out.append(line)
            continue
        block_indent = None
        stripped = line.strip()
        if stripped.startswith(".. ") or stripped.endswith("::"):
            block_indent = indent
            out.append(line)
        elif stripped[:1] in "|+" and stripped[-1:] in "|+":
            out.append(line)  # a grid table row
        else:
            out.append(_escape_plain(line))
    return out


def adapt_docstring(app, what, name, obj, options, lines):
    """Rewrite a docstring's lines in place to the conventions above, before napoleon reads them."""
    if what in ("data", "attribute") and lines and not inspect.isclass(obj) and not inspect.isroutine(obj):
        type_doc = prepare_docstring(type(obj).__doc__ or "")
        if [l.strip() for l in lines if l.strip()] == [l.strip() for l in type_doc if l.strip()]:
            lines[:] = []
            return
    out, i, section = [], 0, None
    while i < len(lines):
        if _is_header(lines, i):
            section = lines[i].strip()
            out += lines[i:i + 2]
            i += 2
            continue
        line = lines[i]
        if section in NAMED_SECTIONS and line[:1].strip():
            if match := ENTRY.match(line):
                out += [match["names"], f"    {match['text']}"]
                i += 1
                continue
            if not BARE_NAMES.match(line) and i > 0 and not lines[i - 1].strip():
                out += ["Notes", "-----"]
                section = "Notes"
        out.append(line)
        i += 1
    lines[:] = _escape(out)


# --- names ---------------------------------------------------------------------------------------

def locate(path: str):
    """The object a dotted path names (its longest importable module prefix, then attributes), or None;
    also what tests/test_chapter_api_links.py resolves the chapters' roles with."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def _canonical(obj) -> str | None:
    if inspect.ismodule(obj):
        return obj.__name__
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str) and module.startswith(PACKAGE):
        return f"{module}.{qualname}"
    return None


def candidates(target: str, module: str | None, documented) -> list[str]:
    """Documented full names that ``target`` (written in ``module``) may mean, best first."""
    found = []
    for prefix in ([module] if module else []) + [""]:
        path = f"{prefix}.{target}" if prefix else target
        if path.split(".")[0] == PACKAGE and (obj := locate(path)) is not None:
            if (name := _canonical(obj)) and name in documented:
                found.append(name)
    # The one documented object whose name ends with the target's last part: for a short name within
    # the module first (a method named in a summary line, outside its class), then anywhere in the
    # package; for a dotted name within the module it names (a re-exported constant).
    head, _, last = target.rpartition(".")
    suffix = "." + last
    scopes = [head] if head.split(".")[0] == PACKAGE else ([module] if module else []) + [PACKAGE]
    for scope in scopes:
        ends = {name for name in documented if name.startswith(scope + ".") and name.endswith(suffix)}
        if len(ends) == 1:
            found.extend(ends)
            break
    return found


def resolve(app, env, node, contnode):
    """``missing-reference``: an ``infobounds`` name as imported, resolved to its entry."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    domain = env.get_domain("py")
    for name in candidates(target, node.get("py:module"), domain.objects):
        ref = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], name, node, contnode)
        if ref is not None:
            return ref
    return None


def external(target: str, module: str | None = None) -> bool:
    """Whether a Python reference that found no target names something outside ``infobounds``: a
    module other than ours that imports (``torch.Tensor``, ``contextlib.AbstractContextManager``),
    a builtin, or a type variable of a signature."""
    head = target.lstrip(".~").split(".")[0]
    if head == PACKAGE:
        obj = locate(target.lstrip(".~"))
        return isinstance(obj, typing.TypeVar)
    if hasattr(builtins, head):
        return True
    try:
        return importlib.util.find_spec(head) is not None
    except (ImportError, ValueError):
        return False


def quiet_external(app, domain, node):
    """``warn-missing-reference``: no warning for a reference into another library."""
    if domain is not None and domain.name == "py" and external(node["reftarget"], node.get("py:module")):
        return True
    return None


# --- the single-page build of the PDF --------------------------------------------------------------

def html_handlers_for_singlehtml(app):
    """``builder-inited``: the single-page builder renders every node the HTML builder renders.

    Sphinx looks a node's handlers up under the builder's name and falls back to its format
    (``html``) only when no extension registered any handler under that name; one that registers a
    ``singlehtml`` handler hides the ``html`` handlers of all the others (sphinx-proof's theorems
    then fail as unknown nodes). The missing ones are copied over.
    """
    if app.builder.name == "singlehtml":
        handlers = app.registry.translation_handlers
        for name, visit_depart in handlers.get("html", {}).items():
            handlers.setdefault("singlehtml", {}).setdefault(name, visit_depart)


def offer_book_pdf(app, pagename, templatename, context, doctree):
    """``html-page-context``, after the theme's buttons: the download menu of every page offers the
    whole book as a PDF (``infobounds_book_pdf``, a path under the site's root where the book and
    test commands copy the PDF after printing it: ``scripts/stage_book.py --pdf`` sets it; unset,
    the menu is left as it is). The single-page build that is printed gets no such entry."""
    target = app.config.infobounds_book_pdf
    if not target or app.builder.name != "html" or "pathto" not in context:
        return
    for button in context.get("header_buttons", []):
        if button.get("label") == "download-buttons":
            button["buttons"].append({
                "type": "link", "url": context["pathto"](target, 1), "text": "book .pdf",
                "tooltip": "Download the whole book as a PDF", "icon": "fas fa-book",
                "label": "download-book-pdf-button"})


def setup(app):
    app.add_config_value("infobounds_book_pdf", "", "html")
    app.setup_extension("sphinx.ext.napoleon")
    # Before napoleon (priority 500), which turns the numpydoc sections into fields.
    app.connect("autodoc-process-docstring", adapt_docstring, priority=400)
    app.connect("missing-reference", resolve)
    app.connect("warn-missing-reference", quiet_external)
    app.connect("builder-inited", html_handlers_for_singlehtml)
    # sphinx-book-theme assembles its header buttons at priority 501.
    app.connect("html-page-context", offer_book_pdf, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
