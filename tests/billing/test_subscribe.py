"""Subscribing: POST /api/billing/subscribe opens a subscription-mode Checkout Session (the real stripe SDK,
recorded, with its exact parameters: one customer per tenant, price, seats, a trial carried over,
metadata, return URLs), Enterprise is "talk to us", and the offline checkout emits the same events
through the same intake, leaving the workspace subscribed with its first invoice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from aerospec.billing import lifecycle, subscriptions
from aerospec.billing.models import BillingEvent, BillingSubscription, Invoice, OfflineCheckoutSession
from aerospec.billing.providers import StripeProvider
from aerospec.tenancy.scoping import tenant_scope
from tests.api import conftest as api_fixtures
from tests.api.conftest import assert_problem
from tests.billing.helpers import RecordingHTTPClient, canned_checkout_session

tokens = api_fixtures.tokens
bearer = api_fixtures.bearer

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
PRICES = {
    "STRIPE_PRICE_STARTER_MONTH": "price_starter_month",
    "STRIPE_PRICE_STARTER_YEAR": "price_starter_year",
    "STRIPE_PRICE_PROFESSIONAL_MONTH": "price_pro_month",
    "STRIPE_PRICE_PROFESSIONAL_YEAR": "price_pro_year",
    "STRIPE_PRICE_PROFESSIONAL_SEAT_MONTH": "price_pro_seat_month",
    "STRIPE_PRICE_PROFESSIONAL_SEAT_YEAR": "price_pro_seat_year",
}


def canned_customer(customer_id: str = "cus_test_Q1w2E3") -> dict:
    """Stripe's answer to POST /v1/customers."""
    return {"id": customer_id, "object": "customer", "email": "billing@example.com", "livemode": False, "metadata": {}}


@pytest.fixture
def stripe_app(build_app):
    """An app on Stripe (the real SDK) whose HTTP is recorded; `stripe_app.recorder` answers canned JSON."""
    app = build_app(STRIPE_SECRET_KEY="sk_test_abc123", **PRICES)
    app.recorder = RecordingHTTPClient()
    app.extensions["aerospec_stripe_http_client"] = app.recorder
    return app


def return_urls(tenant) -> tuple[str, str]:
    page = lifecycle.billing_url(tenant)  # the billing page on BASE_URL
    assert page.startswith(f"http://testserver/t/{tenant.slug}/")
    return f"{page}?checkout=success", f"{page}?checkout=cancelled"


def test_subscribe_sends_exactly_the_checkout_parameters_and_carries_the_trial_over(stripe_app, db, team, bearer):
    with time_machine.travel(NOW, tick=False):
        t = team(trial_ends_at=NOW + 10 * DAY, billing_email="billing@acme.example", name="Acme Sprays")
        stripe_app.recorder.responses = [(200, canned_customer()), (200, canned_checkout_session("cs_test_sub1"))]

        response = stripe_app.test_client().post(
            "/api/billing/subscribe", json={"plan": "professional", "interval": "year"}, headers=bearer(t.admin)
        )

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json() == {
        "checkout_url": "https://checkout.stripe.com/c/pay/cs_test_sub1",
        "session_id": "cs_test_sub1",
    }
    customer, checkout = stripe_app.recorder.calls
    assert (customer["method"], customer["url"]) == ("post", "https://api.stripe.com/v1/customers")
    assert customer["params"] == {
        "name": "Acme Sprays",
        "email": "billing@acme.example",
        "metadata[tenant_id]": str(t.tenant.id),
        "metadata[tenant_slug]": t.tenant.slug,
    }
    assert customer["headers"]["Idempotency-Key"] == f"aerospec-customer-{t.tenant.id}"
    success, cancel = return_urls(t.tenant)
    tenant_id = str(t.tenant.id)
    assert (checkout["method"], checkout["url"]) == ("post", "https://api.stripe.com/v1/checkout/sessions")
    assert checkout["params"] == {
        "mode": "subscription",
        "line_items[0][price]": "price_pro_year",
        "line_items[0][quantity]": "1",  # the workspace price: 3 members fit in the 5 included seats
        "customer": "cus_test_Q1w2E3",
        "client_reference_id": tenant_id,
        "metadata[kind]": "subscription",
        "metadata[tenant_id]": tenant_id,
        "metadata[plan]": "professional",
        "metadata[interval]": "year",
        "metadata[extra_seats]": "0",
        "subscription_data[metadata][kind]": "subscription",
        "subscription_data[metadata][tenant_id]": tenant_id,
        "subscription_data[metadata][plan]": "professional",
        "subscription_data[metadata][interval]": "year",
        "subscription_data[metadata][extra_seats]": "0",
        "subscription_data[trial_end]": str(int((NOW + 10 * DAY).timestamp())),
        "success_url": success,
        "cancel_url": cancel,
    }
    db.session.refresh(t.tenant)
    assert t.tenant.billing_customer_id == "cus_test_Q1w2E3"


def test_the_customer_is_created_once_per_tenant(stripe_app, db, team, bearer):
    t = team(limits={"seats": 3})  # a platform admin's seat override lets this 3-member team onto Starter
    stripe_app.recorder.responses = [
        (200, canned_customer("cus_once")),
        (200, canned_checkout_session("cs_1")),
        (200, canned_checkout_session("cs_2")),
    ]
    client = stripe_app.test_client()
    for interval in ("month", "year"):  # an abandoned checkout, then another
        response = client.post(
            "/api/billing/subscribe", json={"plan": "starter", "interval": interval}, headers=bearer(t.admin)
        )
        assert response.status_code == 201, response.get_data(as_text=True)
    urls = [call["url"].rsplit("/v1/", 1)[1] for call in stripe_app.recorder.calls]
    assert urls == ["customers", "checkout/sessions", "checkout/sessions"]
    assert stripe_app.recorder.calls[2]["params"]["customer"] == "cus_once"
    assert stripe_app.recorder.calls[2]["params"]["line_items[0][price]"] == "price_starter_year"


@pytest.mark.parametrize(
    ("status", "left"),
    [("trialing", 47 * 60 * 60), ("expired", -DAY.total_seconds()), ("canceled", 10 * 86400)],
    ids=["under-48h-left", "expired", "not-trialing"],
)
def test_no_trial_is_carried_when_stripe_would_refuse_it_or_there_is_none(app, db, team, monkeypatch, status, left):
    for name, value in PRICES.items():
        monkeypatch.setitem(app.config, name, value)
    # (a seat override lets the 3-member team onto Starter)
    t = team(trial_ends_at=NOW + timedelta(seconds=left), subscription_status=status, limits={"seats": 3})
    assert subscriptions.carried_trial_end(t.tenant, NOW) is None
    recorder = RecordingHTTPClient([(200, canned_customer()), (200, canned_checkout_session())])
    provider = StripeProvider("sk_test_abc123", http_client=recorder)
    with tenant_scope(db.session, t.tenant.id):
        subscriptions.subscribe(
            db.session, t.tenant, t.admin, "starter", "month", provider, "https://s", "https://c", now=NOW
        )
    params = recorder.calls[1]["params"]
    assert "subscription_data[trial_end]" not in params
    assert params["line_items[0][price]"] == "price_starter_month"


def test_enterprise_is_talk_to_us_not_a_checkout(stripe_app, team, bearer):
    t = team()
    response = stripe_app.test_client().post(
        "/api/billing/subscribe", json={"plan": "enterprise", "interval": "month"}, headers=bearer(t.admin)
    )
    body = assert_problem(response, 422, fields=("plan",))
    assert "sales@" in body["detail"]
    assert stripe_app.recorder.calls == []


@pytest.mark.parametrize(
    ("body", "field"),
    [({"plan": "platinum", "interval": "month"}, "plan"), ({"plan": "starter", "interval": "week"}, "interval")],
)
def test_an_unknown_plan_or_interval_is_a_422(stripe_app, team, bearer, body, field):
    t = team()
    response = stripe_app.test_client().post("/api/billing/subscribe", json=body, headers=bearer(t.admin))
    assert_problem(response, 422, fields=(field,))
    assert stripe_app.recorder.calls == []


@pytest.mark.parametrize("role", ["user", "viewer"])
def test_only_admins_subscribe_or_read_the_subscription(client, team, bearer, role):
    t = team()
    headers = bearer(getattr(t, role))
    assert_problem(client.post("/api/billing/subscribe", json={"plan": "starter"}, headers=headers), 403)
    assert_problem(client.get("/api/billing/subscription", headers=headers), 403)


def test_stripe_without_a_price_for_the_plan_is_a_calm_error(build_app, team, bearer):
    app = build_app(STRIPE_SECRET_KEY="sk_test_abc123")  # no STRIPE_PRICE_* configured
    recorder = RecordingHTTPClient()
    app.extensions["aerospec_stripe_http_client"] = recorder
    t = team(limits={"seats": 3})  # fits Starter through a platform admin's seat override
    response = app.test_client().post(
        "/api/billing/subscribe", json={"plan": "starter", "interval": "month"}, headers=bearer(t.admin)
    )
    assert "Nothing was charged" in assert_problem(response, 502)["detail"]
    assert recorder.calls == []


# -- offline: the same events through the same intake --------------------------------------------


def _subscribe_offline(client, t, bearer, login, plan="professional", interval="month") -> str:
    """Subscribe by the API; the checkout page's path, with the browser logged in as the admin who pays."""
    response = client.post("/api/billing/subscribe", json={"plan": plan, "interval": interval}, headers=bearer(t.admin))
    assert response.status_code == 201, response.get_data(as_text=True)
    url = response.get_json()["checkout_url"]
    assert url.startswith("http://testserver/billing/offline/checkout/cs_offline_")
    login(t.admin)
    return url.removeprefix("http://testserver")


def test_offline_subscription_checkout_subscribes_with_the_first_invoice(client, db, team, bearer, login):
    t = team(subscription_status="expired", trial_ends_at=datetime.now(UTC) - DAY)
    path = _subscribe_offline(client, t, bearer, login, plan="professional", interval="year")
    page = client.get(path)
    assert page.status_code == 200 and "AeroSpec Professional plan (annual)" in page.get_data(as_text=True)

    response = client.post(path, data={"outcome": "pay"})
    assert response.status_code == 303
    assert response.headers["Location"] == return_urls(t.tenant)[0]

    db.session.expire_all()
    events = list(db.session.scalars(select(BillingEvent).order_by(BillingEvent.received_at, BillingEvent.type)))
    assert sorted(e.type for e in events) == [
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.paid",
    ]
    assert all(e.provider == "offline" and e.processed_at is not None and e.error is None for e in events)
    db.session.refresh(t.tenant)
    assert (t.tenant.subscription_status, t.tenant.plan) == ("active", "professional")
    assert t.tenant.billing_customer_id.startswith("cus_offline_")
    with tenant_scope(db.session, t.tenant.id):
        [sub] = db.session.scalars(select(BillingSubscription)).all()
        [inv] = db.session.scalars(select(Invoice)).all()
        assert (sub.provider, sub.plan, sub.interval, sub.status, sub.extra_seats) == (
            "offline",
            "professional",
            "year",
            "active",
            0,
        )
        assert sub.provider_customer_id == t.tenant.billing_customer_id
        assert sub.current_period_end > sub.current_period_start
        assert (inv.status, inv.total, inv.subscription_id) == (
            "paid",
            2_160_000,
            sub.id,
        )  # USD 21,600 a year for the workspace: 12 × 2,000 × 0.9, whatever the 3 members
        assert [(line["quantity"], line["unit_amount"]) for line in inv.lines] == [(1, 2_160_000)]
        assert inv.number.startswith("AS-")

    state = client.get("/api/billing/subscription", headers=bearer(t.admin)).get_json()
    assert (state["plan"], state["status"], state["access"]) == ("professional", "active", "full")
    assert state["subscription"]["extra_seats"] == 0 and state["subscription"]["provider"] == "offline"
    assert (state["subscription"]["included_seats"], state["subscription"]["price"]["total"]) == (5, 2_160_000)

    again = client.post(
        "/api/billing/subscribe", json={"plan": "starter", "interval": "month"}, headers=bearer(t.admin)
    )
    assert_problem(again, 409)


def test_offline_subscription_during_a_trial_keeps_the_trial_and_bills_nothing_yet(client, db, team, bearer, login):
    t = team(trial_ends_at=datetime.now(UTC) + 9 * DAY)
    path = _subscribe_offline(client, t, bearer, login)
    assert client.post(path, data={"outcome": "pay"}).status_code == 303
    db.session.refresh(t.tenant)
    assert t.tenant.subscription_status == "active"
    with tenant_scope(db.session, t.tenant.id):
        [sub] = db.session.scalars(select(BillingSubscription)).all()
        assert sub.status == "trialing" and sub.trial_end == sub.current_period_end
        assert abs((sub.trial_end - t.tenant.trial_ends_at).total_seconds()) < 1
        assert db.session.scalars(select(Invoice)).all() == []


def test_a_declined_offline_subscription_sends_nothing_and_stays_open(client, db, team, bearer, login):
    t = team()
    path = _subscribe_offline(client, t, bearer, login)
    response = client.post(path, data={"outcome": "decline"})
    assert response.status_code == 303 and "declined=1" in response.headers["Location"]
    db.session.expire_all()
    assert db.session.scalars(select(BillingEvent)).all() == []
    with tenant_scope(db.session, t.tenant.id):
        row = db.session.get(OfflineCheckoutSession, path.rsplit("/", 1)[1])
    assert row.status == "open" and row.mode == "subscription"
    db.session.refresh(t.tenant)
    assert t.tenant.subscription_status == "trialing"


def test_subscription_api_before_subscribing_shows_the_trial(client, team, bearer):
    t = team(trial_ends_at=datetime.now(UTC) + 5 * DAY)
    state = client.get("/api/billing/subscription", headers=bearer(t.admin)).get_json()
    assert (state["status"], state["subscription"], state["plan"]) == ("trialing", None, "professional")
    assert state["trial_ends_at"] is not None and state["access"] == "full"


def test_a_team_bigger_than_the_plan_cannot_subscribe_to_it(client, db, team, bearer):
    t = team()  # three members; Starter has one seat
    response = client.post(
        "/api/billing/subscribe", json={"plan": "starter", "interval": "month"}, headers=bearer(t.admin)
    )
    detail = assert_problem(response, 409)["detail"]
    assert "Starter includes 1 seat, and this workspace has 3 members" in detail
    ok = client.post(
        "/api/billing/subscribe", json={"plan": "professional", "interval": "month"}, headers=bearer(t.admin)
    )
    assert ok.status_code == 201, ok.get_json()


def test_a_team_over_the_included_seats_checks_out_the_workspace_price_once_and_its_extra_seats(
    stripe_app, db, team, factories, bearer
):
    """Line items from plans.price_quote: Professional ×1 plus the seats beyond the 5 included (7 members → 2)."""
    t = team(subscription_status="expired", trial_ends_at=NOW - DAY)
    for _ in range(4):
        factories.member(t.tenant, "user")
    db.session.commit()
    stripe_app.recorder.responses = [(200, canned_customer()), (200, canned_checkout_session("cs_test_seats"))]
    response = stripe_app.test_client().post(
        "/api/billing/subscribe", json={"plan": "professional", "interval": "year"}, headers=bearer(t.admin)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    params = stripe_app.recorder.calls[1]["params"]
    assert {k: v for k, v in params.items() if k.startswith("line_items")} == {
        "line_items[0][price]": "price_pro_year",
        "line_items[0][quantity]": "1",
        "line_items[1][price]": "price_pro_seat_year",
        "line_items[1][quantity]": "2",
    }
    assert params["metadata[extra_seats]"] == "2"
    # An admin may choose more than the team needs, but not fewer: the team would not fit.
    too_few = stripe_app.test_client().post(
        "/api/billing/subscribe",
        json={"plan": "professional", "interval": "year", "extra_seats": 1},
        headers=bearer(t.admin),
    )
    assert "keep at least 2 extra seats" in assert_problem(too_few, 409, fields=("extra_seats",))["detail"]
    assert len(stripe_app.recorder.calls) == 2  # nothing more was sent to Stripe
