"""The downgrade guard: a running subscription cannot move to a plan with fewer seats than the workspace has
members. The confirmation page says so before any button, the change itself is refused (409) on the page
and the API, with the numbers, and nothing reaches the payment provider."""

from __future__ import annotations

import pytest

from aerospec.billing import subscriptions
from aerospec.tenancy.scoping import tenant_scope
from tests.api import conftest as api_fixtures
from tests.api.conftest import assert_problem
from tests.billing.helpers import RecordingHTTPClient
from tests.billing.test_billing_page import PRICES, mirror, sub_row

tokens = api_fixtures.tokens
bearer = api_fixtures.bearer

REFUSAL = (
    "Starter includes 1 seat, and this workspace has 3 members. "
    "Remove 2 members on the Members page before switching to Starter, or keep a plan with more seats."
)


@pytest.fixture
def on_professional(db, team):
    """Three members on a running offline Professional subscription (5 seats)."""
    t = team(subscription_status="active", billing_customer_id="cus_offline_fit")
    sub_row(db, t.tenant, provider="offline", plan="professional")
    return t


def test_confirmation_page_shows_why_before_any_button(client, db, on_professional, login, tenant_url):
    t = on_professional
    login(t.admin)
    response = client.get(tenant_url(t.tenant, "billing/change?plan=starter&interval=month"))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "This change cannot be made yet." in html and REFUSAL in html
    assert f'href="/t/{t.tenant.slug}/members">Go to Members</a>' in html
    assert "Switch to Starter</button>" not in html and "Charged now" not in html


def test_posting_the_change_anyway_is_refused_and_changes_nothing(client, db, on_professional, login, tenant_url):
    t = on_professional
    login(t.admin)
    response = client.post(tenant_url(t.tenant, "billing/change"), data={"plan": "starter", "interval": "month"})
    assert response.status_code == 409 and REFUSAL in response.get_data(as_text=True)
    row = mirror(db, t.tenant)
    assert (row.plan, row.interval) == ("professional", "month")
    db.session.refresh(t.tenant)
    assert t.tenant.plan == "professional"


def test_billing_page_marks_the_plans_the_team_does_not_fit(client, on_professional, login, tenant_url):
    t = on_professional
    login(t.admin)
    html = client.get(tenant_url(t.tenant, "billing")).get_data(as_text=True)
    assert html.count("Too small for your 3 members") == 1  # Starter only


def test_api_preview_and_change_are_refused_with_the_numbers(client, db, on_professional, bearer):
    t = on_professional
    headers = bearer(t.admin)
    for body in ({"plan": "starter", "preview": True}, {"plan": "starter"}):
        problem = assert_problem(client.post("/api/billing/change-plan", json=body, headers=headers), 409)
        assert problem["title"] == "The workspace does not fit this plan" and problem["detail"] == REFUSAL
    assert mirror(db, t.tenant).plan == "professional"


def test_stripe_is_not_asked_when_the_team_does_not_fit(build_app, db, team, bearer):
    app = build_app(STRIPE_SECRET_KEY="sk_test_abc123", **PRICES)
    app.extensions["aerospec_stripe_http_client"] = recorder = RecordingHTTPClient()
    t = team(subscription_status="active", billing_customer_id="cus_Stripe1")
    sub_row(db, t.tenant)
    response = app.test_client().post("/api/billing/change-plan", json={"plan": "starter"}, headers=bearer(t.admin))
    assert assert_problem(response, 409)["detail"] == REFUSAL
    assert recorder.calls == []


def test_a_team_that_fits_downgrades(client, db, factories, bearer):
    tenant = factories.TenantFactory(subscription_status="active", billing_customer_id="cus_offline_solo")
    admin = factories.member(tenant, "admin")
    db.session.commit()
    sub_row(db, tenant, provider="offline", plan="professional")
    response = client.post("/api/billing/change-plan", json={"plan": "starter"}, headers=bearer(admin))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert mirror(db, tenant).plan == "starter"


def test_a_seat_override_counts_on_the_new_plan_too(client, db, team, bearer):
    t = team(subscription_status="active", billing_customer_id="cus_offline_big", limits={"seats": 3})
    sub_row(db, t.tenant, provider="offline", plan="professional")
    with tenant_scope(db.session, t.tenant.id):
        assert subscriptions.downgrade_blocker(db.session, t.tenant, "starter") is None
    response = client.post(
        "/api/billing/change-plan", json={"plan": "starter", "preview": True}, headers=bearer(t.admin)
    )
    assert response.status_code == 200


def test_an_interval_switch_on_the_same_plan_is_never_blocked(client, db, team, bearer):
    # Already over its seats (the plan shrank under it): switching to annual billing makes nothing worse.
    t = team(
        plan="starter",
        subscription_status="active",
        billing_customer_id="cus_offline_over",
        limits={"api_calls_per_month": None},
        features={"api_access": True},
    )
    sub_row(db, t.tenant, provider="offline", plan="starter")
    response = client.post(
        "/api/billing/change-plan",
        json={"plan": "starter", "interval": "year", "preview": True},
        headers=bearer(t.admin),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
