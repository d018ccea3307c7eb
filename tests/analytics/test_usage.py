"""Usage over time and the most used SKUs and fluids: counted from the rows the app keeps, per day, week or
month; what the app does not record (predictions, quotes; API calls by day or week) is said, never made up."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from aerospec.analytics import services as analytics
from aerospec.billing.models import UsageRollup
from aerospec.compliance import services as audit
from aerospec.configurations.models import Configuration
from aerospec.limits import counters
from aerospec.procurement.models import Procurement, ProcurementLineItem
from aerospec.tenancy.models import Membership
from aerospec.tenancy.scoping import tenant_scope
from tests.analytics.conftest import month
from tests.api.conftest import assert_problem

NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)


def _order(db, ns, at: datetime, sku: str, qty: int, config_id=None) -> Procurement:
    order = Procurement(
        tenant_id=ns.tenant.id,
        configuration_id=config_id,
        created_by_id=ns.user.id,
        reference=f"PO-{uuid.uuid4().hex[:8].upper()}",
        selected_supplier=ns.supplier,
        ship_to_address={
            "name": "Lab",
            "line1": "1 Main St",
            "city": "Austin",
            "postal_code": "78701",
            "country": "US",
        },
        idempotency_key=uuid.uuid4().hex,
        total=Decimal("10.00"),
    )
    order.items.append(ProcurementLineItem(tenant_id=ns.tenant.id, sku=sku, qty=qty))
    db.session.add(order)
    db.session.flush()
    order.created_at = at
    return order


@pytest.fixture
def busy(lab, record, make_config, db):
    """Configurations in January (2) and March (1), an order in February, lab results in March, 40 API calls
    rolled up for February, and a member removed in February."""
    ns = lab()
    ns.config2 = make_config(ns.tenant, ns.user, name="Second", fluid_name="Glycerol 50 %")
    ns.config3 = make_config(ns.tenant, ns.user, name="Third", fluid_name="Glycerol 50 %")
    record(ns, flow=1.0, at=month(2026, 3))
    with tenant_scope(db.session, ns.tenant.id):
        for config, at in (
            (ns.config, month(2026, 1, 5)),
            (ns.config2, month(2026, 1, 20)),
            (ns.config3, month(2026, 3)),
        ):
            db.session.get(Configuration, config.id).created_at = at
        _order(db, ns, month(2026, 2, 3), ns.sku, 12, ns.config.id)
        db.session.add(
            UsageRollup(
                tenant_id=ns.tenant.id, metric="api_calls_per_month", period="2026-02", count=40, updated_at=NOW
            )
        )
        entry = audit.record(
            db.session,
            ns.tenant.id,
            "member.removed",
            actor=ns.admin,
            target_type="user",
            details={"email": "gone@example.com", "role": "user"},
        )
        entry.created_at = month(2026, 2, 14)
        ns.tenant.created_at = datetime(2025, 12, 1, tzinfo=UTC)
        for m in db.session.scalars(select(Membership).where(Membership.tenant_id == ns.tenant.id)):
            m.created_at = month(2026, 3, 20)
        db.session.commit()
    return ns


def _usage(db, ns, granularity="month", start=date(2026, 1, 1), end=date(2026, 4, 30)):
    with tenant_scope(db.session, ns.tenant.id):
        return analytics.usage_over_time(
            db.session,
            ns.tenant,
            analytics.DateRange(start, end),
            granularity,
            counter=counters.DatabaseCounter(),
            now=NOW,
        )


def test_by_month_each_series_counts_its_rows(db, busy):
    data = _usage(db, busy)
    assert [p.isoformat() for p in data.periods] == ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]
    assert data.series["configurations"] == [2, 0, 1, 0]
    assert data.series["orders"] == [0, 1, 0, 0]
    assert data.series["lab_results"] == [0, 0, 1, 0]
    assert data.series["api_calls"] == [0, 40, 0, 0]
    # 4 members who joined on 20 March; the one removed on 14 Feb counts (from the workspace's start) until then.
    assert data.series["seats"] == [1, 0, 4, 4]


def test_what_is_not_recorded_is_none_with_the_reason(db, busy):
    data = _usage(db, busy, "week", date(2026, 1, 1), date(2026, 3, 31))
    assert data.series["predictions"] is None and data.series["quotes"] is None
    assert data.series["api_calls"] is None and "per calendar month" in data.notes["api_calls"]
    assert "without storing them" in data.notes["predictions"]
    assert data.periods[0] == date(2025, 12, 29)  # weeks start on Monday
    assert sum(data.series["configurations"]) == 3


def test_by_day_and_a_range_too_long_for_it(db, busy):
    data = _usage(db, busy, "day", date(2026, 1, 1), date(2026, 1, 31))
    assert len(data.periods) == 31 and data.series["configurations"][4] == 1 and data.series["configurations"][19] == 1
    with pytest.raises(analytics.ValidationFailed) as refused:
        _usage(db, busy, "day", date(2024, 1, 1), date(2026, 1, 31))
    assert "more than 400 days" in refused.value.field_errors["from"][0]


def test_the_api_says_what_is_not_recorded_and_refuses_bad_parameters(client, busy, bearer):
    headers = bearer(busy.user, busy.tenant)
    body = client.get(
        "/api/analytics/usage?granularity=month&from=2026-01-01&to=2026-04-30", headers=headers
    ).get_json()
    assert body["series"]["configurations"]["values"] == [2, 0, 1, 0] and body["series"]["configurations"]["total"] == 3
    assert body["series"]["predictions"] == {
        "recorded": False,
        "values": None,
        "total": None,
        "source": analytics.NOT_RECORDED["predictions"],
    }
    assert body["series"]["quotes"]["recorded"] is False
    assert_problem(client.get("/api/analytics/usage?granularity=hour", headers=headers), 422, fields=("granularity",))
    assert_problem(
        client.get("/api/analytics/usage?granularity=day&from=2000-01-01", headers=headers), 422, fields=("from",)
    )
    assert_problem(client.get("/api/analytics/usage", headers=bearer(busy.viewer, busy.tenant)), 403)


def test_another_workspace_counts_none_of_these_rows(client, busy, lab, bearer):
    other = lab()
    body = client.get("/api/analytics/usage?from=2026-01-01&to=2026-03-31", headers=bearer(other.user, other.tenant))
    series = body.get_json()["series"]
    assert series["configurations"]["total"] == 0 and series["orders"]["total"] == 0
    assert series["lab_results"]["total"] == 0 and series["api_calls"]["total"] == 0
    top = client.get("/api/analytics/top-configurations", headers=bearer(other.user, other.tenant)).get_json()
    assert "Glycerol 50 %" not in [f["fluid"] for f in top["fluids"]]


def test_the_usage_page_charts_the_series_and_says_what_is_not_recorded(client, login, tenant_url, busy):
    login(busy.user)
    html = client.get(tenant_url(busy.tenant, "analytics/usage?from=2026-01-01&to=2026-04-30")).get_data(as_text=True)
    assert 'id="chart-usage"' in html and 'id="chart-seats"' in html and 'id="table-usage"' in html
    for name in ("predictions", "quotes"):
        section = html.split(f'id="source-{name}"')[1].split("</dd>")[0]
        assert "not recorded" in section
    assert "API calls" in html.split('id="table-usage"')[1].split("</thead>")[0]
    week = client.get(tenant_url(busy.tenant, "analytics/usage?granularity=week")).get_data(as_text=True)
    assert "API calls" not in week.split('id="table-usage"')[1].split("</thead>")[0]
    bad = client.get(tenant_url(busy.tenant, "analytics/usage?granularity=hour")).get_data(as_text=True)
    assert 'aria-describedby="range-granularity-error"' in bad and "Choose day, week or month." in bad


def test_top_configurations_counts_rankings_orders_and_lab_results(db, busy, client, bearer, login, tenant_url):
    with tenant_scope(db.session, busy.tenant.id):
        data = analytics.top_configurations(db.session, busy.tenant, analytics.DateRange(None, None))
    first = data.skus[0]
    assert (first["sku"], first["supplier"]) == (busy.sku, busy.supplier)
    assert (first["top_ranked"], first["ranked"], first["orders"], first["units_ordered"], first["lab_results"]) == (
        3,
        3,
        1,
        12,
        1,
    )
    assert first["family"] != analytics.FAMILY_UNKNOWN
    assert [(f["fluid"], f["configurations"], f["orders"], f["lab_results"]) for f in data.fluids] == [
        ("Glycerol 50 %", 2, 0, 0),
        ("Water", 1, 1, 1),
    ]
    jan = client.get(
        "/api/analytics/top-configurations?from=2026-01-01&to=2026-01-31", headers=bearer(busy.user, busy.tenant)
    ).get_json()
    assert [(f["fluid"], f["configurations"]) for f in jan["fluids"]] == [("Glycerol 50 %", 1), ("Water", 1)]
    login(busy.user)
    html = client.get(tenant_url(busy.tenant, "analytics/top-configurations")).get_data(as_text=True)
    assert 'id="chart-top-skus"' in html and 'id="table-skus"' in html and "Glycerol 50 %" in html


def test_an_empty_workspace_sees_empty_states(client, login, tenant_url, team):
    ns = team()
    login(ns.user)
    assert "No configurations yet" in client.get(tenant_url(ns.tenant, "analytics/top-configurations")).get_data(
        as_text=True
    )
    usage = client.get(tenant_url(ns.tenant, "analytics/usage")).get_data(as_text=True)
    assert 'id="table-usage"' in usage  # zeros are real counts: the table is there with them
