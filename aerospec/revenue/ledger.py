"""Writing the MRR ledger: from provider events as they are applied, and a backfill for what came before.

Every billing event that can move a subscription (customer.subscription.*, a subscription checkout,
invoice.* — Stripe's invoice events re-read the subscription) is handled here *after* the billing
mirror has applied it (this module imports billing.subscriptions first, so its handlers are registered
first and run first). The handler reads the workspace's MRR from the mirror as it now stands, compares
it with the ledger's running amount for that workspace, and writes one row when they differ, stamped
with the event's own time (Stripe's `created`; the offline cycle stamps the instant it simulates), or for
a churn with the subscription's `ended_at`.

Idempotent: an event is processed once (billing_events), a repeat of the same state writes nothing
(the amounts are equal), and (tenant, event id) is unique, so a replayed event cannot add a row.

MRR of a subscription: its plan's price with its extra seats (billing.plans.price_quote), an annual
price divided by 12 and rounded half-up to the cent, while the subscription is active or past due
(past due still counts until it is canceled: the workspace is still billed). Trialing, canceled,
unpaid and incomplete subscriptions count 0. Enterprise is arranged with sales and has no list price
here, so it counts 0 and the dashboard says so.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aerospec.billing import subscriptions as billing_subscriptions  # noqa: F401 - its handlers run first
from aerospec.billing.models import BillingSubscription
from aerospec.billing.plans import PLANS, price_quote
from aerospec.billing.webhooks import ProviderEvent, handles
from aerospec.models import utcnow
from aerospec.revenue.models import MrrLedgerEntry
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import tenant_scope, unscoped

log = logging.getLogger(__name__)

PAYING = ("active", "past_due")


def month_of(at: datetime) -> str:
    """The UTC month of an instant, YYYY-MM (the ledger's grouping key)."""
    return at.strftime("%Y-%m")


def subscription_mrr(plan: str, interval: str, extra_seats: int, status: str) -> int:
    """What one subscription adds to MRR, in cents a month (0 unless active or past due, or without a list price)."""
    if status not in PAYING or plan not in PLANS or PLANS[plan].monthly_price is None:
        return 0
    quote = price_quote(plan, interval, max(0, int(extra_seats or 0)))
    return int(quote.per_month * 100)


def classify(before: int, after: int, ever_paid: bool) -> str | None:
    """The kind of an MRR change (None when nothing changed)."""
    if before == after:
        return None
    if before == 0:
        return "reactivation" if ever_paid else "new"
    if after == 0:
        return "churn"
    return "expansion" if after > before else "contraction"


@dataclass(frozen=True)
class Running:
    """The ledger's running state for one workspace."""

    mrr: int
    plan: str | None
    interval: str | None
    effective_at: datetime | None
    ever_paid: bool


def running_state(session: Session, tenant_id: uuid.UUID) -> Running:
    """The workspace's MRR as the ledger has it now (its latest row), and whether it ever paid."""
    last = session.scalar(
        select(MrrLedgerEntry)
        .where(MrrLedgerEntry.tenant_id == tenant_id)
        .order_by(MrrLedgerEntry.effective_at.desc(), MrrLedgerEntry.created_at.desc())
        .limit(1)
    )
    if last is None:
        return Running(0, None, None, None, False)
    return Running(last.mrr_after, last.plan, last.interval, last.effective_at, True)


def mirror_mrr(session: Session, tenant_id: uuid.UUID) -> tuple[int, BillingSubscription | None]:
    """The workspace's MRR from its subscription mirror now, and the subscription that pays most of it."""
    rows = list(session.scalars(select(BillingSubscription).where(BillingSubscription.tenant_id == tenant_id)))
    total, top, top_amount = 0, None, -1
    for row in rows:
        amount = subscription_mrr(row.plan, row.interval, row.extra_seats, row.status)
        total += amount
        if amount > top_amount or (amount == top_amount and top is not None and row.created_at > top.created_at):
            top, top_amount = row, amount
    return total, top


def entry_fields(
    tenant_id: uuid.UUID,
    cohort: str,
    state: Running,
    *,
    after: int,
    plan: str,
    interval: str,
    at: datetime,
    event_id: str,
    source: str,
    subscription_id: uuid.UUID | None = None,
) -> dict | None:
    """The columns of the ledger row for a change from `state` to `after` at `at` (None when nothing changed).

    The one place a row's kind and amounts are worked out: the event handler and the seeded history both
    write what this returns."""
    kind = classify(state.mrr, after, state.ever_paid)
    if kind is None:
        return None
    if kind == "churn":  # the amount that left: what it was on
        plan, interval = state.plan or plan, state.interval or interval
    return {
        "tenant_id": tenant_id,
        "subscription_id": subscription_id,
        "event_id": event_id,
        "source": source,
        "kind": kind,
        "effective_at": at,
        "month": month_of(at),
        "cohort": cohort,
        "plan": plan,
        "interval": interval,
        "plan_before": state.plan if state.mrr else None,
        "interval_before": state.interval if state.mrr else None,
        "currency": "usd",
        "mrr_before": state.mrr,
        "mrr_after": after,
        "delta": after - state.mrr,
    }


def record(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    after: int,
    plan: str,
    interval: str,
    at: datetime,
    event_id: str,
    source: str,
    subscription_id: uuid.UUID | None = None,
) -> MrrLedgerEntry | None:
    """Write the row for a change of the workspace's MRR to `after` at `at` (None when nothing changed).

    Inside the tenant's scope. `at` earlier than the latest row (a late event) is moved up to it, so the
    running amount always reads in time order. Does not commit.
    """
    state = running_state(session, tenant_id)
    if state.mrr == after:
        return None
    exists = session.scalar(
        select(func.count())
        .select_from(MrrLedgerEntry)
        .where(MrrLedgerEntry.tenant_id == tenant_id, MrrLedgerEntry.event_id == event_id)
    )
    if exists:
        return None
    if state.effective_at is not None and at < state.effective_at:
        at = state.effective_at
    tenant = session.get(Tenant, tenant_id)
    fields = entry_fields(
        tenant_id,
        month_of(tenant.created_at),
        state,
        after=after,
        plan=plan,
        interval=interval,
        at=at,
        event_id=event_id,
        source=source,
        subscription_id=subscription_id,
    )
    entry = MrrLedgerEntry(**fields)
    session.add(entry)
    session.flush()  # in the tenant's scope (RLS checks the insert against it)
    return entry


@handles(
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "checkout.session.completed",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
)
def ledger_from_event(session: Session, event: ProviderEvent) -> str | None:
    """After billing applied an event: record the workspace's MRR change, if it changed."""
    if event.tenant_id is None:
        return None
    after, top = mirror_mrr(session, event.tenant_id)
    plan = top.plan if top is not None else "starter"
    interval = top.interval if top is not None else "month"
    at = event.created or utcnow()
    if after == 0 and top is not None and top.ended_at is not None:
        at = top.ended_at  # churn happened when the subscription ended (the object says), not when we heard
    entry = record(
        session,
        event.tenant_id,
        after=after,
        plan=plan,
        interval=interval,
        at=at,
        event_id=event.id,
        source=event.provider,
        subscription_id=top.id if top is not None else None,
    )
    if entry is None:
        return None
    return f"MRR {entry.kind}: {entry.mrr_before / 100:.2f} → {entry.mrr_after / 100:.2f} USD a month"


# -- backfill --------------------------------------------------------------------------------------


def _points(row: BillingSubscription, now: datetime) -> list[tuple[datetime, int]]:
    """What the mirror row tells of one subscription's MRR over time: when it began paying and when it ended.

    Only today's amount is known for the time before the ledger existed, so the whole paid life is
    recorded at that amount (the backfill's stated limit)."""
    amount = subscription_mrr(row.plan, row.interval, row.extra_seats, "active")
    if amount == 0:
        return []
    started = row.trial_end if row.trial_end is not None and row.trial_end > row.created_at else row.created_at
    if row.status in PAYING:
        return [(min(started, now), amount)]
    if row.ended_at is not None and row.ended_at > started:
        return [(started, amount), (row.ended_at, 0)]
    return []  # ended before its trial did, or never paid


def backfill(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Ledger rows for workspaces with subscriptions but no ledger yet (from their mirror rows); idempotent."""
    now = now or utcnow()
    with unscoped(session, "revenue backfill: workspaces with subscriptions and no MRR ledger"):
        has_rows = select(MrrLedgerEntry.tenant_id).distinct()
        tenant_ids = list(
            session.scalars(
                select(BillingSubscription.tenant_id).where(BillingSubscription.tenant_id.not_in(has_rows)).distinct()
            )
        )
    written = {"workspaces": 0, "rows": 0}
    for tenant_id in tenant_ids:
        with tenant_scope(session, tenant_id):
            if session.get(Tenant, tenant_id) is None:
                continue
            subs = list(
                session.scalars(
                    select(BillingSubscription)
                    .where(BillingSubscription.tenant_id == tenant_id)
                    .order_by(BillingSubscription.created_at)
                )
            )
            changes: list[tuple[datetime, BillingSubscription, int]] = []
            for row in subs:
                changes += [(at, row, amount) for at, amount in _points(row, now)]
            live: dict[uuid.UUID, int] = {}
            for at, row, amount in sorted(changes, key=lambda c: c[0]):
                live[row.id] = amount
                entry = record(
                    session,
                    tenant_id,
                    after=sum(live.values()),
                    plan=row.plan,
                    interval=row.interval,
                    at=at,
                    event_id=f"backfill:{row.id}:{int(at.timestamp())}",
                    source="backfill",
                    subscription_id=row.id,
                )
                written["rows"] += entry is not None
            written["workspaces"] += 1
    return written
