"""Changing a running subscription. In a trial nothing is charged or credited and the new price starts at the
trial's end (Stripe: proration_behavior none with trial_end kept; offline: the same, no invoice). Outside a
trial the estimate is what the provider will charge (Stripe: exactly the create_preview answer; offline: the
proration arithmetic) and every charge or credit is an invoice the billing page lists with its PDF. After each
action the page shows the new state in the response that carries the "Done" message; after Checkout it shows
"Confirming your payment…" (never "Free trial") until the subscription is live."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from aerospec.billing import subscriptions
from aerospec.billing.models import Invoice
from aerospec.tenancy.scoping import tenant_scope
from jobs.billing import run_offline_billing_cycle
from tests.api import conftest as api_fixtures
from tests.billing.helpers import RecordingHTTPClient, logged_in_client
from tests.billing.test_billing_page import PRICES, mirror, stripe_subscription, sub_row

tokens = api_fixtures.tokens
bearer = api_fixtures.bearer
DAY = timedelta(days=1)


def invoices_of(db, tenant) -> list[Invoice]:
    with tenant_scope(db.session, tenant.id):
        db.session.expire_all()
        return list(db.session.scalars(select(Invoice).order_by(Invoice.created_at)))


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _in_trial(db, tenant, *, provider="offline", trial_days=9) -> datetime:
    """The subscription carries a trial (subscribed during the trial): period = trial."""
    now = datetime.now(UTC).replace(microsecond=0)
    trial_end = now + trial_days * DAY
    sub_row(db, tenant, provider=provider, status="trialing", trial_end=trial_end)
    with tenant_scope(db.session, tenant.id):
        row = subscriptions.live_subscription(db.session, tenant)
        row.current_period_start, row.current_period_end = now - DAY, trial_end
        db.session.commit()
    return trial_end


# -- in a trial ---------------------------------------------------------------------------------------------


def test_offline_a_change_in_a_trial_charges_and_credits_nothing_and_the_page_says_so(
    client, db, team, login, tenant_url
):
    t = team(subscription_status="active", billing_customer_id="cus_offline_trial")
    trial_end = _in_trial(db, t.tenant)
    login(t.admin)
    confirm = client.get(tenant_url(t.tenant, "billing/change?plan=professional&interval=year"))
    page = text(confirm.get_data(as_text=True))
    assert f"No charge now; from {trial_end:%d %b %Y} you will pay USD 21,600 a year." in page
    assert "(credit)" not in page and "Charged now" not in page  # no −USD 1,999.96, no USD 19,600.04
    assert "account credit" not in page

    done = client.post(tenant_url(t.tenant, "billing/change"), data={"plan": "professional", "interval": "year"})
    html = text(client.get(done.headers["Location"]).get_data(as_text=True))
    assert f"Nothing was charged: from {trial_end:%d %b %Y} you will pay USD 21,600.00 a year." in html
    assert "Billed annually" in html and f"First charge USD 21,600 on {trial_end:%d %b %Y}" in html
    assert "Renews" not in html and "Charged" not in html.replace("Nothing was charged", "")
    row = mirror(db, t.tenant)
    assert (row.interval, row.status, row.trial_end, row.current_period_end) == (
        "year",
        "trialing",
        trial_end,
        trial_end,
    )
    assert invoices_of(db, t.tenant) == []  # nothing billed …
    with time_machine.travel(trial_end + timedelta(hours=1), tick=False):
        assert run_offline_billing_cycle()["renewed"] == 1  # … until the trial ends: then the new price
    [first] = invoices_of(db, t.tenant)
    assert (first.total, first.status) == (2_160_000, "paid")


def test_stripe_a_change_in_a_trial_keeps_the_trial_with_no_proration_and_no_preview(build_app, db, team, bearer):
    app = build_app(STRIPE_SECRET_KEY="sk_test_abc123", **PRICES)
    app.extensions["aerospec_stripe_http_client"] = recorder = RecordingHTTPClient()
    t = team(subscription_status="active", billing_customer_id="cus_Stripe1")
    trial_end = _in_trial(db, t.tenant, provider="stripe")
    sub_id = mirror(db, t.tenant).provider_subscription_id
    current = stripe_subscription(sub_id, "cus_Stripe1", status="trialing", trial_end=int(trial_end.timestamp()))
    changed = stripe_subscription(sub_id, "cus_Stripe1", status="trialing", trial_end=int(trial_end.timestamp()))
    changed["items"]["data"].append(
        {"id": "si_Seat9", "object": "subscription_item", "price": {"id": "price_pro_seat_month"}, "quantity": 2}
    )
    recorder.responses = [(200, current), (200, changed)]
    client = app.test_client()
    headers = bearer(t.admin)

    asked = client.post(
        "/api/billing/change-plan", json={"plan": "professional", "extra_seats": 2, "preview": True}, headers=headers
    )
    proration = asked.get_json()["proration"]
    assert (proration["source"], proration["amount_due"], proration["total"], proration["lines"]) == ("trial", 0, 0, [])
    assert proration["recurring"] == {"total": 280_000, "interval": "month", "extra_seats": 2}
    assert recorder.calls == []  # nothing to ask Stripe: a trial bills nothing now (no create_preview)

    done = client.post("/api/billing/change-plan", json={"plan": "professional", "extra_seats": 2}, headers=headers)
    assert done.status_code == 200, done.get_data(as_text=True)
    update = recorder.calls[-1]
    assert update["params"] == {
        "items[0][id]": "si_Item1",
        "items[0][price]": "price_pro_month",
        "items[0][quantity]": "1",
        "items[1][price]": "price_pro_seat_month",
        "items[1][quantity]": "2",
        "proration_behavior": "none",
        "trial_end": str(int(trial_end.timestamp())),
        "metadata[kind]": "subscription",
        "metadata[tenant_id]": str(t.tenant.id),
        "metadata[plan]": "professional",
        "metadata[interval]": "month",
        "metadata[extra_seats]": "2",
    }
    assert mirror(db, t.tenant).extra_seats == 2 and invoices_of(db, t.tenant) == []


# -- outside a trial: Stripe ----------------------------------------------------------------------------------


def test_stripe_the_estimate_is_exactly_the_preview_and_the_proration_invoice_is_listed_at_once(
    build_app, db, team, tenant_url
):
    app = build_app(STRIPE_SECRET_KEY="sk_test_abc123", **PRICES)
    app.extensions["aerospec_stripe_http_client"] = recorder = RecordingHTTPClient()
    t = team(subscription_status="active", billing_customer_id="cus_Stripe1")
    sub_id = sub_row(db, t.tenant)
    current = stripe_subscription(sub_id, "cus_Stripe1")
    preview = {
        "object": "invoice",
        "amount_due": 2_034_561,
        "total": 2_034_561,
        "currency": "usd",
        "lines": {
            "data": [
                {"description": "Unused time on AeroSpec Professional after 12 Dec 2026", "amount": -125_439},
                {"description": "AeroSpec Professional (at $21,600.00 / year)", "amount": 2_160_000},
            ]
        },
    }
    now = int(datetime.now(UTC).timestamp())
    invoice = {
        "id": "in_Proration1",
        "object": "invoice",
        "number": "STRIPE-0042",
        "status": "paid",
        "currency": "usd",
        "customer": "cus_Stripe1",
        "subscription": sub_id,
        "billing_reason": "subscription_update",
        "subtotal": 2_034_561,
        "total": 2_034_561,
        "amount_due": 2_034_561,
        "amount_paid": 2_034_561,
        "attempt_count": 1,
        "created": now,
        "status_transitions": {"finalized_at": now, "paid_at": now},
        "invoice_pdf": "https://pay.stripe.com/invoice/acct_1/test_proration/pdf",
        "lines": preview["lines"] | {"object": "list"},
    }
    annual = stripe_subscription(sub_id, "cus_Stripe1", latest_invoice=invoice)
    annual["items"]["data"][0]["price"] = {"id": "price_pro_year", "object": "price", "recurring": {"interval": "year"}}
    recorder.responses = [(200, current), (200, preview), (200, current), (200, annual)]
    client = logged_in_client(app, db, t.admin)

    page = client.get(tenant_url(t.tenant, "billing/change?plan=professional&interval=year")).get_data(as_text=True)
    assert '<strong id="estimate-due">USD 20,345.61</strong>' in page  # the preview's amount_due, to the cent
    assert "Unused time on AeroSpec Professional after 12 Dec 2026" in page and "Stripe's own numbers" in page
    stamp = re.search(r'name="proration_date" value="(\d+)"', page).group(1)
    previewed = recorder.calls[1]
    assert previewed["url"] == "https://api.stripe.com/v1/invoices/create_preview"
    assert previewed["params"]["subscription_details[proration_behavior]"] == "always_invoice"
    assert previewed["params"]["subscription_details[proration_date]"] == stamp
    assert previewed["params"]["subscription_details[items][0][price]"] == "price_pro_year"

    done = client.post(
        tenant_url(t.tenant, "billing/change"),
        data={"plan": "professional", "interval": "year", "proration_date": stamp},
    )
    html = text(client.get(done.headers["Location"]).get_data(as_text=True))
    update = recorder.calls[-1]
    assert (update["params"]["proration_date"], update["params"]["expand[0]"]) == (stamp, "latest_invoice")
    assert "Charged USD 20,345.61 now (invoice STRIPE-0042)" in html
    assert "STRIPE-0042" in html.split("Invoices", 1)[1]  # in the invoice list, before any webhook
    assert "Billed annually" in html and "USD 21,600 a year" in html


def test_stripe_checkout_return_confirms_by_re_reading_the_session_when_the_webhook_is_late(
    build_app, db, team, tenant_url
):
    app = build_app(STRIPE_SECRET_KEY="sk_test_abc123", **PRICES)
    app.extensions["aerospec_stripe_http_client"] = recorder = RecordingHTTPClient()
    t = team(billing_customer_id="cus_Stripe7", trial_ends_at=datetime.now(UTC) + 9 * DAY)
    client = logged_in_client(app, db, t.admin)

    html = client.get(tenant_url(t.tenant, "billing?checkout=success&session_id=cs_test_late1")).get_data(as_text=True)
    assert "Confirming your payment…" in html
    assert "Free trial" not in html and "Trial: " not in html  # neither the card nor the banner says trial
    assert "Choose a plan" not in html and recorder.calls == []

    other = {
        "id": "cs_test_late1",
        "object": "checkout.session",
        "mode": "subscription",
        "status": "complete",
        "customer": "cus_SomeoneElse",
        "subscription": "sub_x",
        "metadata": {"tenant_id": "another"},
    }
    recorder.responses = [(200, other)]
    poll = client.get(
        tenant_url(t.tenant, "billing/checkout-status?session_id=cs_test_late1"), headers={"HX-Request": "true"}
    )
    assert "HX-Redirect" not in poll.headers and "Confirming your payment" in poll.get_data(as_text=True)
    assert len(recorder.calls) == 1  # another workspace's session: nothing more is read or applied

    mine = other | {"customer": "cus_Stripe7", "subscription": "sub_Late1", "metadata": {"tenant_id": str(t.tenant.id)}}
    trialing = stripe_subscription("sub_Late1", "cus_Stripe7", status="trialing")
    recorder.responses = [(200, mine), (200, trialing)]
    poll = client.get(
        tenant_url(t.tenant, "billing/checkout-status?session_id=cs_test_late1"), headers={"HX-Request": "true"}
    )
    assert poll.headers["HX-Redirect"] == f"/t/{t.tenant.slug}/billing?checkout=confirmed"
    assert [c["url"].rsplit("/v1/", 1)[1] for c in recorder.calls[1:]] == [
        "checkout/sessions/cs_test_late1",
        "subscriptions/sub_Late1",
    ]
    html = text(client.get(poll.headers["HX-Redirect"]).get_data(as_text=True))
    assert "Thank you." in html and "Confirming" not in html and "Free trial" not in html
    assert "Professional plan" in html and "Cancel subscription" in html


# -- outside a trial: offline ---------------------------------------------------------------------------------


@pytest.fixture
def on_pro_with_seats(client, db, team, factories, login):
    """Professional monthly with 3 extra seats, 1 Feb → 1 Mar 2026, logged in on 15 Feb (half the period left)."""
    t = team(subscription_status="active", billing_customer_id="cus_offline_down")
    sub_row(db, t.tenant, provider="offline", extra_seats=3)
    with tenant_scope(db.session, t.tenant.id):
        row = subscriptions.live_subscription(db.session, t.tenant)
        row.current_period_start, row.current_period_end = (
            datetime(2026, 2, 1, tzinfo=UTC),
            datetime(2026, 3, 1, tzinfo=UTC),
        )
        row.provider_updated_at = row.current_period_start
        db.session.commit()
    return t


def test_offline_fewer_seats_credits_the_account_on_an_invoice_and_the_renewal_uses_the_credit(
    client, db, on_pro_with_seats, login, tenant_url
):
    t = on_pro_with_seats
    with time_machine.travel(datetime(2026, 2, 15, tzinfo=UTC), tick=False):
        login(t.admin)
        page = text(
            client.get(tenant_url(t.tenant, "billing/change?plan=professional&interval=month&extra_seats=1")).get_data(
                as_text=True
            )
        )
        assert "Charged now USD 0.00" in page
        assert "Nothing is charged now: USD 400.00 is added to your account credit" in page
        assert "−USD 600.00 (credit)" in page and "USD 200.00" in page
        done = client.post(
            tenant_url(t.tenant, "billing/change"),
            data={"plan": "professional", "interval": "month", "extra_seats": "1"},
        )
        html = text(client.get(done.headers["Location"]).get_data(as_text=True))
    assert "Nothing was charged: USD 400.00 was added to your account credit (invoice AS-202602-" in html
    assert "5 included + 1 extra" in html and "1 extra seat × USD 400" in html
    [credit] = invoices_of(db, t.tenant)
    assert (credit.total, credit.amount_due, credit.amount_paid, credit.status) == (-40_000, 0, 0, "paid")
    assert mirror(db, t.tenant).credit_balance == 40_000

    with time_machine.travel(datetime(2026, 3, 1, 1, tzinfo=UTC), tick=False):
        assert run_offline_billing_cycle()["renewed"] == 1
    _, renewal = invoices_of(db, t.tenant)
    assert (renewal.total, renewal.amount_due, renewal.amount_paid) == (240_000, 200_000, 200_000)
    assert mirror(db, t.tenant).credit_balance == 0


def test_offline_a_failed_card_on_an_upgrade_leaves_an_open_invoice_and_says_so(
    client, db, on_pro_with_seats, login, tenant_url
):
    from aerospec.billing import offline_card

    t = on_pro_with_seats
    with tenant_scope(db.session, t.tenant.id):
        offline_card.set_test_card(db.session, t.tenant, "fails")
        db.session.commit()
    with time_machine.travel(datetime(2026, 2, 15, tzinfo=UTC), tick=False):
        login(t.admin)
        done = client.post(
            tenant_url(t.tenant, "billing/change"),
            data={"plan": "professional", "interval": "month", "extra_seats": "4"},
        )
        html = text(client.get(done.headers["Location"]).get_data(as_text=True))
    assert "The payment of USD 200.00 failed" in html and "Payment due" in html and "Pay now" in html
    [invoice] = invoices_of(db, t.tenant)
    assert (invoice.status, invoice.amount_due, invoice.attempt_count) == ("open", 20_000, 1)
    db.session.refresh(t.tenant)
    assert t.tenant.subscription_status == "past_due"


def test_cancel_then_resume_each_show_their_state_in_the_response_with_the_message(client, db, team, login, tenant_url):
    t = team(subscription_status="active", billing_customer_id="cus_offline_cr")
    sub_row(db, t.tenant, provider="offline")
    login(t.admin)
    cancelled = client.post(tenant_url(t.tenant, "billing/cancel"), follow_redirects=True)
    html = text(cancelled.get_data(as_text=True))
    assert "Done: Your subscription ends at the end of this period" in html
    assert "Resume subscription" in html and "Ends " in html and "Renews" not in html
    assert "Cancel subscription…" not in html
    resumed = client.post(tenant_url(t.tenant, "billing/resume"), follow_redirects=True)
    html = text(resumed.get_data(as_text=True))
    assert "Done: Your subscription is resumed" in html
    assert "Renews " in html and "Cancel subscription…" in html
    assert "Resume subscription" not in html and "set to end" not in html
