"""Write the API reference of ``infobounds``: ``book/api/<page>.rst``, one page per subpackage.

Generated at set-up (like the index of theorems), so it cannot fall behind the package: every
public module (no leading underscore in its dotted name) gets a section on its subpackage's page
(``infobounds.bounds.mi`` on ``bounds.rst``; the top-level modules on ``infobounds.rst``) with
an ``autosummary`` table and an ``automodule`` entry for each of its public classes, functions
and constants. A module's public names are its ``__all__`` where it has one, else the names
without a leading underscore; either way only the objects *defined* in that module (a name a
package re-exports is documented once, in the module that defines it, which is the target the
chapters' ``{py:func}`` and ``{py:class}`` roles name). Sphinx renders the numpydoc docstrings
with autodoc and napoleon, and their ``:math:`` with the book's MathJax.

The pages are reStructuredText: autodoc parses what it generates as the surrounding document's
markup, and docstrings are reST.

Usage: python scripts/api_reference.py [OUT_DIR]   (default: book/api)
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "infobounds"

# The page of each subpackage, in the order of the table of contents; the top-level modules go on
# the package's own page. A new subpackage needs a line here and an entry in _toc.yml.
PAGES = {
    PACKAGE: "Core modules",
    f"{PACKAGE}.data": "Data",
    f"{PACKAGE}.bounds": "Bounds and estimators",
    f"{PACKAGE}.models": "Models",
    f"{PACKAGE}.training": "Training",
    f"{PACKAGE}.estimators": "Estimators that train a network",
    f"{PACKAGE}.optim": "Optimisers",
    f"{PACKAGE}.metrics": "Metrics",
}


def public_modules() -> list[str]:
    """Every importable module of the package whose dotted name has no part starting with ``_``
    (``infobounds.__main__``, the command line, is included by name)."""
    package = importlib.import_module(PACKAGE)
    names = [PACKAGE]
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{PACKAGE}."):
        parts = info.name.split(".")[1:]
        if all(not part.startswith("_") for part in parts) or info.name == f"{PACKAGE}.__main__":
            names.append(info.name)
    return sorted(names)


def page_of(module: str) -> str:
    """The page a module is documented on: its subpackage, or the package's own page."""
    parts = module.split(".")
    if len(parts) >= 2 and f"{PACKAGE}.{parts[1]}" in PAGES:
        return f"{PACKAGE}.{parts[1]}"
    if len(parts) >= 2 and importlib.util.find_spec(f"{PACKAGE}.{parts[1]}").submodule_search_locations:
        raise SystemExit(f"{PACKAGE}.{parts[1]} is a subpackage without an API page: add it to PAGES in "
                         f"{Path(__file__).name} and to _toc.yml")
    return PACKAGE


def module_constants(module) -> list[str]:
    """Upper-case names assigned at the top level of the module's source (``MODELS``, ``ESTIMATORS``)."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return []
    names = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            if isinstance(target, ast.Name) and target.id.isupper() and not target.id.startswith("_"):
                names.append(target.id)
    return names


def public_members(module_name: str) -> tuple[list[str], list[str]]:
    """(classes and functions, constants) defined in the module and public, in source order."""
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    objects = []
    for name, obj in vars(module).items():
        if name.startswith("_") or (exported is not None and name not in exported):
            continue
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == module_name:
            objects.append((inspect.getsourcelines(obj)[1], name))
    constants = [n for n in module_constants(module) if exported is None or n in exported]
    return [name for _, name in sorted(objects)], constants


def section(module_name: str) -> list[str]:
    objects, constants = public_members(module_name)
    title = f"``{module_name}``"
    out = [title, "-" * len(title), "", f".. currentmodule:: {module_name}", ""]
    if objects or constants:
        out += [".. autosummary::", "   :nosignatures:", ""]
        out += [f"   {name}" for name in objects + constants]
        out.append("")
    out += [f".. automodule:: {module_name}"]
    out += [f"   :members: {', '.join(objects)}" if objects else "   :no-members:", "   :undoc-members:",
            "   :show-inheritance:", "   :member-order: bysource", ""]
    # autodoc documents a constant among a module's members only when it has a doc comment (#:);
    # autodata documents it either way.
    for name in constants:
        value = repr(getattr(importlib.import_module(module_name), name))
        out += [f".. autodata:: {module_name}.{name}"] + (["   :no-value:"] if len(value) > 100 else []) + [""]
    return out


def page_file(page: str) -> str:
    """``bounds`` for ``infobounds.bounds``, ``package`` for ``infobounds`` (no dots: the table of
    contents would read a dot as a file extension)."""
    return "package" if page == PACKAGE else page.rsplit(".", 1)[1]


def write(out_dir: Path) -> list[Path]:
    by_page: dict[str, list[str]] = {page: [] for page in PAGES}
    for module in public_modules():
        by_page[page_of(module)].append(module)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for page, modules in by_page.items():
        title = PAGES[page]
        lines = [f".. Generated by scripts/{Path(__file__).name} at set-up; edit the docstrings, not this file.", "",
                 f".. _api-{page_file(page)}:", "", title, "=" * len(title), ""]
        for module in modules:
            lines += section(module)
        path = out_dir / f"{page_file(page)}.rst"
        path.write_text("\n".join(lines).rstrip() + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "book" / "api"):
        print(path)
