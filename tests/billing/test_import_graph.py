"""Billing's modules import each other in one direction (issue 10, "Structure"): the provider interface at
the bottom, the offline provider's bookkeeping above it, and no circle anywhere in aerospec.billing.

Read from the source with ast, every import counts, including those inside functions: a deferred import
hides a circle from Python, not from the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

import aerospec.billing

PACKAGE = "aerospec.billing"
ROOT = Path(aerospec.billing.__file__).parent
# The blueprint's wiring: create_app calls attach_routes, which imports the route modules that take
# `bp` from the package (the capability layout every package follows); it is not a dependency of theirs.
WIRING = {(PACKAGE, "attach_routes")}


def _module_name(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def _imports(tree: ast.AST, modules: set[str], name: str) -> set[str]:
    """The package's modules that `name` imports, anywhere in its source."""
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and (name, node.name) in WIRING
        for inner in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                base = PACKAGE if node.level == 1 else None
                module = f"{base}.{node.module}" if base else node.module
            else:
                module = node.module
            for alias in node.names:
                if f"{module}.{alias.name}" in modules:
                    found.add(f"{module}.{alias.name}")  # from aerospec.billing import invoices
                elif module in modules:
                    found.add(module)  # from aerospec.billing.invoices import X, from aerospec.billing import bp
    found.discard(name)
    return found


def billing_import_graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in ROOT.glob("*.py")}
    modules = set(paths)
    return {name: _imports(ast.parse(path.read_text()), modules, name) for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the modules along it (first = last), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                return stack[stack.index(dep) :] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_circle_and_passes_a_line():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_deferred_imports():
    tree = ast.parse("def f():\n    from aerospec.billing import invoices\n")
    assert _imports(tree, {f"{PACKAGE}.invoices"}, f"{PACKAGE}.x") == {f"{PACKAGE}.invoices"}


def test_billing_has_no_import_circle():
    graph = billing_import_graph()
    assert len(graph) > 10, "the billing modules were not found"
    cycle = find_cycle(graph)
    assert cycle is None, "billing modules import each other in a circle: " + " → ".join(
        name.removeprefix(f"{PACKAGE}.") for name in cycle
    )


def test_the_provider_interface_is_at_the_bottom_and_the_offline_bookkeeping_above_it():
    graph = billing_import_graph()
    providers, models = f"{PACKAGE}.providers", f"{PACKAGE}.models"
    assert graph[providers] <= {models}, "the provider interface imports no billing module but the models"
    for name in ("invoices", "subscriptions", "offline_checkout", "offline_cycle"):
        assert providers in graph[f"{PACKAGE}.{name}"], name
    bookkeeping = {f"{PACKAGE}.offline_checkout", f"{PACKAGE}.offline_cycle"}
    for name in ("providers", "invoices", "subscriptions"):
        assert not graph[f"{PACKAGE}.{name}"] & bookkeeping, f"{name} imports the offline bookkeeping above it"
