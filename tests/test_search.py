"""Searches match what was typed as text: `%` and `_` are not LIKE wildcards (issue 10, item 6)."""

from __future__ import annotations

import uuid

import pytest

from aerospec import search
from aerospec.catalog import services as catalog
from aerospec.compliance import services as audit
from aerospec.configurations import services as configs
from aerospec.procurement.models import Procurement
from aerospec.tenancy.scoping import tenant_scope
from tests.api import conftest as api_fixtures
from tests.catalog import makers
from tests.configurations import conftest as configuration_fixtures

tokens, bearer = api_fixtures.tokens, api_fixtures.bearer
make_config = configuration_fixtures.make_config

WILDCARDS = ["%", "_", "%_", "\\"]


def test_the_pattern_escapes_every_wildcard_and_the_escape_character():
    assert search.like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


def _order(db, tenant, reference: str, supplier_order_id: str | None = None) -> None:
    with tenant_scope(db.session, tenant.id):
        db.session.add(
            Procurement(
                tenant_id=tenant.id, reference=reference, order_type="sample", status="draft",
                ship_to_address={}, idempotency_key=uuid.uuid4().hex, supplier_order_id=supplier_order_id,
            )
        )  # fmt: skip
        db.session.commit()


@pytest.fixture
def orders(db, team):
    """A team with three orders; only one has `%` and `_` in a searchable field."""
    t = team()
    _order(db, t.tenant, "PO-AAAA1111")
    _order(db, t.tenant, "PO-BBBB2222")
    _order(db, t.tenant, "PO-CCCC3333", supplier_order_id="SO50%_\\x")
    return t


def _references(client, h, q: str) -> list[str]:
    response = client.get("/api/procurements", query_string={"q": q}, headers=h)
    assert response.status_code == 200, response.get_data(as_text=True)
    return sorted(p["reference"] for p in response.get_json()["procurements"])


@pytest.mark.parametrize("q", WILDCARDS)
def test_a_wildcard_in_the_order_search_matches_only_orders_that_contain_it(client, orders, bearer, q):
    assert _references(client, bearer(orders.admin), q) == ["PO-CCCC3333"]


def test_the_order_search_still_finds_by_part_of_a_reference_in_any_case(client, orders, bearer):
    h = bearer(orders.admin)
    assert _references(client, h, "bbbb") == ["PO-BBBB2222"]
    assert _references(client, h, " po-") == ["PO-AAAA1111", "PO-BBBB2222", "PO-CCCC3333"]
    assert _references(client, h, "PO_") == []


def test_the_order_search_page_treats_a_percent_as_text(client, login, orders, tenant_url):
    login(orders.admin)
    html = client.get(tenant_url(orders.tenant, "procurements"), query_string={"q": "%"}).get_data(as_text=True)
    assert "PO-CCCC3333" in html
    assert "PO-AAAA1111" not in html and "PO-BBBB2222" not in html


@pytest.mark.parametrize("q", WILDCARDS)
def test_a_wildcard_in_the_fluid_search_matches_only_fluids_that_contain_it(db, team, q):
    t = team()
    catalog.seed_fluids(db.session)
    makers.tenant_fluid(t.tenant, name="Plain")
    makers.tenant_fluid(t.tenant, name="Mix 50%_ethanol \\ water")
    with tenant_scope(db.session, t.tenant.id):
        found = [f.name for f in catalog.list_fluids(db.session, t.tenant, q=q)]
        every = [f.name for f in catalog.list_fluids(db.session, t.tenant)]
    assert found == [name for name in every if q in name]  # the library's "wt%" names contain a % too
    assert "Mix 50%_ethanol \\ water" in found and "Plain" not in found


@pytest.mark.parametrize("q", WILDCARDS)
def test_a_wildcard_in_the_audit_actor_filter_matches_only_actors_that_contain_it(db, team, factories, q):
    t = team()
    odd = factories.member(t.tenant, "user", email="odd50%_\\name@example.com")
    with tenant_scope(db.session, t.tenant.id):
        audit.record(db.session, t.tenant.id, "tenant.created", actor=t.admin)
        audit.record(db.session, t.tenant.id, "tenant.created", actor=odd)
        page = audit.list_entries(db.session, t.tenant.id, actor=q)
    assert {e.actor_email for e in page.items} == {odd.email}


@pytest.mark.parametrize("q", WILDCARDS)
def test_a_wildcard_in_the_configuration_search_matches_only_names_that_contain_it(db, team, make_config, q):
    t = team()
    make_config(t.tenant, t.user, name="Plain")
    make_config(t.tenant, t.user, name="Nasal 50%_b \\ c")
    with tenant_scope(db.session, t.tenant.id):
        page = configs.list_configurations(db.session, t.tenant, configs.ListFilters(q=q))
    assert [c.name for c in page.items] == ["Nasal 50%_b \\ c"]
