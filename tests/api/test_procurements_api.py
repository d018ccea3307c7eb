"""The procurements API over the real sandbox: quote comparison, orders at the seed's paths,
the state machine's 409s, payment rule, permissions, tenancy and Decimal money."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.api.conftest import assert_problem
from tests.configurations.conftest import BASE

ADDRESS = {
    "name": "Ada Lovelace",
    "company": "Analytical Sprays Ltd",
    "line1": "12 Engine Row",
    "city": "London",
    "postal_code": "NW1 6XE",
    "country": "gb",
}
QTY = 40


@pytest.fixture
def skus(db):
    """Two in-stock catalog SKUs of each supplier, after seeding the sample catalog (committed)."""
    from aerospec.catalog import services as catalog
    from aerospec.catalog.models import Actuator

    catalog.seed_actuators(db.session)
    db.session.commit()
    picked = {}
    for supplier in ("spencer", "coster"):
        picked[supplier] = list(
            db.session.scalars(
                select(Actuator.sku)
                .where(Actuator.supplier == supplier, Actuator.stock >= 1000)
                .order_by(Actuator.sku)
                .limit(3)
            )
        )
        assert len(picked[supplier]) == 3
    return picked


def _two_suppliers(skus) -> list[dict]:
    return [{"sku": skus["spencer"][0], "qty": QTY}, {"sku": skus["coster"][0], "qty": QTY}]


def _order(skus, supplier="spencer", **extra) -> dict:
    return {
        "order_type": "pilot",
        "items": [{"sku": skus[supplier][0], "qty": QTY}],
        "selected_supplier": supplier,
        "ship_to_address": ADDRESS,
        **extra,
    }


def _by_name(body: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in body["suppliers"]}


def _cents(value: str) -> Decimal:
    """A money string from the API: two decimals exactly, never a float."""
    assert isinstance(value, str), value
    amount = Decimal(value)
    assert amount.as_tuple().exponent == -2, value
    return amount


# -- compare --------------------------------------------------------------------------------


def test_compare_routes_items_to_their_suppliers_and_flags_best_total_and_fastest(client, team, bearer, sandbox, skus):
    t = team()
    response = client.post("/api/procurements/compare", json={"items": _two_suppliers(skus)}, headers=bearer(t.user))
    assert response.status_code == 200, response.get_json()
    suppliers = _by_name(response.get_json())
    assert set(suppliers) == {"spencer", "coster"}
    for name, entry in suppliers.items():
        assert entry["ok"] and entry["error"] is None and entry["cached"] is False
        assert [line["sku"] for line in entry["items"]] == [skus[name][0]]
        assert entry["requested"] == [{"sku": skus[name][0], "qty": QTY}]
        assert entry["availability"] == "in_stock" and isinstance(entry["lead_time_days"], int)
        total = _cents(entry["total"])
        assert total == _cents(entry["subtotal"]) + _cents(entry["tax"]) + _cents(entry["shipping"])
    best = min(Decimal(e["total"]) for e in suppliers.values())
    fastest = min(e["lead_time_days"] for e in suppliers.values())
    assert {n for n, e in suppliers.items() if e["best_total"]} == {
        n for n, e in suppliers.items() if Decimal(e["total"]) == best
    }
    assert {n for n, e in suppliers.items() if e["fastest_delivery"]} == {
        n for n, e in suppliers.items() if e["lead_time_days"] == fastest
    }
    assert sandbox.requests("spencer", "POST /quotes") == 1
    again = client.post("/api/procurements/compare", json={"items": _two_suppliers(skus)}, headers=bearer(t.user))
    assert all(e["cached"] for e in again.get_json()["suppliers"])  # cached briefly per item set
    assert sandbox.requests("spencer", "POST /quotes") == 1


def test_compare_only_asks_the_supplier_that_carries_the_items(client, team, bearer, sandbox, skus):
    t = team()
    items = [{"sku": skus["coster"][0], "qty": 5}, {"sku": skus["coster"][1], "qty": 7}]
    body = client.post("/api/procurements/compare", json={"items": items}, headers=bearer(t.admin)).get_json()
    assert [e["name"] for e in body["suppliers"]] == ["coster"]
    assert body["suppliers"][0]["best_total"] and body["suppliers"][0]["fastest_delivery"]
    assert sandbox.requests("spencer", "POST /quotes") == 0


def test_a_failing_supplier_carries_its_error_and_the_other_quote_stands(client, team, bearer, sandbox, skus):
    t = team()
    sandbox.faults(coster={"error_rate": 1})
    response = client.post("/api/procurements/compare", json={"items": _two_suppliers(skus)}, headers=bearer(t.user))
    assert response.status_code == 200
    suppliers = _by_name(response.get_json())
    assert not suppliers["coster"]["ok"] and suppliers["coster"]["error"]
    assert suppliers["coster"]["error_type"] == "SupplierUnavailable"
    assert "total" not in suppliers["coster"] and not suppliers["coster"]["best_total"]
    assert (
        suppliers["spencer"]["ok"] and suppliers["spencer"]["best_total"] and suppliers["spencer"]["fastest_delivery"]
    )


def test_a_hanging_supplier_is_reported_as_timed_out_beside_the_healthy_quote(client, team, bearer, sandbox, skus):
    t = team()
    sandbox.faults(spencer={"hang": True})
    response = client.post("/api/procurements/compare", json={"items": _two_suppliers(skus)}, headers=bearer(t.user))
    assert response.status_code == 200
    suppliers = _by_name(response.get_json())
    assert suppliers["spencer"]["error_type"] == "SupplierTimeout" and "1.5" in suppliers["spencer"]["error"]
    assert suppliers["coster"]["ok"] and suppliers["coster"]["best_total"]


def test_compare_quotes_a_configurations_top_actuators_per_supplier(client, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    ranked = [
        {"sku": skus["coster"][2], "supplier": "coster"},
        {"sku": skus["spencer"][1], "supplier": "spencer"},
        {"sku": skus["spencer"][0], "supplier": "spencer"},
        {"sku": skus["coster"][0], "supplier": "coster"},
        {"sku": skus["spencer"][2], "supplier": "spencer"},
    ]
    created = client.post("/api/configurations", json={**BASE, "compatible_actuators": ranked}, headers=h)
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    body = {"configuration_id": cid, "qty": 25, "top": 2}
    response = client.post("/api/procurements/compare", json=body, headers=h)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["configuration_id"] == cid
    suppliers = _by_name(answer)
    assert suppliers["spencer"]["requested"] == [
        {"sku": skus["spencer"][1], "qty": 25},
        {"sku": skus["spencer"][0], "qty": 25},
    ]
    assert suppliers["coster"]["requested"] == [
        {"sku": skus["coster"][2], "qty": 25},
        {"sku": skus["coster"][0], "qty": 25},
    ]
    assert all(e["ok"] for e in suppliers.values())
    # Created through the API without a list, it is ranked; above every actuator's rating, nothing is compatible.
    empty = client.post("/api/configurations", json={**BASE, "max_pressure_bar": 900}, headers=h).get_json()
    assert empty["compatible_actuators"] == []
    empty = empty["id"]
    assert_problem(
        client.post("/api/procurements/compare", json={"configuration_id": empty}, headers=h),
        422,
        fields=("configuration_id",),
    )


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"items": [{"sku": "NOPE-123", "qty": 1}]}, ("items.0.sku",)),
        ({"items": [{"sku": "SPENCER", "qty": 0}]}, ("items.0",)),
        ({"items": []}, ("items",)),
        ({}, ("items",)),
        ({"items": [{"sku": "X", "qty": 1}], "colour": "red"}, ("colour",)),
        ({"configuration_id": str(uuid.uuid4())}, ("configuration_id",)),
        ({"configuration_id": "not-an-id"}, ("configuration_id",)),
        ({"configuration_id": str(uuid.uuid4()), "top": 0}, ("top",)),
        ({"configuration_id": str(uuid.uuid4()), "qty": "3"}, ("qty",)),
        ({"items": [{"sku": "X", "qty": 1}], "top": 2}, ("top",)),
        ({"items": [{"sku": "X", "qty": 1}], "configuration_id": str(uuid.uuid4())}, ("items",)),
    ],
)
def test_compare_rejects_bad_bodies_with_field_errors(client, team, bearer, sandbox, skus, body, fields):
    t = team()
    assert_problem(client.post("/api/procurements/compare", json=body, headers=bearer(t.user)), 422, fields=fields)
    assert sandbox.requests("spencer", "POST /quotes") == 0


def test_an_unknown_sku_beside_a_known_one_names_that_item(client, team, bearer, sandbox, skus):
    t = team()
    items = [{"sku": skus["spencer"][0], "qty": 1}, {"sku": "NOPE-123", "qty": 1}]
    problem = assert_problem(
        client.post("/api/procurements/compare", json={"items": items}, headers=bearer(t.user)),
        422,
        fields=("items.1.sku",),
    )
    assert "NOPE-123" in problem["errors"]["items.1.sku"][0]


# -- orders ---------------------------------------------------------------------------------


def test_create_detail_edit_and_cancel_a_draft(client, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    created = client.post("/api/procurements", json=_order(skus, notes="For the bench trial"), headers=h)
    assert created.status_code == 201, created.get_json()
    order = created.get_json()
    assert order["status"] == "draft" and order["reference"].startswith("PO-")
    assert order["selected_supplier"] == "spencer" and order["order_type"] == "pilot"
    assert order["created_by"] == t.user.email and order["notes"] == "For the bench trial"
    assert order["ship_to_address"]["country"] == "GB"
    assert order["items"][0]["sku"] == skus["spencer"][0] and order["items"][0]["qty"] == QTY
    assert order["items"][0]["description"] and order["items"][0]["availability"] == "in_stock"
    assert order["timeline"][0]["to_status"] == "draft"
    pid = order["id"]

    detail = client.get(f"/api/procurements/{pid}", headers=h).get_json()
    assert detail["id"] == pid and detail["total"] == order["total"] and detail["timeline"]

    edited = client.put(
        f"/api/procurements/{pid}",
        json={"items": [{"sku": skus["spencer"][0], "qty": QTY * 2}], "notes": "Twice as many"},
        headers=h,
    )
    assert edited.status_code == 200, edited.get_json()
    edited = edited.get_json()
    assert edited["items"][0]["qty"] == QTY * 2 and edited["notes"] == "Twice as many"
    assert _cents(edited["subtotal"]) > _cents(order["subtotal"])
    assert any(e["kind"] == "note" and "items" in e["message"] for e in edited["timeline"])

    cancelled = client.put(f"/api/procurements/{pid}", json={"status": "cancelled"}, headers=h)
    assert cancelled.status_code == 200, cancelled.get_json()
    cancelled = cancelled.get_json()
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"]
    last = cancelled["timeline"][-1]
    assert (last["kind"], last["from_status"], last["to_status"], last["actor"]) == (
        "status",
        "draft",
        "cancelled",
        t.user.email,
    )
    assert_problem(client.put(f"/api/procurements/{pid}", json={"notes": "late"}, headers=h), 409)

    listed = client.get("/api/procurements?status=cancelled&order_type=pilot&supplier=spencer", headers=h).get_json()
    assert [p["id"] for p in listed["procurements"]] == [pid] and listed["total"] == 1
    assert "timeline" not in listed["procurements"][0]
    assert client.get("/api/procurements?status=draft", headers=h).get_json()["total"] == 0


def test_a_status_set_by_the_supplier_cannot_be_put(client, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    pid = client.post("/api/procurements", json=_order(skus), headers=h).get_json()["id"]
    problem = assert_problem(client.put(f"/api/procurements/{pid}", json={"status": "shipped"}, headers=h), 409)
    assert "supplier" in problem["detail"]
    assert_problem(client.put(f"/api/procurements/{pid}", json={"status": "confirmed"}, headers=h), 409)
    assert client.put(f"/api/procurements/{pid}", json={"status": "draft"}, headers=h).status_code == 200  # no-op
    assert_problem(client.put(f"/api/procurements/{pid}", json={"status": "lost"}, headers=h), 422, fields=("status",))
    assert client.get(f"/api/procurements/{pid}", headers=h).get_json()["status"] == "draft"


def test_an_unpaid_sample_order_cannot_be_submitted(client, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    pid = client.post("/api/procurements", json=_order(skus, order_type="sample"), headers=h).get_json()["id"]
    draft = client.get(f"/api/procurements/{pid}", headers=h).get_json()
    assert draft["payment_required"] and draft["payment_status"] == "unpaid"
    assert draft["submit_blockers"] == ["Pay for this sample order: samples go to the supplier once paid."]
    problem = assert_problem(client.put(f"/api/procurements/{pid}", json={"status": "submitted"}, headers=h), 409)
    assert "Pay for this sample order" in problem["detail"]
    assert client.get(f"/api/procurements/{pid}", headers=h).get_json()["status"] == "draft"
    assert sandbox.requests("spencer", "POST /orders") == 0


def test_a_pilot_order_is_submitted_on_account(client, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    pid = client.post("/api/procurements", json=_order(skus, selected_supplier=None), headers=h).get_json()["id"]
    unpriced = client.get(f"/api/procurements/{pid}", headers=h).get_json()
    assert unpriced["submit_blockers"] == ["Choose a supplier's quote."] and unpriced["total"] == "0.00"
    assert_problem(client.put(f"/api/procurements/{pid}", json={"status": "submitted"}, headers=h), 409)

    # Choose the supplier and submit in one PUT: fields first, then the status.
    response = client.put(
        f"/api/procurements/{pid}", json={"selected_supplier": "spencer", "status": "submitted"}, headers=h
    )
    assert response.status_code == 200, response.get_json()
    order = response.get_json()
    assert order["submitted_at"] and order["payment_status"] == "unpaid" and order["submit_blockers"] == []
    # The send job ran inline after the commit: the sandbox took the order once and confirmed it.
    assert sandbox.requests("spencer", "POST /orders") == 1
    assert order["status"] == "confirmed" and order["supplier_order_id"] and order["confirmed_at"]
    statuses = [e["to_status"] for e in order["timeline"] if e["kind"] == "status"]
    assert statuses == ["draft", "submitted", "confirmed"]
    assert any(e["kind"] == "submit" and order["supplier_order_id"] in e["message"] for e in order["timeline"])
    assert_problem(client.put(f"/api/procurements/{pid}", json={"notes": "edit"}, headers=h), 409)
    assert_problem(client.put(f"/api/procurements/{pid}", json={"status": "delivered"}, headers=h), 409)
    cancelled = client.put(f"/api/procurements/{pid}", json={"status": "cancelled"}, headers=h)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert sandbox.requests("spencer", "POST /orders") == 1


def test_create_rejects_bad_orders_with_field_errors(client, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    bad = {
        "order_type": "bulk",
        "items": [{"sku": skus["coster"][0], "qty": 1}],
        "selected_supplier": "spencer",
        "ship_to_address": {**ADDRESS, "country": "Britain", "city": ""},
    }
    problem = assert_problem(
        client.post("/api/procurements", json=bad, headers=h),
        422,
        fields=("order_type", "items.0.sku", "ship_to_address.country", "ship_to_address.city"),
    )
    assert "Coster part" in problem["errors"]["items.0.sku"][0]
    assert_problem(
        client.post("/api/procurements", json={"items": [{"sku": skus["spencer"][0], "qty": 1}]}, headers=h),
        422,
        fields=("ship_to_address",),
    )
    assert_problem(
        client.post("/api/procurements", json=_order(skus, configuration_id=str(uuid.uuid4())), headers=h),
        422,
        fields=("configuration_id",),
    )
    assert_problem(client.post("/api/procurements", json=_order(skus, status="submitted"), headers=h), 422)
    assert_problem(client.post("/api/procurements", json=_order(skus, ship_to_address="home"), headers=h), 422)
    assert_problem(
        client.get("/api/procurements?status=lost&per_page=1000", headers=h), 422, fields=("status", "per_page")
    )
    assert client.get("/api/procurements", headers=h).get_json()["total"] == 0


def test_create_answers_503_when_the_chosen_supplier_cannot_quote(client, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    sandbox.faults(spencer={"error_rate": 1})
    problem = assert_problem(client.post("/api/procurements", json=_order(skus), headers=h), 503)
    assert "Spencer" in problem["detail"]
    assert client.get("/api/procurements", headers=h).get_json()["total"] == 0


def test_order_with_a_configuration_lists_under_it(client, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    cid = client.post("/api/configurations", json=BASE, headers=h).get_json()["id"]
    pid = client.post("/api/procurements", json=_order(skus, configuration_id=cid), headers=h).get_json()["id"]
    client.post("/api/procurements", json=_order(skus, supplier="coster"), headers=h)
    listed = client.get(f"/api/procurements?configuration_id={cid}", headers=h).get_json()
    assert [p["id"] for p in listed["procurements"]] == [pid] and listed["procurements"][0]["configuration_id"] == cid
    paged = client.get("/api/procurements?per_page=1&page=2", headers=h).get_json()
    assert (paged["total"], paged["page"], paged["per_page"], len(paged["procurements"])) == (2, 2, 1, 1)


def test_delete_a_draft_then_it_is_gone(client, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    pid = client.post("/api/procurements", json=_order(skus), headers=h).get_json()["id"]
    response = client.delete(f"/api/procurements/{pid}", headers=h)
    assert response.status_code == 204 and response.get_data() == b""
    assert_problem(client.get(f"/api/procurements/{pid}", headers=h), 404)
    assert_problem(client.delete(f"/api/procurements/{pid}", headers=h), 404)
    assert sandbox.requests("spencer", "POST /orders") == 0


def _move(db, tenant, pid: str, *steps: str, **fields) -> None:
    """Walk an order through the state machine as the supplier's updates would (committed)."""
    from aerospec.procurement import services
    from aerospec.procurement.models import Procurement
    from aerospec.tenancy.scoping import tenant_scope

    with tenant_scope(db.session, tenant.id):
        order = db.session.get(Procurement, uuid.UUID(pid))
        for name, value in fields.items():
            setattr(order, name, value)
        for step in steps:
            services.transition(db.session, order, step)
        db.session.commit()


def test_delete_cancels_a_confirmed_order_at_the_supplier_and_answers_it(client, db, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    pid = client.post("/api/procurements", json=_order(skus), headers=h).get_json()["id"]
    placed = client.put(f"/api/procurements/{pid}", json={"status": "submitted"}, headers=h).get_json()
    assert placed["status"] == "confirmed" and placed["supplier_order_id"]

    response = client.delete(f"/api/procurements/{pid}", headers=h)
    assert response.status_code == 200, response.get_json()
    order = response.get_json()
    assert order["id"] == pid and order["status"] == "cancelled" and order["cancelled_at"]
    assert order["timeline"][-2]["to_status"] == "cancelled" and order["timeline"][-2]["actor"] == t.user.email
    # The inline job asked the supplier to cancel its order too (as the page's Cancel does).
    remote = sandbox.state.orders["spencer"][placed["supplier_order_id"]]
    assert remote.cancelled_at is not None and sandbox.requests("spencer", "POST /orders") == 1
    assert f"Spencer cancelled order {placed['supplier_order_id']}." in [e["message"] for e in order["timeline"]]
    # Cancelling again is harmless: same answer, nothing new.
    again = client.delete(f"/api/procurements/{pid}", headers=h)
    assert again.status_code == 200 and again.get_json()["timeline"] == order["timeline"]


def test_delete_cancels_a_submitted_order_the_supplier_never_took(client, db, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    pid = client.post("/api/procurements", json=_order(skus), headers=h).get_json()["id"]
    sandbox.faults(spencer={"error_rate": 1})
    submitted = client.put(f"/api/procurements/{pid}", json={"status": "submitted"}, headers=h).get_json()
    assert submitted["status"] == "submitted" and submitted["supplier_order_id"] is None
    response = client.delete(f"/api/procurements/{pid}", headers=h)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert not sandbox.state.orders["spencer"]  # nothing was placed, so nothing to cancel there


@pytest.mark.parametrize(
    "steps", [("submitted", "confirmed", "shipped"), ("submitted", "confirmed", "shipped", "delivered")]
)
def test_delete_refuses_an_order_once_shipped(client, db, team, bearer, sandbox, skus, steps):
    t = team()
    h = bearer(t.user)
    pid = client.post("/api/procurements", json=_order(skus), headers=h).get_json()["id"]
    _move(db, t.tenant, pid, *steps, supplier_order_id="SO-1")
    problem = assert_problem(client.delete(f"/api/procurements/{pid}", headers=h), 409)
    assert "not yet shipped" in problem["detail"]
    assert client.get(f"/api/procurements/{pid}", headers=h).get_json()["status"] == steps[-1]


def test_delete_cancels_a_failed_order_and_keeps_it(client, db, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    pid = client.post("/api/procurements", json=_order(skus), headers=h).get_json()["id"]
    _move(db, t.tenant, pid, "submitted", "failed")
    response = client.delete(f"/api/procurements/{pid}", headers=h)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"


def test_delete_cancels_a_draft_with_a_payment_instead_of_losing_it(client, db, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    pid = client.post("/api/procurements", json=_order(skus), headers=h).get_json()["id"]
    _move(db, t.tenant, pid, payment_status="paid")
    response = client.delete(f"/api/procurements/{pid}", headers=h)
    assert response.status_code == 200
    order = response.get_json()
    assert (order["status"], order["payment_status"]) == ("cancelled", "paid")
    # Cancelled, paid, never sent: it stays on record however often it is "deleted".
    assert client.delete(f"/api/procurements/{pid}", headers=h).status_code == 200
    assert client.get(f"/api/procurements/{pid}", headers=h).status_code == 200


def test_delete_removes_a_cancelled_order_never_sent_and_unpaid(client, db, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    pid = client.post("/api/procurements", json=_order(skus), headers=h).get_json()["id"]
    client.put(f"/api/procurements/{pid}", json={"status": "cancelled"}, headers=h)
    assert client.delete(f"/api/procurements/{pid}", headers=h).status_code == 204
    assert_problem(client.get(f"/api/procurements/{pid}", headers=h), 404)


# -- what every supplier quoted ---------------------------------------------------------------


def _ranked(skus) -> list[dict]:
    """A configuration's ranked actuators: Coster's best is its second SKU, Spencer's its first."""
    return [
        {"sku": skus["coster"][1], "supplier": "coster"},
        {"sku": skus["spencer"][0], "supplier": "spencer"},
        {"sku": skus["coster"][0], "supplier": "coster"},
    ]


def test_an_order_keeps_what_every_supplier_quoted_for_its_configuration(client, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    cid = client.post("/api/configurations", json={**BASE, "compatible_actuators": _ranked(skus)}, headers=h)
    cid = cid.get_json()["id"]
    items = [{"sku": skus["spencer"][0], "qty": 30}, {"sku": skus["spencer"][1], "qty": 12}]
    created = client.post("/api/procurements", json=_order(skus, items=items, configuration_id=cid), headers=h)
    assert created.status_code == 201, created.get_json()
    order = created.get_json()
    quoted = {entry["name"]: entry for entry in order["suppliers_quoted"]}
    assert [entry["name"] for entry in order["suppliers_quoted"]] == ["spencer", "coster"]
    spencer, coster = quoted["spencer"], quoted["coster"]
    # Spencer: exactly the order's lines, and the very quote the order is priced from.
    assert spencer["selected"] and spencer["ok"] and spencer["requested"] == items
    assert [(i["sku"], i["qty"]) for i in spencer["items"]] == [(i["sku"], i["qty"]) for i in items]
    assert _cents(spencer["subtotal"]) == _cents(order["subtotal"]) and spencer["quoted_at"] == order["quoted_at"]
    # Coster: its best-ranked actuator for the configuration, at the order's 42 units.
    assert not coster["selected"] and coster["ok"] and coster["requested"] == [{"sku": skus["coster"][1], "qty": 42}]
    assert _cents(coster["total"]) == _cents(coster["subtotal"]) + _cents(coster["tax"]) + _cents(coster["shipping"])
    totals = {name: _cents(e["total"]) for name, e in quoted.items()}
    assert {n for n, e in quoted.items() if e["best_total"]} == {n for n in totals if totals[n] == min(totals.values())}
    # The detail keeps it as it was, and a later edit of the draft does not rewrite history.
    client.put(f"/api/procurements/{order['id']}", json={"items": [{"sku": skus["spencer"][0], "qty": 5}]}, headers=h)
    detail = client.get(f"/api/procurements/{order['id']}", headers=h).get_json()
    assert detail["suppliers_quoted"] == order["suppliers_quoted"]
    assert "suppliers_quoted" not in client.get("/api/procurements", headers=h).get_json()["procurements"][0]


# (the order's quantity, the comparison's): a sample of 1 from a comparison at 100 has the others asked for 1
# too, so the record's best total compares like with like.
@pytest.mark.parametrize(("qty", "compared_qty"), [(17, 17), (1, 100)])
def test_compared_items_say_what_the_other_suppliers_were_asked(client, team, bearer, sandbox, skus, qty, compared_qty):
    t = team()
    h = bearer(t.user)
    compared = [{"sku": skus["spencer"][0], "qty": compared_qty}, {"sku": skus["coster"][2], "qty": compared_qty}]
    body = _order(skus, supplier="coster", items=[{"sku": skus["coster"][2], "qty": qty}], compared_items=compared)
    order = client.post("/api/procurements", json=body, headers=h).get_json()
    quoted = {entry["name"]: entry for entry in order["suppliers_quoted"]}
    assert quoted["coster"]["selected"] and quoted["coster"]["requested"] == [{"sku": skus["coster"][2], "qty": qty}]
    assert quoted["spencer"]["requested"] == [{"sku": skus["spencer"][0], "qty": qty}] and quoted["spencer"]["ok"]
    assert [(i["sku"], i["qty"]) for i in quoted["spencer"]["items"]] == [(skus["spencer"][0], qty)]


def test_a_failing_other_supplier_is_kept_as_its_error_and_the_order_still_made(client, team, bearer, sandbox, skus):
    t = team()
    h = bearer(t.user)
    sandbox.faults(coster={"error_rate": 1})
    compared = [{"sku": skus["coster"][0], "qty": QTY}]
    created = client.post("/api/procurements", json=_order(skus, compared_items=compared), headers=h)
    assert created.status_code == 201, created.get_json()
    coster = {e["name"]: e for e in created.get_json()["suppliers_quoted"]}["coster"]
    assert coster["ok"] is False and coster["error_type"] == "SupplierUnavailable" and "503" in coster["error"]
    assert coster["requested"] == compared and "total" not in coster


def test_without_a_configuration_or_comparison_the_other_supplier_is_recorded_as_not_asked(
    client, team, bearer, sandbox, skus
):
    t = team()
    order = client.post("/api/procurements", json=_order(skus), headers=bearer(t.user)).get_json()
    coster = {e["name"]: e for e in order["suppliers_quoted"]}["coster"]
    assert (coster["ok"], coster["error_type"], coster["requested"]) == (False, "NotAsked", [])
    assert sandbox.requests("coster", "POST /v2/quote") == 0


@pytest.mark.parametrize(
    ("compared", "field"),
    [
        ([{"sku": "NOPE-1", "qty": 3}], "compared_items.0.sku"),
        ([{"sku": "X", "qty": 0}], "compared_items.0"),
        ([], "compared_items"),
    ],
)
def test_bad_compared_items_are_field_errors(client, team, bearer, sandbox, skus, compared, field):
    t = team()
    h = bearer(t.user)
    problem = client.post("/api/procurements", json=_order(skus, compared_items=compared), headers=h)
    assert_problem(problem, 422, fields=(field,))
    assert client.get("/api/procurements", headers=h).get_json()["total"] == 0
    # Not a field of an existing order: the record is made once, when the order is created.
    pid = client.post("/api/procurements", json=_order(skus), headers=h).get_json()["id"]
    assert_problem(client.put(f"/api/procurements/{pid}", json={"compared_items": compared}, headers=h), 422)


# -- permissions and tenancy ----------------------------------------------------------------


def test_viewers_have_no_api_and_users_only_when_the_workspace_allows_it(client, team, bearer, sandbox, skus):
    t = team(api_enabled_for_users=False)
    pid = client.post("/api/procurements", json=_order(skus), headers=bearer(t.admin)).get_json()["id"]
    u = bearer(t.user)
    assert (
        "allows it in the workspace settings"
        in assert_problem(client.get("/api/procurements", headers=u), 403)["detail"]
    )
    v = bearer(t.viewer)
    assert "viewers use the web app" in assert_problem(client.get("/api/procurements", headers=v), 403)["detail"]
    assert_problem(client.get(f"/api/procurements/{pid}", headers=v), 403)
    assert_problem(client.post("/api/procurements", json=_order(skus), headers=v), 403)
    assert_problem(client.post("/api/procurements/compare", json={"items": _two_suppliers(skus)}, headers=v), 403)
    assert_problem(client.put(f"/api/procurements/{pid}", json={"status": "cancelled"}, headers=v), 403)
    assert_problem(client.delete(f"/api/procurements/{pid}", headers=v), 403)
    assert client.get(f"/api/procurements/{pid}", headers=bearer(t.admin)).get_json()["status"] == "draft"


def test_another_tenants_order_is_not_found(client, team, bearer, sandbox, skus):
    mine, theirs = team(), team()
    pid = client.post("/api/procurements", json=_order(skus), headers=bearer(mine.user)).get_json()["id"]
    h = bearer(theirs.admin)
    assert_problem(client.get(f"/api/procurements/{pid}", headers=h), 404)
    assert_problem(client.put(f"/api/procurements/{pid}", json={"status": "cancelled"}, headers=h), 404)
    assert_problem(client.delete(f"/api/procurements/{pid}", headers=h), 404)
    assert client.get("/api/procurements", headers=h).get_json()["total"] == 0
    assert client.get(f"/api/procurements/{pid}", headers=bearer(mine.user)).get_json()["status"] == "draft"


def test_the_api_needs_a_bearer_token(client, team, sandbox):
    assert_problem(client.get("/api/procurements"), 401)
    assert_problem(client.post("/api/procurements/compare", json={"items": []}), 401)


# -- money ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "limits", "rate"),
    [
        ("starter", {}, Decimal("0")),
        ("professional", {}, Decimal("0.03")),
        ("enterprise", {}, Decimal("0.05")),
        ("professional", {"procurement_discount": "0.125"}, Decimal("0.125")),
    ],
)
def test_order_totals_are_the_sandbox_quote_less_the_plans_discount(
    client, team, bearer, sandbox, skus, plan, limits, rate
):
    from aerospec.procurement import services

    # The API itself is a plan feature with a monthly call limit: open it for the starter case.
    t = team(plan=plan, limits={"api_calls_per_month": None, **limits}, features={"api_access": True})
    assert services.discount_rate(t.tenant) == rate
    h = bearer(t.user)
    items = [{"sku": skus["coster"][0], "qty": QTY}, {"sku": skus["coster"][1], "qty": 3}]
    quote = client.post("/api/procurements/compare", json={"items": items}, headers=h).get_json()["suppliers"][0]
    order = client.post("/api/procurements", json=_order(skus, supplier="coster", items=items), headers=h).get_json()

    subtotal, tax, shipping = _cents(quote["subtotal"]), _cents(quote["tax"]), _cents(quote["shipping"])
    assert _cents(order["subtotal"]) == subtotal
    assert Decimal(order["discount_rate"]) == rate
    discount = (subtotal * rate).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert _cents(order["discount"]) == discount
    expected_tax = (tax * (subtotal - discount) / subtotal).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert _cents(order["tax"]) == expected_tax
    assert _cents(order["shipping"]) == shipping
    assert _cents(order["total"]) == subtotal - discount + expected_tax + shipping
    if rate == 0:
        assert order["total"] == quote["total"]
    else:
        assert _cents(order["total"]) < _cents(quote["total"])
    for line, quoted in zip(order["items"], quote["items"], strict=True):
        assert (line["sku"], line["qty"]) == (quoted["sku"], quoted["qty"])
        assert Decimal(line["unit_price"]) == Decimal(quoted["unit_price"])
        assert _cents(line["line_total"]) == Decimal(quoted["line_total"])
        assert _cents(line["line_total"]) == (Decimal(line["unit_price"]) * line["qty"]).quantize(
            Decimal("0.01"), rounding="ROUND_HALF_UP"
        )
    assert sum(_cents(line["line_total"]) for line in order["items"]) == subtotal
