"""Platform-admin procurement console and API: sync runs, sandbox faults, commissions, revenue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from aerospec.catalog import services as catalog
from aerospec.procurement.models import Procurement, ProcurementCommission, SupplierSyncRun
from aerospec.sandbox.state import Faults
from aerospec.tenancy.scoping import tenant_scope

PAGES = ["/admin/procurement/sync", "/admin/procurement/sandbox", "/admin/procurement/commissions"]
POSTS = [
    "/admin/procurement/sync",
    "/admin/procurement/sandbox/faults/coster",
    "/admin/procurement/sandbox/faults/clear",
    "/admin/procurement/sandbox/clock",
]
API = ["/api/admin/commissions", "/api/admin/revenue/monthly"]


@pytest.fixture
def admin(db, factories):
    """A platform admin who is also a member of a workspace (API tokens name one)."""
    user = factories.UserFactory(is_platform_admin=True)
    factories.member(factories.TenantFactory(), "admin", user=user)
    db.session.commit()
    return user


@pytest.fixture
def bearer(app, db):
    """bearer(user) → Authorization headers of a fresh API session (no password round trip)."""
    from aerospec.accounts.services import ClientInfo
    from aerospec.api import services as api

    def _bearer(user) -> dict:
        settings = api.TokenSettings(
            app.config["SECRET_KEY"], app.config["JWT_ACCESS_SECONDS"], app.config["JWT_REFRESH_SECONDS"]
        )
        membership = api.choose_membership(db.session, user, None)
        pair = api.start_api_session(db.session, user, membership, ClientInfo("127.0.0.1", "pytest"), settings)
        db.session.commit()
        return {"Authorization": f"Bearer {pair.access_token}"}

    return _bearer


# ---- who gets in


def test_admin_pages_and_actions_are_404_for_a_workspace_admin_and_anonymous(client, db, team, login, sandbox):
    for path in PAGES:
        assert client.get(path).status_code == 404, path
    for path in POSTS:
        assert client.post(path).status_code == 404, path
    t = team()
    login(t.admin)
    for path in PAGES:
        assert client.get(path).status_code == 404, path
    for path in POSTS:
        assert client.post(path, data={"amount": "1", "coster-latency_ms": "500"}).status_code == 404, path
    assert db.session.scalar(select(SupplierSyncRun.id)) is None
    assert sandbox.state.faults["coster"] == Faults()


def test_admin_pages_render_for_a_platform_admin(client, admin, login, sandbox):
    login(admin)
    sync = client.get("/admin/procurement/sync")
    assert sync.status_code == 200 and "No sync has run yet" in sync.get_data(as_text=True)
    box = client.get("/admin/procurement/sandbox").get_data(as_text=True)
    assert "Apply to Spencer" in box and "Apply to Coster" in box and sandbox.base_url in box
    money = client.get("/admin/procurement/commissions")
    assert money.status_code == 200 and "No commissions yet" in money.get_data(as_text=True)
    assert "HX-Request" in sync.headers.get("Vary", "")


def test_admin_api_is_404_for_a_non_admin_and_401_without_a_token(client, team, bearer):
    t = team()
    headers = bearer(t.admin)
    for path in API:
        assert client.get(path, headers=headers).status_code == 404, path
        assert client.get(path).status_code == 401, path


# ---- sync runs


def test_sync_now_runs_the_sync_and_lists_the_run(client, db, admin, login, sandbox):
    catalog.seed_actuators(db.session)
    db.session.commit()
    login(admin)
    response = client.post("/admin/procurement/sync")
    assert response.status_code == 303  # jobs run inline in tests: the run is done by now
    run = db.session.scalar(select(SupplierSyncRun))
    assert run.status == "ok" and run.trigger == "manual" and run.triggered_by_id == admin.id
    assert run.skus_updated == run.skus_requested > 0
    assert (
        sandbox.requests("spencer", "GET /prices") == 1 and sandbox.requests("coster", "POST /v2/catalog/prices") == 1
    )
    html = client.get("/admin/procurement/sync").get_data(as_text=True)
    assert "Sync started" in html  # the flash
    assert "Sync now" in html and ">OK<" in html
    assert f"{run.skus_updated:,} of {run.skus_requested:,} SKUs updated" in html
    assert "not yet synced" not in html  # the staleness summary: everything is fresh now


def test_sync_page_shows_a_failed_supplier_and_the_staleness_summary(client, db, admin, login, sandbox):
    catalog.seed_actuators(db.session)
    db.session.commit()
    sandbox.faults(coster={"error_rate": 1})
    login(admin)
    client.post("/admin/procurement/sync")
    html = client.get("/admin/procurement/sync").get_data(as_text=True)
    assert "Partial" in html and "Coster is having problems (HTTP 503)" in html
    assert "336 not yet synced" in html  # Coster's rows kept their old values


def test_sync_now_while_a_run_is_running_starts_no_second_run(client, db, admin, login, sandbox):
    db.session.add(SupplierSyncRun(status="running"))
    db.session.commit()
    login(admin)
    client.post("/admin/procurement/sync")
    assert len(db.session.scalars(select(SupplierSyncRun)).all()) == 1
    page = client.get("/admin/procurement/sync", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 3s"' in page.get_data(as_text=True)  # polls while running
    db.session.scalar(select(SupplierSyncRun)).status = "ok"
    db.session.commit()
    done = client.get("/admin/procurement/sync?poll=1", headers={"HX-Request": "true"})
    assert done.status_code == 286  # htmx stops polling


# ---- sandbox controls


def test_sandbox_page_changes_a_suppliers_faults(client, admin, login, sandbox):
    login(admin)
    form = {"coster-latency_ms": "250", "coster-error_rate": "50", "coster-malformed_json": "on"}
    response = client.post("/admin/procurement/sandbox/faults/coster", data=form)
    assert response.status_code == 303
    faults = sandbox.admin("GET", "/_faults")
    assert faults["coster"]["latency_ms"] == 250 and faults["coster"]["error_rate"] == 0.5
    assert faults["coster"]["malformed_json"] is True and faults["coster"]["hang"] is False
    assert faults["spencer"]["latency_ms"] == 0  # the other supplier is untouched
    html = client.get("/admin/procurement/sandbox").get_data(as_text=True)
    assert "Coster faults updated" in html and "Faults on" in html

    client.post("/admin/procurement/sandbox/faults/spencer", data={"spencer-hang": "on"})
    assert sandbox.state.faults["spencer"].hang is True
    client.post("/admin/procurement/sandbox/faults/clear")
    assert sandbox.state.faults == {"spencer": Faults(), "coster": Faults()}


def test_sandbox_fault_values_are_checked(client, admin, login, sandbox):
    login(admin)
    response = client.post("/admin/procurement/sandbox/faults/coster", data={"coster-error_rate": "150"})
    assert response.status_code == 422
    assert "Coster error rate (%): enter a value from 0 to 100." in response.get_data(as_text=True)
    assert sandbox.state.faults["coster"] == Faults()
    assert client.post("/admin/procurement/sandbox/faults/acme", data={}).status_code == 404


def test_sandbox_clock_advances(client, admin, login, sandbox):
    login(admin)
    before = sandbox.state.clock.now()
    response = client.post("/admin/procurement/sandbox/clock", data={"amount": "2", "unit": "days"})
    assert response.status_code == 303
    assert sandbox.state.clock.now() - before >= timedelta(days=2)
    assert client.post("/admin/procurement/sandbox/clock", data={"amount": "0"}).status_code == 422


def test_sandbox_page_says_so_when_the_suppliers_are_not_a_sandbox(app, client, admin, login, monkeypatch, sandbox):
    monkeypatch.setitem(app.config, "SUPPLIER_SPENCER_URL", "https://api.spencer.example/v1")
    login(admin)
    html = client.get("/admin/procurement/sandbox").get_data(as_text=True)
    assert "Not a sandbox" in html and "https://api.spencer.example/v1" in html
    assert "Apply to Spencer" not in html
    assert client.post("/admin/procurement/sandbox/faults/clear").status_code == 409


# ---- commissions and revenue


def _paid_order(db, tenant, total: str, rate: str, paid: datetime) -> ProcurementCommission:
    with tenant_scope(db.session, tenant.id):
        order = Procurement(
            tenant_id=tenant.id,
            reference=f"PO-{uuid.uuid4().hex[:8].upper()}",
            idempotency_key=uuid.uuid4().hex,
            status="submitted",
            payment_status="paid",
            total=Decimal(total),
            paid_at=paid,
        )
        db.session.add(order)
        db.session.flush()
        commission = ProcurementCommission(
            tenant_id=tenant.id,
            procurement_id=order.id,
            plan=tenant.plan,
            rate=Decimal(rate),
            base_amount=Decimal(total),
            amount=(Decimal(total) * Decimal(rate)).quantize(Decimal("0.01")),
            created_at=paid,
        )
        db.session.add(commission)
        db.session.flush()
    commission.reference = order.reference
    return commission


@pytest.fixture
def commissions(db, factories):
    """Two workspaces' commissions over November and December 2026."""
    a = factories.TenantFactory(name="Alpha Sprays", plan="starter")
    b = factories.TenantFactory(name="Beta Mist", plan="enterprise")
    rows = {
        "a_nov": _paid_order(db, a, "200.00", "0.20", datetime(2026, 11, 3, 9, 0, tzinfo=UTC)),
        "a_dec": _paid_order(db, a, "150.55", "0.20", datetime(2026, 12, 30, 23, 59, tzinfo=UTC)),
        "b_dec": _paid_order(db, b, "1000.00", "0.10", datetime(2026, 12, 1, 0, 0, tzinfo=UTC)),
        "b_nov": _paid_order(db, b, "99.99", "0.10", datetime(2026, 11, 30, 23, 30, tzinfo=UTC)),
    }
    db.session.commit()
    return {"a": a, "b": b, **rows}


def test_monthly_revenue_sums_commissions_orders_and_order_value_per_month(client, admin, bearer, commissions):
    response = client.get("/api/admin/revenue/monthly", headers=bearer(admin))
    assert response.status_code == 200
    assert response.get_json() == {
        "months": [
            # 40.00 + 10.00 (99.99 × 10 % = 9.999 → 10.00)
            # (no subscription invoices paid and no MRR here: those fields are 0.00, the total is the commissions)
            {"month": "2026-11", "currency": "USD", "commissions": "50.00", "orders": 2, "order_value": "299.99"}
            | {"subscriptions": "0.00", "total": "50.00", "mrr_end": "0.00"},
            # 30.11 (150.55 × 20 % = 30.11) + 100.00
            {"month": "2026-12", "currency": "USD", "commissions": "130.11", "orders": 2, "order_value": "1150.55"}
            | {"subscriptions": "0.00", "total": "130.11", "mrr_end": "0.00"},
        ]
    }


def test_monthly_revenue_filters_by_workspace_and_dates(client, admin, bearer, commissions):
    headers = bearer(admin)
    a = commissions["a"].id
    body = client.get(f"/api/admin/revenue/monthly?tenant_id={a}", headers=headers).get_json()
    assert [(m["month"], m["commissions"], m["orders"]) for m in body["months"]] == [
        ("2026-11", "40.00", 1),
        ("2026-12", "30.11", 1),
    ]
    body = client.get("/api/admin/revenue/monthly?from=2026-12&to=2026-12", headers=headers).get_json()
    assert [m["month"] for m in body["months"]] == ["2026-12"]


def test_commissions_api_lists_newest_first_with_money_as_strings(client, admin, bearer, commissions):
    headers = bearer(admin)
    body = client.get("/api/admin/commissions", headers=headers).get_json()
    assert body["total"] == 4 and body["page"] == 1 and body["pages"] == 1
    refs = [c["reference"] for c in body["commissions"]]
    assert refs == [commissions[k].reference for k in ("a_dec", "b_dec", "b_nov", "a_nov")]
    first = body["commissions"][0]
    assert first["tenant_name"] == "Alpha Sprays" and first["plan"] == "starter"
    assert (first["rate"], first["base_amount"], first["amount"], first["currency"]) == (
        "0.2000", "150.55", "30.11", "USD"
    )  # fmt: skip
    assert body["totals"] == [{"currency": "USD", "orders": 4, "order_value": "1450.54", "commissions": "180.11"}]

    b = commissions["b"].id
    body = client.get(f"/api/admin/commissions?tenant_id={b}&from=2026-12-01&to=2026-12-31", headers=headers)
    assert [c["reference"] for c in body.get_json()["commissions"]] == [commissions["b_dec"].reference]
    bad = client.get("/api/admin/commissions?from=yesterday&page=0", headers=headers)
    assert bad.status_code == 422 and "from" in bad.get_json()["errors"]


def test_commissions_page_shows_the_table_and_monthly_revenue(client, admin, login, commissions):
    login(admin)
    html = client.get("/admin/procurement/commissions").get_data(as_text=True)
    for key in ("a_nov", "a_dec", "b_dec", "b_nov"):
        assert commissions[key].reference in html
    assert "Alpha Sprays" in html and "Beta Mist" in html
    assert "2026-11" in html and "50.00 USD" in html and "130.11 USD" in html
    assert "180.11 USD</strong> on 4 paid orders worth 1,450.54 USD" in html
    filtered = client.get(
        f"/admin/procurement/commissions?tenant_id={commissions['b'].id}", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert commissions["b_dec"].reference in filtered and commissions["a_dec"].reference not in filtered
    assert "<h1>" not in filtered  # the fragment only
