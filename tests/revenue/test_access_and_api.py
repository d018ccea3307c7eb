"""Who gets in (platform admins only: every revenue page, CSV and API route answers 404 to anyone else),
what the admin metrics API answers (money as strings, bad query parameters as 422 problem+json), the
monthly revenue API with subscription revenue beside commissions, and every CSV export."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest
import time_machine

from aerospec.billing.models import Invoice
from aerospec.tenancy.scoping import tenant_scope
from tests.api import conftest as api_fixtures
from tests.api.conftest import assert_problem
from tests.revenue.conftest import NOW

tokens = api_fixtures.tokens
bearer = api_fixtures.bearer

API = [
    "/api/admin/metrics",
    "/api/admin/metrics/growth?period=30d",
    "/api/admin/usage/top-organizations?metric=mrr",
    "/api/admin/usage/violations",
]


def page_routes(app) -> list[str]:
    """Every GET route of the revenue blueprint, with each CSV export's name filled in."""
    from aerospec.revenue.views import EXPORTS

    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("revenue."):
            continue
        if "name" in rule.arguments:
            urls += [rule.build({"name": name})[1] for name in EXPORTS]
        else:
            urls.append(rule.rule)
    return urls


@pytest.fixture
def admin(db, factories):
    """A platform admin who is also a member of a workspace (API tokens name one)."""
    user = factories.UserFactory(is_platform_admin=True)
    factories.member(factories.TenantFactory(), "admin", user=user)
    db.session.commit()
    return user


def test_every_revenue_page_and_export_is_404_for_anyone_but_a_platform_admin(app, client, login, team, admin):
    urls = page_routes(app)
    assert "/admin/revenue" in urls and "/admin/revenue/definitions" in urls
    assert "/admin/revenue/export/movements.csv" in urls and len(urls) >= 12
    for url in urls:
        assert client.get(url).status_code == 404, url  # signed out
    t = team()
    for who in (t.admin, t.user, t.viewer):  # a workspace's own admin is not a platform admin
        login(who)
        for url in urls:
            assert client.get(url).status_code == 404, (who.email, url)
    login(admin)
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_every_admin_metrics_api_route_is_404_for_other_tokens(client, team, bearer, admin):
    t = team()
    for url in API:
        assert client.get(url).status_code == 401, url  # no token: say how to authenticate
        for who in (t.admin, t.user):
            assert_problem(client.get(url, headers=bearer(who, t.tenant)), 404)
        assert client.get(url, headers=bearer(admin)).status_code == 200, url


@pytest.mark.parametrize("period", ["", "1d", "30", "30D", "7d;drop", "9" * 40])
def test_a_growth_period_other_than_7d_30d_or_90d_is_a_422_problem(client, admin, bearer, period):
    body = assert_problem(
        client.get(f"/api/admin/metrics/growth?period={period}", headers=bearer(admin)), 422, fields=("period",)
    )
    assert "7d, 30d or 90d" in body["errors"]["period"][0]


def test_an_unknown_top_organizations_metric_is_a_422_problem(client, admin, bearer):
    assert_problem(
        client.get("/api/admin/usage/top-organizations?metric=revenue", headers=bearer(admin)), 422, fields=("metric",)
    )


def test_metrics_api_reports_the_hand_history_with_money_as_strings(client, admin, bearer, history):
    with time_machine.travel(NOW, tick=False):
        body = client.get("/api/admin/metrics", headers=bearer(admin)).get_json()
    assert (body["mrr"], body["arr"], body["paying_workspaces"], body["arpu"]) == ("5020.00", "60240.00", 3, "1673.33")
    march = next(m for m in body["months"] if m["month"] == "2026-03")
    assert march["movements"] == {
        "new": "0.00",
        "expansion": "720.00",
        "contraction": "-400.00",
        "churn": "-2500.00",
        "reactivation": "0.00",
    }
    assert (march["logo_churn"], march["nrr"]) == ("0.5000", "0.6746")  # 2 of 4; 4520 / 6700
    assert body["product"]["lab_result_submission_rate"] is None
    assert body["product"]["lab_result_submission_rate_status"] == "not collected yet"
    assert body["forecast"]["assumption"].startswith("A straight line from today's MRR")
    growth = client.get("/api/admin/metrics/growth?period=90d", headers=bearer(admin)).get_json()
    assert growth["period"] == "90d" and growth["days"] == 90


def test_monthly_revenue_includes_subscription_revenue_beside_commissions(client, admin, bearer, history, db):
    b = history.b
    with tenant_scope(db.session, b.id):
        db.session.add(
            Invoice(
                tenant_id=b.id,
                provider="stripe",
                provider_invoice_id="in_" + uuid.uuid4().hex[:10],
                status="paid",
                currency="usd",
                total=2_160_000 + 5_000,
                amount_paid=2_160_000 + 5_000,
                paid_at=datetime(2026, 1, 24, 9, tzinfo=UTC),
                lines=[
                    {
                        "description": "Professional (annual)",
                        "quantity": 1,
                        "amount": 2_160_000,
                        "kind": "subscription",
                    },
                    {"description": "Commission PO-1", "quantity": 1, "amount": 5_000, "kind": "commission"},
                ],
            )
        )
        db.session.commit()
    months = client.get("/api/admin/revenue/monthly", headers=bearer(admin)).get_json()["months"]
    january = next(m for m in months if m["month"] == "2026-01")
    # The subscription line only (the commission line is counted as commission where it was earned).
    assert january == {
        "month": "2026-01",
        "currency": "USD",
        "commissions": "0.00",
        "orders": 0,
        "order_value": "0.00",
        "subscriptions": "21600.00",
        "total": "21600.00",
        "mrr_end": "2300.00",  # A 500 + B 1800
    }


def _csv(client, name: str) -> list[dict]:
    response = client.get(f"/admin/revenue/export/{name}.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="aerospec-revenue-{name}.csv"'
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_exports_carry_every_table_with_the_hand_numbers(client, login, history, factories):
    admin = factories.UserFactory(is_platform_admin=True)  # in no workspace: the history's five are all there is
    with time_machine.travel(NOW, tick=False):
        login(admin)  # signed in on 15 April 2026, the day the history is read on
        movements = _csv(client, "movements")
        cohorts = _csv(client, "cohorts")
        plans = _csv(client, "plans")
        conversion = _csv(client, "conversion")
        forecast = _csv(client, "forecast")
        for name in ("intervals", "orders", "suppliers", "active-users", "api-volume"):
            _csv(client, name)
    assert [(r["month"], r["mrr_end_usd"]) for r in movements] == [
        ("2026-01", "2300.00"),
        ("2026-02", "6700.00"),
        ("2026-03", "4520.00"),
        ("2026-04", "5020.00"),
    ]
    march = movements[2]
    assert (march["churn_usd"], march["contraction_usd"], march["expansion_usd"]) == ("-2500.00", "-400.00", "720.00")
    assert (march["logo_churn"], march["revenue_churn"], march["nrr"]) == ("0.5000", "0.4328", "0.6746")
    assert cohorts[0] == {
        "signup_month": "2026-01",
        "signups": "3",
        "month_0_paying": "2",
        "month_1_paying": "2",
        "month_2_paying": "1",
        "month_3_paying": "1",
    }
    assert [(r["plan"], r["interval"], r["mrr_usd"]) for r in plans][0] == ("professional", "year", "2520.00")
    assert [(r["signup_month"], r["converted"], r["conversion_rate"]) for r in conversion] == [
        ("2026-01", "2", "0.6667"),
        ("2026-02", "2", "1.0000"),
    ]
    assert len(forecast) == 12 and forecast[-1] == {"month": "2027-04", "forecast_mrr_usd": "23100.00"}


def test_the_dashboard_shows_the_figures_with_their_definitions(client, login, history, factories):
    admin = factories.UserFactory(is_platform_admin=True)
    with time_machine.travel(NOW, tick=False):
        login(admin)
        html = client.get("/admin/revenue").get_data(as_text=True)
    assert 'id="figure-mrr">USD 5,020.00<' in html
    assert 'id="figure-logo-churn">25.0 %<' in html
    assert "Not collected yet" in html
    assert html.count('<details class="definition">') >= 15
    assert html.count('<svg class="chart"') == 3  # MRR, movements, active users; no orders, so no orders chart
    assert "No paid orders yet" in html
    assert "10 MRR changes recorded from the payment provider" in html, html[
        html.find("How sure") : html.find("How sure") + 300
    ]
    assert "seeded sample history</strong>" not in html  # none of these workspaces is seeded
