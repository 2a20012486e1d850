"""The package's import layering: no module imports from a layer above its own.

Every ``import`` and ``from ... import`` in ``src/infobounds`` is read with :mod:`ast`, at module
level and inside functions alike (a lazy import is a dependency too), and each ``infobounds``
module is given the layer of its first component (``infobounds.bounds.mi`` is in ``bounds``).
A module may import from its own layer and from any layer below. The layers, lowest first:

0. settings -- ``profiles``, ``validation`` and the package's ``__init__`` (which runs before any
   of its modules, so it may import nothing above this layer): stdlib, numpy and torch only.
1. reporting -- ``results``, ``metric_catalogue``, ``plotting``: numbers and arrays in, files and
   figures out. They sit this low so that they import no model, metric or training code
   (``architecture.md``: "plotting and results import no model").
2. core -- ``core`` (the contract between a model and the loop: ``LossTerms``, ``Player``,
   ``Update``, ``Trainable``; it imports only torch, checked below), ``nets``, ``optim``.
3. bounds -- closed forms and the variational bounds' objectives and critics.
4. data -- data sets and streams (the synthetic sources use ``bounds.gaussian``'s closed forms).
5. models -- one module per method; models compose models of the same layer.
6. training -- the one loop, checkpoints, history.
7. estimators, metrics -- quantities that train a network with ``fit`` (MI, TC and CMI estimators,
   the Frechet and coherence classifiers) and the evaluation of trained models. In addition,
   ``metrics`` does not import ``training`` itself: a metric that needs a trained network gets it
   from ``estimators``.
8. recipes, ``__main__`` -- the CLI and the recipes it trains.

A module not placed in a layer fails the test, so a new top-level module must be placed here.

The estimators that trained their network from ``bounds``, ``models`` or ``metrics`` (``estimate_mi``,
``estimate_total_correlation``, ``estimate_conditional_mi``, the Frechet and coherence classifiers) were
listed in ``KNOWN_UPWARD`` until they moved to ``infobounds/estimators/`` (issue 20, part 2); the list
is empty now, and ``test_no_known_upward_imports_remain`` checks that no module of ``bounds``,
``models`` or ``metrics`` imports ``training`` again, lazily or not, whatever ``KNOWN_UPWARD`` says.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import infobounds

PACKAGE = "infobounds"

LAYERS: list[tuple[str, set[str]]] = [
    ("settings", {"", "profiles", "validation"}),  # "" is the package's own __init__
    ("reporting", {"results", "metric_catalogue", "plotting"}),
    ("core", {"core", "nets", "optim"}),
    ("bounds", {"bounds"}),
    ("data", {"data"}),
    ("models", {"models"}),
    ("training", {"training"}),
    ("estimators and metrics", {"estimators", "metrics"}),
    ("recipes and CLI", {"recipes", "__main__"}),
]

# Imports that break a rule beyond the order of the layers: (importer's component, imported's).
FORBIDDEN_PAIRS = {("metrics", "training")}

# Imports allowed against the layering, each until a named issue moves it: (importing module,
# enclosing function, imported module). Empty since issue 20, part 2 moved the estimators that train
# a network with fit to infobounds/estimators/.
KNOWN_UPWARD: set[tuple[str, str, str]] = set()

SOURCE = Path(infobounds.__file__).resolve().parent


@dataclass(frozen=True)
class ImportEdge:
    importer: str  # dotted module name
    function: str  # innermost enclosing function, "" at module level
    imported: str  # dotted module name
    line: int

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.importer, self.function, self.imported)

    def __str__(self) -> str:
        where = f"in {self.function}()" if self.function else "at module level"
        return (f"{self.importer} (layer {layer_name(self.importer)}) imports {self.imported} "
                f"(layer {layer_name(self.imported)}) {where}, line {self.line}")


def module_name(path: Path, source: Path = SOURCE) -> str:
    parts = list(path.relative_to(source.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def component(module: str) -> str:
    """The layer-giving part of a dotted name: ``infobounds.bounds.mi`` -> ``bounds``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_index(module: str) -> int:
    for index, (_, members) in enumerate(LAYERS):
        if component(module) in members:
            return index
    raise LookupError(f"{module} is in no layer: place {component(module)!r} in LAYERS of tests/test_layering.py")


def layer_name(module: str) -> str:
    return LAYERS[layer_index(module)][0]


def package_modules(source: Path = SOURCE) -> dict[str, Path]:
    return {module_name(p, source): p for p in sorted(source.rglob("*.py"))}


def import_edges(path: Path, module: str, known: set[str]) -> list[ImportEdge]:
    """Every import of an ``infobounds`` module in ``path``, with its innermost enclosing function."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    edges: list[ImportEdge] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # a relative import, resolved against this module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from infobounds.x import y" imports the module infobounds.x.y when there is one
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        for target in dict.fromkeys(targets):  # one edge per imported module and statement
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                edges.append(ImportEdge(module, function, target, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(path.read_text(), filename=str(path)), "")
    return edges


def all_edges(source: Path = SOURCE) -> list[ImportEdge]:
    modules = package_modules(source)
    return [edge for module, path in modules.items() for edge in import_edges(path, module, set(modules))]


def is_violation(edge: ImportEdge) -> bool:
    upward = layer_index(edge.imported) > layer_index(edge.importer)
    return upward or (component(edge.importer), component(edge.imported)) in FORBIDDEN_PAIRS


def test_every_module_has_a_layer():
    unplaced = sorted({component(m) for m in package_modules()} - set().union(*(members for _, members in LAYERS)))
    assert not unplaced, f"modules in no layer (place them in LAYERS): {unplaced}"


def test_no_module_imports_from_a_higher_layer():
    edges = all_edges()
    assert len(edges) > 100  # the walk found the package's imports (about 240 statements)
    violations = [edge for edge in edges if is_violation(edge) and edge.key not in KNOWN_UPWARD]
    assert not violations, "imports against the layering:\n" + "\n".join(map(str, violations))


def test_known_upward_imports_are_exactly_listed():
    """Every entry of KNOWN_UPWARD names an import that is there and breaks the layering (so the
    list cannot hide a new import under an old entry, nor keep an entry whose import has moved)."""
    present = {edge.key for edge in all_edges() if is_violation(edge)}
    moved = KNOWN_UPWARD - present
    assert not moved, f"KNOWN_UPWARD lists imports that are gone or allowed; remove them: {sorted(moved)}"


def test_no_known_upward_imports_remain():
    """No module of bounds, models or metrics imports the training loop, at module level or inside a
    function (issue 20, part 2 moved the functions that did to infobounds.estimators); an entry in
    KNOWN_UPWARD does not excuse one."""
    edges = all_edges()
    assert {component(edge.importer) for edge in edges} >= {"bounds", "models", "metrics", "estimators"}
    trainers = [edge for edge in edges if component(edge.importer) in {"bounds", "models", "metrics"}
                and component(edge.imported) == "training"]
    assert not trainers, "import the training loop (train in infobounds.estimators):\n" + "\n".join(map(str, trainers))
    # control: the walk does see the estimators' imports of the training loop
    assert any(component(edge.importer) == "estimators" and component(edge.imported) == "training" for edge in edges)


def test_core_imports_only_torch_and_the_standard_library():
    import sys

    tree = ast.parse((SOURCE / "core.py").read_text())
    roots = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    roots |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    others = sorted(r for r in roots if r != "torch" and r not in sys.stdlib_module_names)
    assert not others, f"infobounds.core imports {others}; it may import only torch and the standard library"

