"""fmbook's modules import each other without a circle, and none imports from the package face.

Only imports that run when a module is imported count (top level, including inside a
top-level ``try``, ``if`` or class body; not ``if TYPE_CHECKING:``): an import inside a
function is a deliberate lazy import and may point anywhere. "The package face" is
``fmbook/__init__.py``: a submodule may import a sibling module (``from . import config``)
but not a name that ``__init__`` re-exports (``from . import __version__``,
``from fmbook import start``), which would make the face and its parts depend on each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fmbook"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module is imported."""
    found = []

    def visit(body):
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append(node)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                    visit(block)
            elif isinstance(node, (ast.With, ast.ClassDef)):
                visit(node.body)

    visit(tree.body)
    return found


def _resolve(module: str, node: ast.ImportFrom) -> str | None:
    """The absolute name of the module ``from <...> import`` reads from (None outside fmbook)."""
    if node.level == 0:
        return node.module if node.module and node.module.split(".")[0] == "fmbook" else None
    base = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(module imported from, name imported or None, line) for each top-level fmbook import."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    out = []
    for node in _top_level_imports(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, None, node.lineno) for alias in node.names if alias.name.split(".")[0] == "fmbook"]
        else:
            source = _resolve(module, node)
            if source is not None:
                out += [(source, alias.name, node.lineno) for alias in node.names]
    return out


def _graph() -> dict[str, set[str]]:
    """Module -> the fmbook modules it imports at import time."""
    graph = {}
    for module in MODULES:
        edges = set()
        for source, name, _ in _imports(module):
            if name is not None and f"{source}.{name}" in MODULES:
                edges.add(f"{source}.{name}")  # `from . import config`: the submodule itself
            elif source in MODULES:
                edges.add(source)
        edges.discard(module)
        graph[module] = edges
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_package_and_its_subpackages_are_found():
    assert {"fmbook", "fmbook.config", "fmbook.chapters", "fmbook.exercises"} <= set(MODULES)


def test_submodule_imports_are_resolved():
    graph = _graph()
    assert "fmbook.config" in graph["fmbook.cli"]  # from . import config
    assert "fmbook.exercises" in graph["fmbook.chapters.ch05_adversarial"]  # from ..exercises import ...


def test_no_import_cycle_between_fmbook_modules():
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_circle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_submodule_imports_from_the_package_face():
    upward = []
    for module in MODULES:
        if module == "fmbook":
            continue
        for source, name, line in _imports(module):
            if source == "fmbook" and (name is None or f"fmbook.{name}" not in MODULES):
                what = "import fmbook" if name is None else f"from fmbook import {name}"
                upward.append(f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}: {what}")
    assert not upward, ("these import a name from fmbook/__init__.py; import it from the submodule "
                        "that defines it instead: " + "; ".join(upward))
