"""Subscription and invoice events through POST /api/webhooks/stripe: Stripe-shaped, signed deliveries
mirror the subscription (both API versions' shapes), resolve the tenant by customer, survive duplicates
and out-of-order delivery, re-read checkouts from Stripe, and walk trial → paid → failed ×3 → suspended
→ paid → active under a frozen clock."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from aerospec.billing.models import BillingSubscription, Invoice
from aerospec.compliance.models import AuditLog
from aerospec.tenancy.scoping import tenant_scope
from tests.api import conftest as api_fixtures
from tests.api.conftest import assert_problem, auth
from tests.billing.helpers import SECRET, RecordingHTTPClient, billing_events, deliver, event_count, stripe_event

tokens = api_fixtures.tokens  # the API tests' fixture (a conftest's fixtures reach only its directory)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
PRICES = {
    "STRIPE_PRICE_STARTER_MONTH": "price_starter_month",
    "STRIPE_PRICE_STARTER_YEAR": "price_starter_year",
    "STRIPE_PRICE_PROFESSIONAL_MONTH": "price_pro_month",
    "STRIPE_PRICE_PROFESSIONAL_YEAR": "price_pro_year",
    "STRIPE_PRICE_PROFESSIONAL_SEAT_MONTH": "price_pro_seat_month",
    "STRIPE_PRICE_PROFESSIONAL_SEAT_YEAR": "price_pro_seat_year",
}


def unix(value: datetime) -> int:
    return int(value.timestamp())


def subscription(
    customer: str,
    *,
    sub_id: str = "sub_1QAeroSpec",
    status: str = "active",
    price: str = "price_pro_month",
    quantity: int = 1,
    extra_seats: int = 0,
    start: datetime = START,
    end: datetime | None = None,
    on_item: bool = False,
    **fields,
) -> dict:
    """A subscription object as Stripe documents it; on_item puts the period on the item (API 2025-03-31+).

    The workspace price is one item (quantity 1); extra_seats adds the seat add-on's item."""
    end = end or start + 30 * DAY
    period = {"current_period_start": unix(start), "current_period_end": unix(end)}
    item = {
        "id": "si_" + sub_id[4:],
        "object": "subscription_item",
        "price": {
            "id": price,
            "object": "price",
            "currency": "usd",
            "unit_amount": 200_000,
            "recurring": {"interval": "year" if "year" in price else "month", "interval_count": 1},
        },
        "quantity": quantity,
        **(period if on_item else {}),
    }
    items = [item]
    if extra_seats:
        interval = item["price"]["recurring"]["interval"]
        seat_price = {"id": f"price_pro_seat_{interval}", "object": "price", "currency": "usd", "unit_amount": 40_000}
        items.append({"id": "si_seats", "object": "subscription_item", "price": seat_price, "quantity": extra_seats})
    obj = {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "items": {"object": "list", "data": items, "has_more": False},
        "cancel_at_period_end": False,
        "canceled_at": None,
        "ended_at": None,
        "trial_end": None,
        "trial_start": None,
        "metadata": {},
        "livemode": False,
        "created": unix(start),
        **({} if on_item else period),
    }
    obj.update(fields)
    return obj


def invoice(customer: str, *, inv_id: str = "in_1QAeroSpec", status: str = "paid", attempts: int = 1, **fields):
    """An invoice object of a subscription's cycle, as Stripe sends it in invoice.* events."""
    amount = 200_000
    now = unix(datetime.now(UTC))
    obj = {
        "id": inv_id,
        "object": "invoice",
        "customer": customer,
        "subscription": "sub_1QAeroSpec",
        "billing_reason": "subscription_cycle",
        "number": "AEROSPEC-" + inv_id[-4:],
        "status": status,
        "currency": "usd",
        "subtotal": amount,
        "tax": 0,
        "total": amount,
        "amount_due": amount,
        "amount_paid": amount if status == "paid" else 0,
        "attempt_count": attempts,
        "created": now,
        "period_start": now,
        "period_end": now,
        "status_transitions": {"finalized_at": now, "paid_at": now if status == "paid" else None},
        "next_payment_attempt": None if status == "paid" else now + 3 * 86400,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "lines": {
            "object": "list",
            "data": [
                {
                    "id": "il_1",
                    "object": "line_item",
                    "type": "subscription",
                    "description": "1 × AeroSpec Professional",
                    "amount": amount,
                    "quantity": 1,
                    "subscription": "sub_1QAeroSpec",
                    "metadata": {},
                }
            ],
        },
        "livemode": False,
    }
    obj.update(fields)
    return obj


@pytest.fixture
def hook_app(build_app):
    return build_app(STRIPE_WEBHOOK_SECRET=SECRET, **PRICES)


@pytest.fixture
def hook(hook_app):
    return hook_app.test_client()


@pytest.fixture
def customer_team(db, team):
    """A trialing team whose Stripe customer is already known (as subscribe stores it)."""

    def _make(**kwargs):
        t = team(**kwargs)
        t.tenant.billing_customer_id = "cus_" + secrets.token_hex(6)
        db.session.commit()
        return t

    return _make


def mirror(db, tenant) -> list[BillingSubscription]:
    with tenant_scope(db.session, tenant.id):
        db.session.expire_all()
        return list(db.session.scalars(select(BillingSubscription).where(BillingSubscription.tenant_id == tenant.id)))


def fresh(db, tenant):
    db.session.expire_all()
    db.session.refresh(tenant)
    return tenant


def ok(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# -- the mirror ------------------------------------------------------------------------------------


@pytest.mark.parametrize("on_item", [False, True], ids=["period-on-subscription", "period-on-item"])
def test_subscription_created_mirrors_the_object_found_by_customer(hook, db, customer_team, on_item):
    t = customer_team()
    cus = t.tenant.billing_customer_id
    end = START + 365 * DAY
    obj = subscription(cus, price="price_pro_year", extra_seats=3, end=end, on_item=on_item)
    ok(deliver(hook, stripe_event("customer.subscription.created", obj)))

    [row] = mirror(db, t.tenant)
    assert (row.provider, row.provider_subscription_id, row.provider_customer_id) == ("stripe", obj["id"], cus)
    assert (row.plan, row.interval, row.price_id, row.status, row.extra_seats) == (
        "professional",
        "year",
        "price_pro_year",
        "active",
        3,
    )
    assert (row.current_period_start, row.current_period_end) == (START, end)
    assert row.cancel_at_period_end is False and row.provider_updated_at is not None
    tenant = fresh(db, t.tenant)
    assert (tenant.plan, tenant.subscription_status, tenant.extra_seats) == ("professional", "active", 3)
    [stored] = billing_events(db)
    assert stored.processed_at is not None and stored.error is None


def test_metadata_finds_the_tenant_when_the_customer_is_not_yet_stored(hook, db, team):
    t = team()
    obj = subscription("cus_new1", metadata={"tenant_id": str(t.tenant.id), "plan": "professional"})
    ok(deliver(hook, stripe_event("customer.subscription.created", obj)))
    [row] = mirror(db, t.tenant)
    assert row.provider_customer_id == "cus_new1"
    assert fresh(db, t.tenant).billing_customer_id == "cus_new1"  # now found by customer from here on


def test_an_event_for_an_unknown_customer_changes_nothing(hook, db, customer_team):
    t = customer_team()
    ok(deliver(hook, stripe_event("customer.subscription.created", subscription("cus_nobody"))))
    assert mirror(db, t.tenant) == []
    assert fresh(db, t.tenant).subscription_status == "trialing"
    assert billing_events(db)[0].processed_at is not None


def test_a_duplicate_subscription_delivery_is_a_no_op(hook, db, customer_team):
    t = customer_team()
    event = stripe_event("customer.subscription.created", subscription(t.tenant.billing_customer_id))
    ok(deliver(hook, event))
    assert ok(deliver(hook, event))["duplicate"] is True
    assert event_count(db) == 1
    assert len(mirror(db, t.tenant)) == 1
    with tenant_scope(db.session, t.tenant.id):
        actives = db.session.scalars(select(AuditLog).where(AuditLog.action == "billing.status_active")).all()
    assert len(actives) == 1


def test_updated_before_created_keeps_the_update(hook, db, customer_team):
    t = customer_team()
    cus = t.tenant.billing_customer_id
    now = unix(datetime.now(UTC))
    updated = stripe_event("customer.subscription.updated", subscription(cus, extra_seats=4), created=now)
    created = stripe_event("customer.subscription.created", subscription(cus, extra_seats=1), created=now - 5)
    ok(deliver(hook, updated))
    ok(deliver(hook, created))
    [row] = mirror(db, t.tenant)
    assert row.extra_seats == 4


def test_created_in_the_same_second_after_an_update_does_not_undo_it(hook, db, customer_team):
    t = customer_team()
    cus = t.tenant.billing_customer_id
    now = unix(datetime.now(UTC))
    ok(deliver(hook, stripe_event("customer.subscription.updated", subscription(cus, extra_seats=2), created=now)))
    ok(deliver(hook, stripe_event("customer.subscription.created", subscription(cus, extra_seats=1), created=now)))
    assert mirror(db, t.tenant)[0].extra_seats == 2


def test_an_older_update_after_a_newer_one_is_ignored(hook, db, customer_team):
    t = customer_team()
    cus = t.tenant.billing_customer_id
    now = unix(datetime.now(UTC))
    newer = subscription(cus, price="price_starter_month", cancel_at_period_end=True)
    older = subscription(cus, price="price_pro_month")
    ok(deliver(hook, stripe_event("customer.subscription.updated", newer, created=now)))
    ok(deliver(hook, stripe_event("customer.subscription.updated", older, created=now - 60)))
    [row] = mirror(db, t.tenant)
    assert (row.plan, row.cancel_at_period_end) == ("starter", True)
    assert fresh(db, t.tenant).plan == "starter"
    assert all(e.processed_at is not None for e in billing_events(db))


def test_deleted_cancels_the_workspace_and_nothing_revives_it(hook, db, customer_team):
    t = customer_team()
    cus = t.tenant.billing_customer_id
    now = unix(datetime.now(UTC))
    ok(deliver(hook, stripe_event("customer.subscription.created", subscription(cus), created=now - 100)))
    ended = subscription(cus, status="canceled", canceled_at=now - 10, ended_at=now - 10)
    ok(deliver(hook, stripe_event("customer.subscription.deleted", ended, created=now - 10)))
    [row] = mirror(db, t.tenant)
    assert row.status == "canceled" and row.ended_at is not None
    assert fresh(db, t.tenant).subscription_status == "canceled"

    # A late `updated` (even stamped later, e.g. clock skew) cannot bring a canceled subscription back.
    ok(deliver(hook, stripe_event("customer.subscription.updated", subscription(cus), created=now - 50)))
    ok(deliver(hook, stripe_event("customer.subscription.updated", subscription(cus), created=now)))
    assert mirror(db, t.tenant)[0].status == "canceled"
    assert fresh(db, t.tenant).subscription_status == "canceled"


def test_dunning_fields_survive_a_subscription_update(hook, db, customer_team):
    t = customer_team()
    cus = t.tenant.billing_customer_id
    ok(deliver(hook, stripe_event("customer.subscription.created", subscription(cus))))
    ok(deliver(hook, stripe_event("invoice.payment_failed", invoice(cus, status="open", attempts=1))))
    past_due = subscription(cus, status="past_due")
    ok(deliver(hook, stripe_event("customer.subscription.updated", past_due, created=unix(datetime.now(UTC)) + 1)))
    [row] = mirror(db, t.tenant)
    assert row.status == "past_due"
    assert row.past_due_since is not None and row.failed_payment_count == 1
    assert fresh(db, t.tenant).subscription_status == "past_due"


# -- checkout.session.completed ------------------------------------------------------------------


def subscription_checkout(tenant, customer, sub) -> dict:
    return {
        "id": "cs_test_" + secrets.token_hex(8),
        "object": "checkout.session",
        "mode": "subscription",
        "status": "complete",
        "payment_status": "paid",
        "customer": customer,
        "subscription": sub,
        "client_reference_id": str(tenant.id),
        "metadata": {"kind": "subscription", "tenant_id": str(tenant.id), "plan": "professional", "interval": "year"},
        "amount_total": 2_160_000,
        "currency": "usd",
        "livemode": False,
    }


def test_checkout_completed_stores_the_customer_and_applies_the_subscription_re_read_from_stripe(build_app, db, team):
    stripe_app = build_app(STRIPE_WEBHOOK_SECRET=SECRET, STRIPE_SECRET_KEY="sk_test_abc123", **PRICES)
    current = subscription("cus_fresh", sub_id="sub_fromstripe", price="price_pro_year", extra_seats=2, on_item=True)
    recorder = RecordingHTTPClient([(200, current)])
    stripe_app.extensions["aerospec_stripe_http_client"] = recorder
    t = team()
    event = stripe_event("checkout.session.completed", subscription_checkout(t.tenant, "cus_fresh", "sub_fromstripe"))
    ok(deliver(stripe_app.test_client(), event))

    [call] = recorder.calls
    assert (call["method"], call["url"]) == ("get", "https://api.stripe.com/v1/subscriptions/sub_fromstripe")
    tenant = fresh(db, t.tenant)
    assert (tenant.billing_customer_id, tenant.subscription_status, tenant.plan) == (
        "cus_fresh",
        "active",
        "professional",
    )
    [row] = mirror(db, t.tenant)
    assert (row.provider_subscription_id, row.interval, row.extra_seats) == ("sub_fromstripe", "year", 2)
    assert billing_events(db)[0].processed_at is not None


def test_checkout_completed_with_an_expanded_subscription_applies_it_without_asking_stripe(hook, db, team):
    t = team()
    expanded = subscription("cus_exp", sub_id="sub_expanded", price="price_pro_month")
    ok(deliver(hook, stripe_event("checkout.session.completed", subscription_checkout(t.tenant, "cus_exp", expanded))))
    [row] = mirror(db, t.tenant)
    assert row.provider_subscription_id == "sub_expanded"
    assert fresh(db, t.tenant).billing_customer_id == "cus_exp"


# -- invoices and the whole dunning path ----------------------------------------------------------


def invoices_of(db, tenant) -> list[Invoice]:
    with tenant_scope(db.session, tenant.id):
        db.session.expire_all()
        return list(db.session.scalars(select(Invoice).where(Invoice.tenant_id == tenant.id)))


def test_a_stale_failed_attempt_after_the_invoice_was_paid_changes_nothing(hook, db, customer_team):
    t = customer_team()
    cus = t.tenant.billing_customer_id
    ok(deliver(hook, stripe_event("customer.subscription.created", subscription(cus))))
    ok(deliver(hook, stripe_event("invoice.paid", invoice(cus, status="paid", attempts=2))))
    ok(deliver(hook, stripe_event("invoice.payment_failed", invoice(cus, status="open", attempts=1))))
    [inv] = invoices_of(db, t.tenant)
    assert inv.status == "paid"
    assert fresh(db, t.tenant).subscription_status == "active"
    assert mirror(db, t.tenant)[0].failed_payment_count == 0


def test_trial_paid_failed_three_times_suspended_paid_active_by_webhooks_under_a_frozen_clock(
    hook, db, customer_team, tokens
):
    with time_machine.travel(START, tick=False) as clock:
        t = customer_team(trial_ends_at=START + 14 * DAY)
        cus = t.tenant.billing_customer_id
        assert fresh(db, t.tenant).subscription_status == "trialing"

        # Subscribed during the trial: the first invoice is paid.
        ok(deliver(hook, stripe_event("customer.subscription.created", subscription(cus, start=START))))
        ok(deliver(hook, stripe_event("invoice.paid", invoice(cus, inv_id="in_first", status="paid"))))
        assert fresh(db, t.tenant).subscription_status == "active"

        # The next cycle's payment fails three times, Stripe's smart retries a few days apart.
        clock.shift(30 * DAY)
        first_failure = datetime.now(UTC)
        cycle = "in_second"
        ok(deliver(hook, stripe_event("invoice.payment_failed", invoice(cus, inv_id=cycle, status="open", attempts=1))))
        assert fresh(db, t.tenant).subscription_status == "past_due"
        [row] = mirror(db, t.tenant)
        assert (row.past_due_since, row.failed_payment_count) == (first_failure, 1)

        clock.shift(3 * DAY)
        ok(deliver(hook, stripe_event("invoice.payment_failed", invoice(cus, inv_id=cycle, status="open", attempts=2))))
        assert fresh(db, t.tenant).subscription_status == "past_due"
        past_due = subscription(cus, status="past_due", start=START + 30 * DAY)
        ok(deliver(hook, stripe_event("customer.subscription.updated", past_due)))  # Stripe says past_due too
        assert mirror(db, t.tenant)[0].past_due_since == first_failure  # the cycle keeps its start

        clock.shift(2 * DAY)
        ok(deliver(hook, stripe_event("invoice.payment_failed", invoice(cus, inv_id=cycle, status="open", attempts=3))))
        assert fresh(db, t.tenant).subscription_status == "suspended"
        headers = auth(tokens(t.admin, t.tenant)["access_token"])
        assert_problem(hook.post("/api/configurations", json={}, headers=headers), 402)

        # The card is updated and the invoice paid: the workspace is active again, the cycle cleared.
        clock.shift(1 * DAY)
        ok(deliver(hook, stripe_event("invoice.paid", invoice(cus, inv_id=cycle, status="paid", attempts=4))))
        assert fresh(db, t.tenant).subscription_status == "active"
        [row] = mirror(db, t.tenant)
        assert (row.past_due_since, row.failed_payment_count) == (None, 0)
        # Stripe's subscription.updated back to active, delivered late, changes nothing more.
        ok(deliver(hook, stripe_event("customer.subscription.updated", subscription(cus, start=START + 30 * DAY))))
        assert fresh(db, t.tenant).subscription_status == "active"

    with tenant_scope(db.session, t.tenant.id):
        actions = [
            e.action
            for e in db.session.scalars(
                select(AuditLog).where(AuditLog.action.like("billing.%")).order_by(AuditLog.created_at, AuditLog.id)
            )
        ]
    assert [a for a in actions if a.startswith("billing.status_")] == [
        "billing.status_active",
        "billing.status_past_due",
        "billing.status_suspended",
        "billing.status_active",
    ]
    assert actions.count("billing.payment_failed") == 3
    assert {i.provider_invoice_id: i.status for i in invoices_of(db, t.tenant)} == {
        "in_first": "paid",
        "in_second": "paid",
    }
    assert all(e.processed_at is not None and e.error is None for e in billing_events(db))
