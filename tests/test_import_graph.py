"""No import circle anywhere in aerospec, and one home for limits below the capabilities that use it (issue 10,
"Structure").

The graph is read from the source with ast (tests/import_graph.py): every import counts, including those
inside functions, so deferring an import cannot hide a circle. Only create_app and the packages'
attach_routes (the factory's wiring) are left out.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import aerospec
from tests.import_graph import find_cycle, import_graph, imports, reaches, tangles

ROOT = Path(aerospec.__file__).parent
BLUEPRINT_PACKAGES = sorted(p.parent.name for p in ROOT.glob("*/__init__.py") if "def attach_routes" in p.read_text())
WIRING = frozenset({("aerospec", "create_app")} | {(f"aerospec.{p}", "attach_routes") for p in BLUEPRINT_PACKAGES})
LIMITS = ("aerospec.limits", "aerospec.limits.effective", "aerospec.limits.counters", "aerospec.limits.messages")
# What the limits home may stand on: the plan catalogue, models, and plumbing that imports no capability.
BELOW_LIMITS = {
    "aerospec.billing.plans",
    "aerospec.errors",
    "aerospec.extensions",
    "aerospec.models",
    "aerospec.observability",
    "aerospec.queueing",
    "aerospec.tenancy.permissions",
    "aerospec.tenancy.scoping",
}
# The capabilities that call the limits home (the four files that used to import each other, and the API).
USERS_OF_LIMITS = {
    "aerospec.billing.usage": {"aerospec.limits.counters", "aerospec.limits.effective", "aerospec.limits.messages"},
    "aerospec.tenancy.features": {"aerospec.limits.effective", "aerospec.limits.messages"},
    "aerospec.tenancy.services": {"aerospec.limits.effective", "aerospec.limits.messages"},
    "aerospec.configurations.services": {"aerospec.limits.counters", "aerospec.limits.effective"},
    "aerospec.api.views": {"aerospec.limits.counters", "aerospec.limits.effective"},
}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(aerospec, WIRING)


def test_the_cycle_finder_finds_a_circle_and_passes_a_line():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert tangles({"a": {"b"}, "b": {"a", "c"}, "c": set()}) == [{"a", "b"}]


def test_the_graph_sees_deferred_and_relative_imports_and_skips_only_the_wiring():
    deferred = ast.parse("def f():\n    from aerospec.billing import invoices\n")
    assert imports(deferred, {"aerospec.billing.invoices"}, "aerospec.billing.x") == {"aerospec.billing.invoices"}
    relative = ast.parse("from .plans import PLANS\nfrom . import models\n")
    modules = {"aerospec.billing.plans", "aerospec.billing.models"}
    assert imports(relative, modules, "aerospec.billing.usage") == modules
    wiring = ast.parse("def attach_routes():\n    from aerospec.billing import views\n")
    name = "aerospec.billing"
    skip = frozenset({(name, "attach_routes")})
    assert imports(wiring, {"aerospec.billing.views"}, name, is_package=True, wiring=skip) == set()


def test_every_blueprint_package_attaches_its_routes_from_the_factory():
    # revenue and admin (issue 13) are the 11th and 12th, feedback (issue 12) the 13th, analytics (issue 12) the 14th,
    # webhooks (issue 14) the 15th
    assert len(BLUEPRINT_PACKAGES) == 15, BLUEPRINT_PACKAGES
    factory = (ROOT / "__init__.py").read_text()
    assert "package.attach_routes()" in factory


def test_aerospec_has_no_import_circle(graph):
    assert len(graph) > 100, "the aerospec modules were not found"
    cycle = find_cycle(graph)
    assert cycle is None, "aerospec modules import each other in a circle: " + " → ".join(
        name.removeprefix("aerospec.") for name in cycle
    )


def test_the_limits_home_stands_only_on_plans_models_and_plumbing(graph):
    below = set().union(*(reaches(graph, name) for name in LIMITS)) - set(LIMITS)
    above = {name for name in below if name not in BELOW_LIMITS and not name.endswith(".models")}
    assert not above, f"the limits home imports modules above it: {sorted(above)}"


def test_the_capabilities_call_the_limits_home_and_it_calls_none_of_them(graph):
    for user, used in USERS_OF_LIMITS.items():
        assert used <= graph[user], f"{user} imports {sorted(used - graph[user])} no more"
        for name in LIMITS:
            assert user not in reaches(graph, name), f"{name} reaches {user}"
    assert "aerospec.configurations.quotas" not in graph, "the counters live in aerospec.limits.counters"


@pytest.mark.parametrize(
    "module", [*LIMITS, *USERS_OF_LIMITS, "aerospec.tenancy.models", "aerospec.configurations.models", "jobs.usage"]
)
def test_the_module_imports_on_its_own(module):
    """No circle at run time either: each module loads first in a fresh interpreter (no view is dragged in)."""
    done = subprocess.run(  # noqa: S603 - our interpreter on a module name from the list above
        [sys.executable, "-c", f"import {module}"], cwd=ROOT.parent, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
