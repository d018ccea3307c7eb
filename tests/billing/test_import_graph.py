"""Billing's modules import each other in one direction (issue 10, "Structure"): the provider interface at
the bottom, the offline provider's bookkeeping above it, and no circle anywhere in aerospec.billing.

Read from the source with ast, every import counts, including those inside functions: a deferred import
hides a circle from Python, not from the design.
"""

from __future__ import annotations

import aerospec.billing
from tests.import_graph import find_cycle, import_graph

PACKAGE = "aerospec.billing"
# The blueprint's wiring: create_app calls attach_routes, which imports the route modules that take
# `bp` from the package (the capability layout every package follows); it is not a dependency of theirs.
WIRING = frozenset({(PACKAGE, "attach_routes")})


def billing_import_graph() -> dict[str, set[str]]:
    """The billing modules and the billing modules each imports."""
    return import_graph(aerospec.billing, WIRING)


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
