"""The import graph of a package, read from the source with ast, and a circle finder (issue 10, "Structure").

Every import counts, including those inside functions: a deferred import hides a circle from Python,
not from the design. Only the imports inside the wiring functions are left out (`wiring`: create_app and
each package's `attach_routes`): the factory imports every route module once to register it, and those
modules take `bp` from their package, so that import is not a dependency of the package.
"""

from __future__ import annotations

import ast
from pathlib import Path


def module_name(root: Path, package: str, path: Path) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(
    tree: ast.AST,
    modules: set[str],
    name: str,
    *,
    is_package: bool = False,
    wiring: frozenset[tuple[str, str]] = frozenset(),
) -> set[str]:
    """The modules of `modules` that module `name` imports, anywhere in its source."""
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and (name, node.name) in wiring
        for inner in ast.walk(node)
    }
    here = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            for alias in node.names:
                if f"{module}.{alias.name}" in modules:
                    found.add(f"{module}.{alias.name}")  # from aerospec.billing import invoices
                elif module in modules:
                    found.add(module)  # from aerospec.billing.invoices import X, from aerospec.billing import bp
    found.discard(name)
    return found


def import_graph(package, wiring: frozenset[tuple[str, str]] = frozenset()) -> dict[str, set[str]]:
    """{module: the package's modules it imports} for every module of an imported package, subpackages included."""
    root = Path(package.__file__).parent
    paths = {module_name(root, package.__name__, path): path for path in root.rglob("*.py")}
    modules = set(paths)
    return {
        name: imports(ast.parse(path.read_text()), modules, name, is_package=path.stem == "__init__", wiring=wiring)
        for name, path in paths.items()
    }


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


def tangles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of modules that reach each other (strongly connected components of two or more)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in graph.get(node, ()):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def reaches(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module `start` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for dep in graph.get(todo.pop(), ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen
