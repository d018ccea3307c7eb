"""The MRR ledger from provider events: Stripe-shaped, signed deliveries to POST /api/webhooks/stripe write one
row per change of a workspace's recurring amount, with the event's time; a redelivered event, another event
carrying the same state, or a replay of an event id writes nothing. The offline provider's cycle (a renewal,
then a cancellation at the period's end) goes through the same intake; the backfill covers older rows."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from aerospec.billing.models import BillingSubscription
from aerospec.revenue import ledger
from aerospec.revenue.models import MrrLedgerEntry
from aerospec.tenancy.scoping import tenant_scope
from jobs.billing import run_offline_billing_cycle
from tests.api import conftest as api_fixtures
from tests.billing.helpers import SECRET, deliver, sign, stripe_event
from tests.billing.test_offline_cycle import START, _sub, _subscribe
from tests.billing.test_subscriptions import PRICES, subscription, unix

tokens = api_fixtures.tokens
bearer = api_fixtures.bearer
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@pytest.fixture
def hook(build_app):
    return build_app(STRIPE_WEBHOOK_SECRET=SECRET, **PRICES).test_client()


@pytest.fixture
def customer(db, team):
    t = team()
    t.tenant.billing_customer_id = "cus_" + secrets.token_hex(6)
    db.session.commit()
    return t


def entries(db, tenant) -> list[MrrLedgerEntry]:
    with tenant_scope(db.session, tenant.id):
        db.session.expire_all()
        return list(
            db.session.scalars(
                select(MrrLedgerEntry)
                .where(MrrLedgerEntry.tenant_id == tenant.id)
                .order_by(MrrLedgerEntry.effective_at, MrrLedgerEntry.created_at)
            )
        )


def moves(db, tenant) -> list[tuple[str, int, int]]:
    return [(e.kind, e.mrr_before, e.mrr_after) for e in entries(db, tenant)]


def ok(response):
    assert response.status_code == 200, response.get_data(as_text=True)


def test_subscription_events_write_one_row_per_change_and_redeliveries_write_none(hook, db, customer):
    cus, tenant = customer.tenant.billing_customer_id, customer.tenant
    t0 = unix(START)
    ok(deliver(hook, stripe_event("customer.subscription.created", subscription(cus, status="trialing"), created=t0)))
    assert moves(db, tenant) == []  # a trial pays nothing yet

    converted = stripe_event("customer.subscription.updated", subscription(cus), created=t0 + 100)
    body = json.dumps(converted)
    header = sign(body)
    ok(deliver(hook, body, header=header))
    assert moves(db, tenant) == [("new", 0, 200_000)]  # Professional monthly: USD 2,000.00
    [row] = entries(db, tenant)
    assert (row.source, row.plan, row.interval, row.month) == ("stripe", "professional", "month", "2026-03")
    assert row.event_id == converted["id"] and unix(row.effective_at) == t0 + 100  # the event's time, not ours

    ok(deliver(hook, body, header=header))  # the same signed delivery again (Stripe retries)
    ok(deliver(hook, stripe_event("customer.subscription.updated", subscription(cus), created=t0 + 150)))
    assert moves(db, tenant) == [("new", 0, 200_000)]  # same event: stored once; same state: no change

    seats = subscription(cus, extra_seats=2)
    ok(deliver(hook, stripe_event("customer.subscription.updated", seats, created=t0 + 200)))
    starter = subscription(cus, price="price_starter_month")
    ok(deliver(hook, stripe_event("customer.subscription.updated", starter, created=t0 + 300)))
    ended = subscription(cus, price="price_starter_month", status="canceled", canceled_at=t0 + 400, ended_at=t0 + 400)
    deleted = stripe_event("customer.subscription.deleted", ended, created=t0 + 400)
    ok(deliver(hook, deleted))
    ok(deliver(hook, deleted))
    assert moves(db, tenant) == [
        ("new", 0, 200_000),
        ("expansion", 200_000, 280_000),  # + 2 seats × USD 400
        ("contraction", 280_000, 50_000),  # down to Starter
        ("churn", 50_000, 0),
    ]
    churn = entries(db, tenant)[-1]
    assert (churn.plan, churn.plan_before, churn.delta) == ("starter", "starter", -50_000)


def test_a_late_older_event_changes_nothing(hook, db, customer):
    cus, tenant = customer.tenant.billing_customer_id, customer.tenant
    t0 = unix(START)
    ok(deliver(hook, stripe_event("customer.subscription.updated", subscription(cus, extra_seats=1), created=t0 + 60)))
    # An older object (one seat fewer) delivered late: the mirror ignores it, so the ledger does too.
    ok(deliver(hook, stripe_event("customer.subscription.created", subscription(cus), created=t0)))
    assert moves(db, tenant) == [("new", 0, 240_000)]


def test_an_event_id_already_in_the_ledger_is_never_written_twice(db, customer):
    tenant = customer.tenant
    with tenant_scope(db.session, tenant.id):
        first = ledger.record(
            db.session,
            tenant.id,
            after=50_000,
            plan="starter",
            interval="month",
            at=START,
            event_id="evt_1",
            source="stripe",
        )
        replay = ledger.record(
            db.session,
            tenant.id,
            after=0,
            plan="starter",
            interval="month",
            at=START + DAY,
            event_id="evt_1",
            source="stripe",
        )
    assert first is not None and replay is None
    assert moves(db, tenant) == [("new", 0, 50_000)]


def test_the_offline_cycle_renews_without_a_row_and_its_cancellation_is_churn(client, db, team, bearer, login):
    with time_machine.travel(START, tick=False):
        t = team(subscription_status="expired", trial_ends_at=START - DAY, name="Ledger Sprays")
        login(t.admin)
        sub = _subscribe(client, db, t, bearer)
    assert moves(db, t.tenant) == [("new", 0, 200_000)]
    assert entries(db, t.tenant)[0].source == "offline"
    end = sub.current_period_end
    with time_machine.travel(end + HOUR, tick=False):
        run_offline_billing_cycle()  # renewal: invoice.paid + subscription.updated, same amount
    assert moves(db, t.tenant) == [("new", 0, 200_000)]
    with time_machine.travel(end + 2 * DAY, tick=False):
        assert client.delete("/api/billing/cancel", headers=bearer(t.admin)).status_code == 200
    with time_machine.travel(_sub(db, t.tenant).current_period_end + HOUR, tick=False):
        run_offline_billing_cycle()
        run_offline_billing_cycle()  # a second pass stores nothing twice
    assert moves(db, t.tenant) == [("new", 0, 200_000), ("churn", 200_000, 0)]
    assert entries(db, t.tenant)[-1].effective_at == _sub(db, t.tenant).ended_at


def test_backfill_writes_rows_for_subscriptions_older_than_the_ledger_once(db, team):
    live, gone = team(), team()
    for t, status, ended in ((live, "active", None), (gone, "canceled", START + 40 * DAY)):
        with tenant_scope(db.session, t.tenant.id):
            db.session.add(
                BillingSubscription(
                    tenant_id=t.tenant.id,
                    provider="stripe",
                    provider_customer_id="cus_x" + t.tenant.slug,
                    provider_subscription_id="sub_x" + t.tenant.slug,
                    plan="professional",
                    interval="year",
                    status=status,
                    extra_seats=0,
                    created_at=START,
                    ended_at=ended,
                )
            )
            db.session.flush()
    db.session.commit()
    assert ledger.backfill(db.session, START + 60 * DAY)["rows"] == 3
    assert ledger.backfill(db.session, START + 60 * DAY)["rows"] == 0  # idempotent
    assert moves(db, live.tenant) == [("new", 0, 180_000)]  # USD 21,600 a year = 1,800 a month
    assert moves(db, gone.tenant) == [("new", 0, 180_000), ("churn", 180_000, 0)]
    assert {e.source for e in entries(db, gone.tenant)} == {"backfill"}
