"""Offline billing periods: at a period's end the hourly job renews an offline subscription (plan × seats +
pending commissions, invoice.paid + customer.subscription.updated), ends one set to cancel
(customer.subscription.deleted → canceled, read-only), or, with the test card set to fail, walks the dunning
path (payment failed on day 0, retries on day 3 and day 8 → past_due → read_only → suspended, with the
emails) until "Pay now" restores it; every run idempotent, every event through the webhook intake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from aerospec.billing import lifecycle, offline_card, offline_cycle
from aerospec.billing.models import BillingEvent, BillingNotice, BillingSubscription, Invoice
from aerospec.billing.plans import price_quote
from aerospec.billing.providers import add_interval
from aerospec.notifications.models import EmailMessage
from aerospec.tenancy.scoping import tenant_scope
from jobs.billing import run_offline_billing_cycle
from jobs.lifecycle import daily_billing_tick
from tests.api import conftest as api_fixtures
from tests.billing.helpers import logged_in_client
from tests.billing.test_invoices import paid_order

tokens = api_fixtures.tokens
bearer = api_fixtures.bearer

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)


def _subscribe(client, db, t, bearer, interval: str = "month") -> BillingSubscription:
    """Subscribe through the offline checkout (Pay), as a browser would; the subscription row, detached."""
    response = client.post(
        "/api/billing/subscribe", json={"plan": "professional", "interval": interval}, headers=bearer(t.admin)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    path = response.get_json()["checkout_url"].removeprefix("http://testserver")
    assert client.post(path, data={"outcome": "pay"}).status_code == 303
    return _sub(db, t.tenant)


def _sub(db, tenant) -> BillingSubscription:
    with tenant_scope(db.session, tenant.id):
        db.session.expire_all()
        row = db.session.scalar(select(BillingSubscription).where(BillingSubscription.tenant_id == tenant.id))
        db.session.expunge(row)
    return row


def _invoices(db, tenant) -> list[Invoice]:
    with tenant_scope(db.session, tenant.id):
        db.session.expire_all()
        rows = list(
            db.session.scalars(select(Invoice).where(Invoice.tenant_id == tenant.id).order_by(Invoice.period_start))
        )
        for row in rows:
            db.session.expunge(row)
    return rows


def _status(db, tenant) -> str:
    db.session.refresh(tenant)
    return tenant.subscription_status


def _events(db) -> list[BillingEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(BillingEvent).order_by(BillingEvent.received_at, BillingEvent.id)))


def _subjects(db, address: str) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(EmailMessage.subject).where(EmailMessage.to_address == address).order_by(EmailMessage.created_at)
        )
    )


def _card(db, tenant, outcome: str) -> None:
    with tenant_scope(db.session, tenant.id):
        offline_card.set_test_card(db.session, tenant, outcome)
        db.session.commit()


@pytest.fixture
def subscribed(client, db, team, bearer, login):
    """A workspace (3 members) on Professional, monthly, through the offline checkout at START (no trial)."""
    with time_machine.travel(START, tick=False):
        t = team(subscription_status="expired", trial_ends_at=START - DAY, name="Cycle Sprays")
        login(t.admin)  # the workspace admin pays the offline checkout (never an anonymous visitor)
        t.sub = _subscribe(client, db, t, bearer)
    assert _status(db, t.tenant) == "active"
    assert t.sub.current_period_end == add_interval(START, "month")
    return t


def test_a_period_end_renews_with_the_workspace_price_and_pending_commissions(db, subscribed):
    t = subscribed
    end = t.sub.current_period_end
    with time_machine.travel(START + 10 * DAY, tick=False):
        order = paid_order(db, t.tenant, "1500.00", reference="PO-CYCLE001")  # 15 % commission, USD 225

    with time_machine.travel(end - HOUR, tick=False):
        assert run_offline_billing_cycle() == {"subscriptions": 0, "failed": 0}  # not due yet

    with time_machine.travel(end + HOUR, tick=False):
        assert run_offline_billing_cycle() == {"subscriptions": 1, "failed": 0, "renewed": 1}
        assert run_offline_billing_cycle() == {"subscriptions": 0, "failed": 0}  # nothing due twice

    sub = _sub(db, t.tenant)
    assert (sub.status, sub.extra_seats) == ("active", 0)
    assert (sub.current_period_start, sub.current_period_end) == (end, add_interval(end, "month"))
    first, renewal = _invoices(db, t.tenant)
    assert renewal.provider_invoice_id == offline_cycle.renewal_invoice_id(sub, end)
    price = price_quote("professional", "month").total_minor
    assert price == 200_000  # per workspace: the 3 members are within the 5 included seats
    assert [(line["kind"], line["quantity"], line["amount"]) for line in renewal.lines] == [
        ("subscription", 1, price),
        ("commission", 1, 22_500),
    ]
    assert renewal.lines[1]["ref"] == str(order.id)
    assert (renewal.status, renewal.total, renewal.amount_paid, renewal.attempt_count) == (
        "paid",
        price + 22_500,
        price + 22_500,
        1,
    )
    assert (renewal.period_start, renewal.period_end, renewal.subscription_id) == (end, sub.current_period_end, sub.id)
    assert renewal.number.startswith("AS-202604-")
    assert first.lines[-1]["kind"] == "subscription"  # the commission came after the first invoice
    renewal_events = [e for e in _events(db) if renewal.provider_invoice_id in e.id]
    assert sorted(e.type for e in renewal_events) == ["customer.subscription.updated", "invoice.paid"]
    assert all(e.provider == "offline" and e.processed_at and e.error is None for e in renewal_events)
    assert _status(db, t.tenant) == "active"


def test_a_repeated_pass_before_the_events_are_processed_stores_nothing_twice(db, subscribed):
    t = subscribed
    end = t.sub.current_period_end
    with time_machine.travel(end + HOUR, tick=False):
        due = offline_cycle.due_subscriptions(db.session, end + HOUR)
        assert due == [(t.tenant.id, t.sub.id)]
        first = offline_cycle.advance_one(db.session, t.tenant.id, t.sub.id, end + HOUR)
        # A second scheduler, before the first one's events moved the mirror: same invoice, same event ids.
        second = offline_cycle.advance_one(db.session, t.tenant.id, t.sub.id, end + HOUR)
        db.session.commit()
    assert first.events == second.events == ["customer.subscription.updated", "invoice.paid"]
    assert len(_invoices(db, t.tenant)) == 2
    assert len(_events(db)) == 3 + 2  # the checkout's three, the renewal's two
    assert _sub(db, t.tenant).current_period_start == end


def test_cancel_at_period_end_ends_the_subscription_and_the_workspace_becomes_read_only(client, db, subscribed, bearer):
    t = subscribed
    end = t.sub.current_period_end
    with time_machine.travel(START + 5 * DAY, tick=False):
        assert client.delete("/api/billing/cancel", headers=bearer(t.admin)).status_code == 200
    assert _sub(db, t.tenant).cancel_at_period_end is True

    with time_machine.travel(end + HOUR, tick=False):
        assert run_offline_billing_cycle() == {"subscriptions": 1, "failed": 0, "ended": 1}
        assert run_offline_billing_cycle() == {"subscriptions": 0, "failed": 0}
        assert lifecycle.request_access(db.session, t.tenant) == "read_only"

    sub = _sub(db, t.tenant)
    assert (sub.status, sub.ended_at) == ("canceled", end)
    assert _status(db, t.tenant) == "canceled"
    assert len(_invoices(db, t.tenant)) == 1  # no renewal
    [ended] = [e for e in _events(db) if e.type == "customer.subscription.deleted"]
    assert ended.id == f"evt_{sub.provider_subscription_id}_ended"
    assert ended.payload["data"]["object"]["status"] == "canceled"
    assert "Your AeroSpec subscription for Cycle Sprays has ended" in _subjects(db, t.admin.email)


def test_a_failing_card_walks_the_dunning_path_and_pay_now_restores_the_workspace(db, subscribed):
    t = subscribed
    end = t.sub.current_period_end
    _card(db, t.tenant, "fails")
    assert offline_card.card_outcome(db.session, t.tenant) == "fails"
    failed = "Payment failed for Cycle Sprays: update your payment method"

    day0 = end + HOUR
    with time_machine.travel(day0, tick=False):
        assert run_offline_billing_cycle() == {"subscriptions": 1, "failed": 0, "renewal_failed": 1}
        assert run_offline_billing_cycle() == {"subscriptions": 0, "failed": 0}
    assert _status(db, t.tenant) == "past_due"
    sub = _sub(db, t.tenant)
    assert (sub.status, sub.current_period_start, sub.past_due_since, sub.failed_payment_count) == (
        "past_due",
        end,
        day0,
        1,
    )
    renewal = _invoices(db, t.tenant)[-1]
    assert (renewal.status, renewal.attempt_count, renewal.amount_paid) == ("open", 1, 0)
    assert renewal.next_payment_attempt == day0 + 3 * DAY
    assert _subjects(db, t.admin.email).count(failed) == 1

    day3 = day0 + 3 * DAY
    with time_machine.travel(day3 - HOUR, tick=False):
        assert run_offline_billing_cycle() == {"subscriptions": 0, "failed": 0}  # the retry is not due yet
    with time_machine.travel(day3, tick=False):
        assert run_offline_billing_cycle() == {"subscriptions": 1, "failed": 0, "retried_failed": 1}
        assert run_offline_billing_cycle() == {"subscriptions": 0, "failed": 0}
    renewal = _invoices(db, t.tenant)[-1]
    assert (renewal.attempt_count, renewal.next_payment_attempt) == (2, day3 + 5 * DAY)
    assert _status(db, t.tenant) == "past_due"

    with time_machine.travel(day0 + 7 * DAY, tick=False):  # the grace is over: the daily lifecycle job
        daily_billing_tick()
        assert run_offline_billing_cycle() == {"subscriptions": 0, "failed": 0}
    assert _status(db, t.tenant) == "read_only"
    assert "Cycle Sprays is now read-only: payment overdue" in _subjects(db, t.admin.email)

    day8 = day3 + 5 * DAY
    with time_machine.travel(day8, tick=False):
        assert run_offline_billing_cycle() == {"subscriptions": 1, "failed": 0, "retried_failed": 1}
    assert _status(db, t.tenant) == "suspended"
    renewal = _invoices(db, t.tenant)[-1]
    assert (renewal.status, renewal.attempt_count, renewal.next_payment_attempt) == ("open", 3, None)
    assert "Cycle Sprays is suspended: payment overdue" in _subjects(db, t.admin.email)

    with time_machine.travel(day8 + 30 * DAY, tick=False):  # past the new period too: no 4th try, no new bill
        assert run_offline_billing_cycle() == {"subscriptions": 1, "failed": 0, "nothing": 1}
        _card(db, t.tenant, "succeeds")
        with tenant_scope(db.session, t.tenant.id):
            outcome = offline_cycle.pay_now(db.session, t.tenant)
            db.session.commit()
    assert outcome.action == "retried_paid"
    assert _status(db, t.tenant) == "active"
    sub = _sub(db, t.tenant)
    assert (sub.status, sub.past_due_since, sub.failed_payment_count) == ("active", None, 0)
    renewal = _invoices(db, t.tenant)[-1]
    assert (renewal.status, renewal.attempt_count, renewal.amount_paid) == ("paid", 4, renewal.total)
    assert "Payment received: Cycle Sprays is fully active again" in _subjects(db, t.admin.email)
    assert _subjects(db, t.admin.email).count(failed) == 1  # one payment-failed email per cycle
    assert all(e.error is None and e.processed_at is not None for e in _events(db))


def test_a_declined_pay_now_counts_as_an_attempt_and_keeps_the_schedule(db, subscribed):
    t = subscribed
    _card(db, t.tenant, "fails")
    day0 = t.sub.current_period_end + HOUR
    with time_machine.travel(day0, tick=False):
        run_offline_billing_cycle()
    with time_machine.travel(day0 + DAY, tick=False), tenant_scope(db.session, t.tenant.id):
        outcome = offline_cycle.pay_now(db.session, t.tenant)
        db.session.commit()
    assert outcome.action == "retried_failed"
    renewal = _invoices(db, t.tenant)[-1]
    assert (renewal.status, renewal.attempt_count, renewal.next_payment_attempt) == ("open", 2, day0 + 3 * DAY)
    assert _status(db, t.tenant) == "past_due"


def test_pay_now_without_an_unpaid_invoice_is_a_conflict(db, subscribed):
    from aerospec.errors import Conflict

    with tenant_scope(db.session, subscribed.tenant.id), pytest.raises(Conflict, match="Nothing is due"):
        offline_cycle.pay_now(db.session, subscribed.tenant)


def test_the_test_card_is_a_marker_row_that_succeeds_removes(db, team):
    t = team()
    assert offline_card.card_outcome(db.session, t.tenant) == "succeeds"
    _card(db, t.tenant, "fails")
    _card(db, t.tenant, "fails")  # twice: still one row
    with tenant_scope(db.session, t.tenant.id):
        rows = db.session.scalars(select(BillingNotice).where(BillingNotice.kind == "offline_card")).all()
        assert [(r.kind, r.key) for r in rows] == [("offline_card", "fails")]
    _card(db, t.tenant, "succeeds")
    assert offline_card.card_outcome(db.session, t.tenant) == "succeeds"
    from aerospec.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        offline_card.set_test_card(db.session, t.tenant, "maybe")


# -- the billing page: test card and Pay now ------------------------------------------------------


def test_admin_sets_the_test_card_and_pays_now_on_the_billing_page(client, db, subscribed, login, tenant_url):
    t = subscribed
    with time_machine.travel(t.sub.current_period_end - DAY, tick=False):
        login(t.admin)
        page = client.get(tenant_url(t.tenant, "billing")).get_data(as_text=True)
        assert "Test card" in page and 'value="succeeds" aria-describedby="test-card-help" checked' in page
        assert "Payment due" not in page and ">Pay now<" not in page
        response = client.post(tenant_url(t.tenant, "billing/test-card"), data={"card": "fails"})
        assert response.status_code == 303
        assert offline_card.card_outcome(db.session, t.tenant) == "fails"

    with time_machine.travel(t.sub.current_period_end + HOUR, tick=False):
        run_offline_billing_cycle()
        page = client.get(tenant_url(t.tenant, "billing")).get_data(as_text=True)
        assert "Payment due" in page and "after 1 failed payment attempt." in page
        assert "Payment failed: 7 days left to pay." in page  # the grace banner

        declined = client.post(tenant_url(t.tenant, "billing/pay"), follow_redirects=True).get_data(as_text=True)
        assert "Your card was declined" in declined and "after 2 failed payment attempts" in declined

        client.post(tenant_url(t.tenant, "billing/test-card"), data={"card": "succeeds"})
        paid = client.post(tenant_url(t.tenant, "billing/pay"), follow_redirects=True).get_data(as_text=True)
    assert "Payment received: the workspace is fully active again." in paid
    assert "Payment due" not in paid and "Payment failed:" not in paid
    assert _status(db, t.tenant) == "active"


@pytest.mark.parametrize("role", ["user", "viewer"])
def test_only_admins_set_the_test_card_or_pay(client, db, subscribed, login, tenant_url, role):
    t = subscribed
    login(getattr(t, role))
    assert client.post(tenant_url(t.tenant, "billing/test-card"), data={"card": "fails"}).status_code == 403
    assert client.post(tenant_url(t.tenant, "billing/pay")).status_code == 403
    assert offline_card.card_outcome(db.session, t.tenant) == "succeeds"


def test_stripe_mode_has_no_test_card(build_app, db, team, tenant_url):
    app = build_app(STRIPE_SECRET_KEY="sk_test_abc123")
    t = team()
    client = logged_in_client(app, db, t.admin)
    page = client.get(tenant_url(t.tenant, "billing"))
    assert page.status_code == 200
    assert "Manage payment details" in page.get_data(as_text=True)
    assert "Test card" not in page.get_data(as_text=True)
    assert client.post(tenant_url(t.tenant, "billing/test-card"), data={"card": "fails"}).status_code == 404
    assert client.post(tenant_url(t.tenant, "billing/pay")).status_code == 404
