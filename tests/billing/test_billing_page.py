"""The billing page and the subscription-changing API: what an admin sees, subscribing, changing plan with
a proration confirmation, cancel at period end and resume, the portal — offline through the same events,
and on Stripe through the real SDK with the exact parameters recorded."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from aerospec.billing.models import BillingSubscription
from aerospec.tenancy.scoping import tenant_scope
from tests.api import conftest as api_fixtures
from tests.api.conftest import assert_problem
from tests.billing.helpers import RecordingHTTPClient, logged_in_client

tokens = api_fixtures.tokens
bearer = api_fixtures.bearer

DAY = timedelta(days=1)
PRICES = {
    "STRIPE_PRICE_STARTER_MONTH": "price_starter_month",
    "STRIPE_PRICE_STARTER_YEAR": "price_starter_year",
    "STRIPE_PRICE_PROFESSIONAL_MONTH": "price_pro_month",
    "STRIPE_PRICE_PROFESSIONAL_YEAR": "price_pro_year",
    "STRIPE_PRICE_PROFESSIONAL_SEAT_MONTH": "price_pro_seat_month",
    "STRIPE_PRICE_PROFESSIONAL_SEAT_YEAR": "price_pro_seat_year",
}


def sub_row(db, tenant, *, provider="stripe", plan="professional", interval="month", extra_seats=0, **fields) -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    with tenant_scope(db.session, tenant.id):
        row = BillingSubscription(
            tenant_id=tenant.id,
            provider=provider,
            provider_customer_id=tenant.billing_customer_id,
            provider_subscription_id=f"sub_{provider}_{tenant.slug}",
            plan=plan,
            interval=interval,
            status=fields.pop("status", "active"),
            extra_seats=extra_seats,
            current_period_start=now - 10 * DAY,
            current_period_end=now + 20 * DAY,
            provider_updated_at=now - 10 * DAY,
            **fields,
        )
        tenant.extra_seats = extra_seats  # the mirror keeps the seat limit in step
        db.session.add(row)
        db.session.commit()
        return row.provider_subscription_id  # read in the tenant's scope (RLS on PostgreSQL)


def mirror(db, tenant) -> BillingSubscription:
    with tenant_scope(db.session, tenant.id):
        db.session.expire_all()
        [row] = db.session.scalars(select(BillingSubscription)).all()
        return row


# -- the page --------------------------------------------------------------------------------------


def test_admin_sees_plan_status_usage_bars_plans_and_the_offline_portal(client, team, login, tenant_url):
    t = team(trial_ends_at=datetime.now(UTC) + 5 * DAY + timedelta(hours=1))
    login(t.admin)
    response = client.get(tenant_url(t.tenant, "billing"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Professional plan" in html and "Free trial" in html and "6 days left" in html
    assert html.count("<progress") >= 2  # every counted limit as a bar, with its numbers in words
    assert re.search(r"0 of 50 \(0 %\)", html)
    assert "Subscribe to Starter" in html and "Talk to us" in html
    assert "keeps your remaining trial days" in html
    # offline: the portal link goes to the stand-in page, and we say that it is one
    assert f'href="/t/{t.tenant.slug}/billing/portal">Manage payment details</a>' in html
    assert "stand-in for Stripe's hosted portal" in html
    assert 'style="' not in html  # CSP: no inline styles
    assert f'href="/t/{t.tenant.slug}/billing" aria-current="page">Billing</a>' in html


def test_the_interval_switch_renders_annual_prices_and_as_a_fragment(client, team, login, tenant_url):
    t = team()
    login(t.admin)
    html = client.get(tenant_url(t.tenant, "billing?interval=year")).get_data(as_text=True)
    assert 'USD 21,600 <span class="price-unit">a year for the workspace</span>' in html
    # Only the seat add-on is priced per seat.
    assert "per seat a year" not in html.replace("Extra seats: USD 4,320 per seat a year", "")
    fragment = client.get(tenant_url(t.tenant, "billing?interval=year"), headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section class="card" id="plan-choice"') and "<html" not in body


@pytest.mark.parametrize("role", ["user", "viewer"])
def test_only_admins_open_the_billing_page_and_see_its_link(client, team, login, tenant_url, role):
    t = team()
    login(getattr(t, role))
    assert client.get(tenant_url(t.tenant, "billing")).status_code == 403
    assert ">Billing</a>" not in client.get(tenant_url(t.tenant, "")).get_data(as_text=True)


def test_another_tenants_billing_page_is_not_found(client, team, login, tenant_url):
    mine, theirs = team(), team()
    login(mine.admin)
    assert client.get(tenant_url(theirs.tenant, "billing")).status_code == 404
    assert client.post(tenant_url(theirs.tenant, "billing/cancel")).status_code == 404


def test_a_suspended_workspace_still_reaches_its_billing_page(client, team, login, tenant_url):
    t = team(subscription_status="suspended")
    login(t.admin)
    response = client.get(tenant_url(t.tenant, "billing"))
    assert response.status_code == 200 and "Suspended" in response.get_data(as_text=True)


# -- offline, end to end through the pages ---------------------------------------------------------


def test_offline_subscribe_change_plan_cancel_and_resume_through_the_page(client, db, team, login, tenant_url):
    t = team(subscription_status="expired", trial_ends_at=datetime.now(UTC) - DAY)
    login(t.admin)
    start = client.post(tenant_url(t.tenant, "billing/plan"), data={"plan": "professional", "interval": "month"})
    assert start.status_code == 303 and "/billing/offline/checkout/cs_offline_" in start.headers["Location"]
    paid = client.post(start.headers["Location"].removeprefix("http://testserver"), data={"outcome": "pay"})
    assert paid.headers["Location"].endswith(f"/t/{t.tenant.slug}/billing?checkout=success")

    html = client.get(tenant_url(t.tenant, "billing")).get_data(as_text=True)
    assert "Active" in html and "Billed monthly" in html and "Renews" in html
    assert "Professional workspace price, includes 5 seats" in html and "USD 2,000 a month" in html
    assert "3 members of 5" in html  # the price is the workspace's, not 3 × USD 2,000
    assert "AS-" in html  # the first invoice, in the table
    assert "Cancel subscription" in html

    # Annual billing: the running subscription goes to a confirmation with the estimate first.
    ask = client.post(tenant_url(t.tenant, "billing/plan"), data={"plan": "professional", "interval": "year"})
    assert ask.status_code == 303 and "/billing/change?" in ask.headers["Location"]
    confirm = client.get(ask.headers["Location"]).get_data(as_text=True)
    assert "Switch to Professional, billed annually?" in confirm
    assert "Unused time on Professional plan (monthly)" in confirm and "Charged now" in confirm
    assert "Professional plan (annual)" in confirm and "USD 21,600.00" in confirm  # a whole new (annual) period
    done = client.post(tenant_url(t.tenant, "billing/change"), data={"plan": "professional", "interval": "year"})
    assert done.status_code == 303
    row = mirror(db, t.tenant)
    assert (row.plan, row.interval, row.extra_seats) == ("professional", "year", 0)

    assert "Cancel your Professional subscription?" in client.get(tenant_url(t.tenant, "billing/cancel")).get_data(
        as_text=True
    )
    assert client.post(tenant_url(t.tenant, "billing/cancel")).status_code == 303
    assert mirror(db, t.tenant).cancel_at_period_end is True
    html = client.get(tenant_url(t.tenant, "billing")).get_data(as_text=True)
    assert "Resume subscription" in html and "set to end" in html

    assert "Resume your Professional" in client.get(tenant_url(t.tenant, "billing/resume")).get_data(as_text=True)
    assert client.post(tenant_url(t.tenant, "billing/resume")).status_code == 303
    row = mirror(db, t.tenant)
    assert row.cancel_at_period_end is False and row.status == "active"
    db.session.refresh(t.tenant)
    assert t.tenant.subscription_status == "active"


def test_offline_api_cancel_resume_and_the_offline_portal(client, db, team, bearer):
    t = team(subscription_status="active", billing_customer_id="cus_offline_abc")
    sub_row(db, t.tenant, provider="offline")
    headers = bearer(t.admin)
    body = client.delete("/api/billing/cancel", headers=headers).get_json()
    assert body["subscription"]["cancel_at_period_end"] is True
    assert_problem(client.delete("/api/billing/cancel", headers=headers), 409)
    assert (
        client.post("/api/billing/resume", headers=headers).get_json()["subscription"]["cancel_at_period_end"] is False
    )
    portal = client.get("/api/billing/portal-session", headers=headers)
    assert portal.status_code == 200
    assert portal.get_json() == {"url": f"http://testserver/t/{t.tenant.slug}/billing/portal"}


def test_offline_preview_is_the_prorated_difference(client, db, team, bearer):
    t = team(subscription_status="active", billing_customer_id="cus_offline_abc")
    t.tenant.limits = {"seats": 3}  # a platform admin's override lets the 3-member team stay on Starter
    sub_row(db, t.tenant, provider="offline", plan="starter")
    response = client.post(
        "/api/billing/change-plan",
        json={"plan": "professional", "interval": "month", "preview": True},
        headers=bearer(t.admin),
    )
    proration = response.get_json()["proration"]
    # 20 of 30 days left: credit 2/3 of USD 500, charge 2/3 of USD 2,000 → USD 1,000.00
    assert proration["source"] == "offline" and abs(proration["amount_due"] - 100_000) <= 10
    assert [line["amount"] < 0 for line in proration["lines"]] == [True, False]


# -- Stripe, through the real SDK ------------------------------------------------------------------


def stripe_subscription(sub_id: str, customer: str, **fields) -> dict:
    now = int(datetime.now(UTC).timestamp())
    obj = {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": "active",
        "cancel_at_period_end": False,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": "si_Item1",
                    "object": "subscription_item",
                    "price": {"id": "price_pro_month", "object": "price", "recurring": {"interval": "month"}},
                    "quantity": 1,
                    "current_period_start": now - 10 * 86400,
                    "current_period_end": now + 20 * 86400,
                }
            ],
        },
        "metadata": {},
    }
    obj.update(fields)
    return obj


@pytest.fixture
def on_stripe(build_app, db, team):
    app = build_app(STRIPE_SECRET_KEY="sk_test_abc123", **PRICES)
    app.recorder = RecordingHTTPClient()
    app.extensions["aerospec_stripe_http_client"] = app.recorder
    t = team(subscription_status="active", billing_customer_id="cus_Stripe1")
    return app, t, sub_row(db, t.tenant)


def test_change_plan_previews_and_changes_through_stripe_with_exact_parameters(on_stripe, db, bearer):
    app, t, sub_id = on_stripe
    current = stripe_subscription(sub_id, "cus_Stripe1")
    preview = {
        "object": "invoice",
        "amount_due": 2_026_667,
        "total": 2_026_667,
        "currency": "usd",
        "lines": {
            "data": [
                {"description": "Unused time on Professional", "amount": -133_333},
                {"description": "Professional (annual)", "amount": 2_160_000},
            ]
        },
    }
    annual = stripe_subscription(sub_id, "cus_Stripe1")
    annual["items"]["data"][0]["price"] = {"id": "price_pro_year", "object": "price", "recurring": {"interval": "year"}}
    app.recorder.responses = [(200, current), (200, preview), (200, current), (200, annual)]
    client = app.test_client()
    headers = bearer(t.admin)

    asked = client.post(
        "/api/billing/change-plan", json={"plan": "professional", "interval": "year", "preview": True}, headers=headers
    )
    assert asked.status_code == 200, asked.get_data(as_text=True)
    proration = asked.get_json()["proration"]
    assert (proration["amount_due"], proration["source"]) == (2_026_667, "stripe")
    stamp = proration["proration_date"]

    changed = client.post(
        "/api/billing/change-plan",
        json={"plan": "professional", "interval": "year", "proration_date": stamp},
        headers=headers,
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["subscription"]["interval"] == "year"

    get1, previewed, get2, update = app.recorder.calls
    assert (get1["method"], get1["url"]) == ("get", f"https://api.stripe.com/v1/subscriptions/{sub_id}")
    assert (previewed["method"], previewed["url"]) == ("post", "https://api.stripe.com/v1/invoices/create_preview")
    assert previewed["params"] == {
        "customer": "cus_Stripe1",
        "subscription": sub_id,
        "subscription_details[items][0][id]": "si_Item1",
        "subscription_details[items][0][price]": "price_pro_year",
        "subscription_details[items][0][quantity]": "1",
        "subscription_details[proration_behavior]": "always_invoice",
        "subscription_details[proration_date]": str(stamp),
    }
    assert get2["method"] == "get"
    assert (update["method"], update["url"]) == ("post", f"https://api.stripe.com/v1/subscriptions/{sub_id}")
    assert update["params"] == {
        "items[0][id]": "si_Item1",
        "items[0][price]": "price_pro_year",
        "items[0][quantity]": "1",  # the workspace price: one per workspace, whatever the members
        "proration_behavior": "always_invoice",
        "proration_date": str(stamp),
        "expand[0]": "latest_invoice",
        "metadata[kind]": "subscription",
        "metadata[tenant_id]": str(t.tenant.id),
        "metadata[plan]": "professional",
        "metadata[interval]": "year",
        "metadata[extra_seats]": "0",
    }
    assert mirror(db, t.tenant).interval == "year"  # applied from Stripe's answer at once


def test_cancel_and_resume_send_cancel_at_period_end_to_stripe(on_stripe, db, bearer):
    app, t, sub_id = on_stripe
    app.recorder.responses = [
        (200, stripe_subscription(sub_id, "cus_Stripe1", cancel_at_period_end=True)),
        (200, stripe_subscription(sub_id, "cus_Stripe1", cancel_at_period_end=False)),
    ]
    client = app.test_client()
    headers = bearer(t.admin)
    assert client.delete("/api/billing/cancel", headers=headers).get_json()["subscription"]["cancel_at_period_end"]
    assert mirror(db, t.tenant).cancel_at_period_end is True
    assert client.post("/api/billing/resume", headers=headers).status_code == 200
    assert mirror(db, t.tenant).cancel_at_period_end is False
    cancel, resume = app.recorder.calls
    assert (cancel["method"], cancel["url"]) == ("post", f"https://api.stripe.com/v1/subscriptions/{sub_id}")
    assert cancel["params"] == {"cancel_at_period_end": "true"}
    assert resume["params"] == {"cancel_at_period_end": "false"}


def test_portal_session_for_the_tenants_customer(on_stripe, bearer, login, tenant_url):
    app, t, _ = on_stripe
    portal = {"id": "bps_1", "object": "billing_portal.session", "url": "https://billing.stripe.com/p/session/test_1"}
    app.recorder.responses = [(200, portal)]
    response = app.test_client().get("/api/billing/portal-session", headers=bearer(t.admin))
    assert response.get_json() == {"url": "https://billing.stripe.com/p/session/test_1"}
    [call] = app.recorder.calls
    assert (call["method"], call["url"]) == ("post", "https://api.stripe.com/v1/billing_portal/sessions")
    assert call["params"] == {"customer": "cus_Stripe1", "return_url": f"http://testserver/t/{t.tenant.slug}/billing"}


def test_the_portal_page_redirects_to_a_stripe_portal_session_for_the_tenants_customer(on_stripe, db, tenant_url):
    app, t, _ = on_stripe
    portal = {"id": "bps_2", "object": "billing_portal.session", "url": "https://billing.stripe.com/p/session/test_2"}
    app.recorder.responses = [(200, portal)]
    client = logged_in_client(app, db, t.admin)
    assert "Offline stand-in" not in client.get(tenant_url(t.tenant, "billing")).get_data(as_text=True)
    response = client.get(tenant_url(t.tenant, "billing/portal"))
    assert response.status_code == 303
    assert response.headers["Location"] == "https://billing.stripe.com/p/session/test_2"
    [call] = app.recorder.calls
    assert (call["method"], call["url"]) == ("post", "https://api.stripe.com/v1/billing_portal/sessions")
    assert call["params"] == {"customer": "cus_Stripe1", "return_url": f"http://testserver/t/{t.tenant.slug}/billing"}


def test_api_change_plan_to_enterprise_or_the_same_plan_is_refused(on_stripe, bearer):
    app, t, _ = on_stripe
    client = app.test_client()
    headers = bearer(t.admin)
    assert_problem(client.post("/api/billing/change-plan", json={"plan": "enterprise"}, headers=headers), 422)
    same = client.post("/api/billing/change-plan", json={"plan": "professional", "interval": "month"}, headers=headers)
    assert_problem(same, 409)
    assert app.recorder.calls == []
