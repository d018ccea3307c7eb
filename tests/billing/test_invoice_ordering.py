"""Invoice events in every order decide nothing alone: each one re-reads the subscription from Stripe (the
real SDK, answered by the recording HTTP client) and the workspace follows the subscription's state there.
Signed, Stripe-shaped deliveries; after each, what the billing page shows."""

from __future__ import annotations

import re
import secrets

import pytest
from sqlalchemy import select

from aerospec.billing.models import BillingSubscription
from aerospec.compliance.models import AuditLog
from aerospec.tenancy.scoping import tenant_scope
from tests.billing.helpers import SECRET, RecordingHTTPClient, deliver, logged_in_client, stripe_event
from tests.billing.test_subscriptions import PRICES, invoice, subscription

SUB = "sub_1QAeroSpec"  # the subscription the invoice() helper's invoices bill
RETRIEVE = f"https://api.stripe.com/v1/subscriptions/{SUB}"


@pytest.fixture
def stripe_hook(build_app, db, team):
    """(app, team): Stripe keys set, the team's customer known and its subscription mirrored active."""
    app = build_app(STRIPE_WEBHOOK_SECRET=SECRET, STRIPE_SECRET_KEY="sk_test_abc123", **PRICES)
    app.recorder = RecordingHTTPClient()
    app.extensions["aerospec_stripe_http_client"] = app.recorder
    t = team()
    t.tenant.billing_customer_id = "cus_" + secrets.token_hex(6)
    db.session.commit()
    hook = app.test_client()
    created = stripe_event("customer.subscription.created", subscription(t.tenant.billing_customer_id))
    assert deliver(hook, created).status_code == 200
    assert app.recorder.calls == []  # a subscription event carries the subscription: nothing to ask
    assert _status(db, t.tenant) == "active"
    return app, t


def _status(db, tenant) -> str:
    db.session.expire_all()
    db.session.refresh(tenant)
    return tenant.subscription_status


def _row(db, tenant) -> BillingSubscription:
    with tenant_scope(db.session, tenant.id):
        db.session.expire_all()
        [row] = db.session.scalars(select(BillingSubscription)).all()
        return row


def _audited(db, tenant, action: str) -> int:
    with tenant_scope(db.session, tenant.id):
        return len(db.session.scalars(select(AuditLog).where(AuditLog.action == action)).all())


def _at_stripe(app, t, status: str, latest: str) -> None:
    """What GET /v1/subscriptions/<id> answers next: the subscription's state at Stripe now."""
    current = subscription(t.tenant.billing_customer_id, status=status, latest_invoice=latest)
    app.recorder.responses.append((200, current))


def _send(app, t, event_type: str, inv: dict, *, event_id: str | None = None) -> dict:
    response = deliver(app.test_client(), stripe_event(event_type, inv, event_id=event_id))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _failed(t, inv_id: str, attempts: int) -> dict:
    return invoice(t.tenant.billing_customer_id, inv_id=inv_id, status="open", attempts=attempts)


def _paid(t, inv_id: str, attempts: int = 1) -> dict:
    return invoice(t.tenant.billing_customer_id, inv_id=inv_id, status="paid", attempts=attempts)


def _billing_page(app, db, t) -> dict:
    """The admin's billing page: its status badge, its summary's phase, the banner and the payment-due card."""
    client = logged_in_client(app, db, t.admin)
    page = client.get(f"/t/{t.tenant.slug}/billing")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    badge = re.search(r'<dt>Status</dt>\s*<dd><span class="badge [\w-]+">([^<]+)</span>', html)
    phase = re.search(r'id="billing-summary"[^>]*data-phase="([\w-]+)"', html)
    return {
        "status": badge.group(1) if badge else None,
        "phase": phase.group(1) if phase else None,
        "banner": "billing-banner billing-past-due" in html,  # the app shell's "Payment failed: n days left"
        "payment_due": 'id="billing-pay-heading"' in html,
    }


ACTIVE_PAGE = {"status": "Active", "phase": "renewing", "banner": False, "payment_due": False}
OVERDUE_PAGE = {"status": "Payment overdue (grace period)", "phase": "past_due", "banner": True, "payment_due": True}


def test_an_older_invoices_failure_delivered_after_a_newer_one_was_paid_leaves_the_workspace_active(stripe_hook, db):
    app, t = stripe_hook
    _at_stripe(app, t, "active", latest="in_new")
    _send(app, t, "invoice.paid", _paid(t, "in_new"))
    assert _status(db, t.tenant) == "active"

    # The older invoice's failed attempt arrives last; Stripe says the subscription is active (latest in_new).
    _at_stripe(app, t, "active", latest="in_new")
    _send(app, t, "invoice.payment_failed", _failed(t, "in_old", attempts=1))

    assert _status(db, t.tenant) == "active"
    assert [(c["method"], c["url"]) for c in app.recorder.calls] == [("get", RETRIEVE)] * 2
    row = _row(db, t.tenant)
    assert (row.status, row.past_due_since, row.failed_payment_count) == ("active", None, 0)
    assert _audited(db, t.tenant, "billing.payment_failed") == 0
    assert _audited(db, t.tenant, "billing.status_past_due") == 0
    assert _billing_page(app, db, t) == ACTIVE_PAGE


def test_failed_then_paid_goes_past_due_then_active_again(stripe_hook, db):
    app, t = stripe_hook
    _at_stripe(app, t, "past_due", latest="in_cycle")
    _send(app, t, "invoice.payment_failed", _failed(t, "in_cycle", attempts=1))
    assert _status(db, t.tenant) == "past_due"
    row = _row(db, t.tenant)
    assert (row.status, row.failed_payment_count) == ("past_due", 1) and row.past_due_since is not None
    assert _billing_page(app, db, t) == OVERDUE_PAGE

    _at_stripe(app, t, "active", latest="in_cycle")
    _send(app, t, "invoice.paid", _paid(t, "in_cycle", attempts=2))
    assert _status(db, t.tenant) == "active"
    row = _row(db, t.tenant)
    assert (row.status, row.past_due_since, row.failed_payment_count) == ("active", None, 0)
    assert _billing_page(app, db, t) == ACTIVE_PAGE


def test_a_failure_processed_after_the_payment_went_through_at_stripe_changes_nothing(stripe_hook, db):
    """Failed, then paid, but the failure's delivery is handled after Stripe already has the payment."""
    app, t = stripe_hook
    _at_stripe(app, t, "active", latest="in_cycle")
    _send(app, t, "invoice.payment_failed", _failed(t, "in_cycle", attempts=1))
    assert _status(db, t.tenant) == "active"
    assert _row(db, t.tenant).failed_payment_count == 0
    _at_stripe(app, t, "active", latest="in_cycle")
    _send(app, t, "invoice.paid", _paid(t, "in_cycle", attempts=2))
    assert _status(db, t.tenant) == "active"
    assert _audited(db, t.tenant, "billing.payment_failed") == 0
    assert _billing_page(app, db, t) == ACTIVE_PAGE


def test_failures_of_the_current_invoice_walk_dunning_and_an_older_invoice_cannot_end_it(stripe_hook, db):
    app, t = stripe_hook
    _at_stripe(app, t, "past_due", latest="in_cycle")
    _send(app, t, "invoice.payment_failed", _failed(t, "in_cycle", attempts=1))
    _at_stripe(app, t, "past_due", latest="in_cycle")
    _send(app, t, "invoice.payment_failed", _failed(t, "in_cycle", attempts=2))
    assert _status(db, t.tenant) == "past_due"
    assert _row(db, t.tenant).failed_payment_count == 2

    # An older invoice, paid late, while the current one is still owed: still past due.
    _at_stripe(app, t, "past_due", latest="in_cycle")
    _send(app, t, "invoice.paid", _paid(t, "in_before"))
    assert _status(db, t.tenant) == "past_due"
    # An older invoice's failure is not an attempt of this cycle.
    _at_stripe(app, t, "past_due", latest="in_cycle")
    _send(app, t, "invoice.payment_failed", _failed(t, "in_older", attempts=5))
    assert _status(db, t.tenant) == "past_due"
    assert _row(db, t.tenant).failed_payment_count == 2
    assert _billing_page(app, db, t) == OVERDUE_PAGE

    # The third failure of the current invoice suspends the workspace.
    _at_stripe(app, t, "past_due", latest="in_cycle")
    _send(app, t, "invoice.payment_failed", _failed(t, "in_cycle", attempts=3))
    assert _status(db, t.tenant) == "suspended"
    page = _billing_page(app, db, t)
    assert (page["status"], page["phase"], page["payment_due"]) == ("Suspended: payment overdue", "past_due", True)
    assert _audited(db, t.tenant, "billing.payment_failed") == 3


def test_duplicate_deliveries_count_a_failure_once(stripe_hook, db):
    app, t = stripe_hook
    failure = _failed(t, "in_cycle", attempts=1)
    event_id = "evt_" + secrets.token_hex(12)
    _at_stripe(app, t, "past_due", latest="in_cycle")
    _send(app, t, "invoice.payment_failed", failure, event_id=event_id)
    # Stripe redelivers the same event: stored once, not processed again (Stripe is not even asked).
    assert _send(app, t, "invoice.payment_failed", failure, event_id=event_id)["duplicate"] is True
    assert len(app.recorder.calls) == 1
    # The same attempt under another event (invoice.payment_failed and a retry of its webhook endpoint).
    _at_stripe(app, t, "past_due", latest="in_cycle")
    _send(app, t, "invoice.payment_failed", failure)
    assert _status(db, t.tenant) == "past_due"
    assert _row(db, t.tenant).failed_payment_count == 1
    assert _audited(db, t.tenant, "billing.payment_failed") == 1
    assert _audited(db, t.tenant, "billing.status_past_due") == 1
    assert _billing_page(app, db, t) == OVERDUE_PAGE

    paid_id = "evt_" + secrets.token_hex(12)
    _at_stripe(app, t, "active", latest="in_cycle")
    _send(app, t, "invoice.paid", _paid(t, "in_cycle", attempts=2), event_id=paid_id)
    assert _send(app, t, "invoice.paid", _paid(t, "in_cycle", attempts=2), event_id=paid_id)["duplicate"] is True
    assert _status(db, t.tenant) == "active"
    assert _audited(db, t.tenant, "billing.status_active") == 2  # subscribed, then restored; not again
    assert _billing_page(app, db, t) == ACTIVE_PAGE


def test_a_canceled_subscription_at_stripe_ends_the_workspace_whatever_the_invoice_says(stripe_hook, db):
    app, t = stripe_hook
    _at_stripe(app, t, "canceled", latest="in_cycle")
    _send(app, t, "invoice.paid", _paid(t, "in_cycle"))
    assert _status(db, t.tenant) == "canceled"
    assert _row(db, t.tenant).status == "canceled"
