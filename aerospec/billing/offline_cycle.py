"""Offline billing periods: what Stripe does when a subscription's period ends, for the offline provider.

Stripe renews a subscription at the end of each period, retries a failed payment on a schedule and
ends a subscription set to cancel at period end; it tells us by events. The offline provider has no
Stripe to do that, so `run_cycle` (the hourly job jobs.billing.run_offline_billing_cycle) does it and
emits the same Stripe-shaped events through the one intake (`webhooks.intake`), so the mirror and the
trial/dunning lifecycle move exactly as they do for Stripe's deliveries.

For each offline subscription (not ended), at `now`:

    cancel_at_period_end and the period ended  customer.subscription.deleted (status canceled,
                                               ended_at = the period's end) → workspace canceled
                                               (read-only)
    an open invoice whose retry is due         one payment attempt with the workspace's test card:
                                               invoice.paid + customer.subscription.updated (active),
                                               or invoice.payment_failed (attempt_count + 1)
    the period ended, no open invoice          renew: issue the next period's invoice (the plan's
                                               price and extra seats + every pending procurement
                                               commission, less account credit) and attempt
                                               it: invoice.paid + customer.subscription.updated (new
                                               period, active), or invoice.payment_failed (attempt 1)
                                               + customer.subscription.updated (new period, past_due)

Retry schedule (a simple stand-in for Stripe's Smart Retries): the first attempt at the period's
end (day 0), the second 3 days later (day 3), the third 5 days after that (day 8); after the third
failure nothing is retried and the subscription stays past_due until someone pays (Stripe's "leave
the subscription past-due" setting). With lifecycle's 7-day grace and 3-attempt limit the workspace
walks past_due (day 0) → read_only (day 7, the daily lifecycle job) → suspended (day 8), with the
lifecycle's emails. An admin's "Pay now" (`pay_now`) is one more attempt on the open invoice at once.

Idempotent: a renewal's invoice id is stable per subscription and period
(`in_offline_<subscription>_<period end>`), and every event id is stable per invoice and attempt
(`evt_<invoice>_a<attempt>_<invoice|subscription>`, `evt_<subscription>_ended`), so a repeated run,
or a second scheduler, stores nothing twice. Events carry `created = now`, the instant they describe.

The workspace's test card (what a payment attempt does) and the retry schedule live in
`billing.offline_card`, below this module and `billing.subscriptions`, which both attempt payments.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aerospec.billing import invoices, lifecycle, webhooks
from aerospec.billing.models import BillingSubscription, Invoice
from aerospec.billing.offline_card import MAX_ATTEMPTS, card_outcome, next_attempt_at
from aerospec.billing.providers import add_interval, offline_event
from aerospec.errors import Conflict
from aerospec.models import utcnow
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import tenant_scope, unscoped

log = logging.getLogger(__name__)

PROVIDER = "offline"
RENEWING = ("trialing", "active", "past_due", "unpaid")  # states in which a period can end and renew


@dataclass
class Outcome:
    """What one subscription's pass did, for the job's summary and the tests."""

    action: str  # ended | renewed | renewal_failed | retried_paid | retried_failed | nothing
    events: list[str] = field(default_factory=list)


# -- Stripe-shaped objects and events -------------------------------------------------------------


def renewal_invoice_id(row: BillingSubscription, period_start: datetime) -> str:
    """The renewal invoice's id: one per subscription and period (the period that starts at `period_start`)."""
    return f"in_{row.provider_subscription_id.removeprefix('sub_')}_{int(period_start.timestamp())}"


def _event(event_type: str, event_id: str, obj: dict, now: datetime) -> dict:
    event = offline_event(event_type, obj)
    event["id"] = event_id
    event["created"] = int(now.timestamp())
    return event


def _subscription_object(
    tenant: Tenant,
    row: BillingSubscription,
    *,
    status: str,
    period_start: datetime,
    period_end: datetime,
    **changes,
) -> dict:
    """The row as Stripe's subscription object, with a status and period (and any other changes)."""
    from aerospec.billing.subscriptions import offline_object

    return offline_object(
        tenant, row, period_start, status=status, period_start=period_start, period_end=period_end, **changes
    )


def _invoice_object(tenant: Tenant, row: BillingSubscription, invoice: Invoice, reason: str, **changes) -> dict:
    obj = invoices.invoice_object(invoice) | {
        "customer": row.provider_customer_id or tenant.billing_customer_id,
        "subscription": row.provider_subscription_id,
        "billing_reason": reason,
    }
    return obj | changes


def _intake(session: Session, events: list[dict]) -> list[str]:
    """Each event through the webhook's intake (a repeat of a stored id does nothing); returns their types."""
    for event in events:
        webhooks.intake(session, event, PROVIDER)
    return [event["type"] for event in events]


# -- one payment attempt --------------------------------------------------------------------------


def _attempt(
    session: Session,
    tenant: Tenant,
    row: BillingSubscription,
    invoice: Invoice,
    now: datetime,
    *,
    scheduled: bool,
) -> Outcome:
    """Charge an open invoice once more with the test card: invoice.paid (+ subscription active) or
    invoice.payment_failed with the next attempt count (and, when scheduled, the next retry's time)."""
    attempt = invoice.attempt_count + 1
    base = f"evt_{invoice.provider_invoice_id}_a{attempt}"
    stamp = int(now.timestamp())
    reason = "subscription_cycle"
    if card_outcome(session, tenant) == "succeeds":
        paid = _invoice_object(
            tenant,
            row,
            invoice,
            reason,
            status="paid",
            attempt_count=attempt,
            amount_paid=invoice.amount_due,
            next_payment_attempt=None,
            status_transitions={"finalized_at": invoices._unix(invoice.issued_at), "paid_at": stamp},
        )
        start, end = row.current_period_start or now, row.current_period_end or now
        sub = _subscription_object(tenant, row, status="active", period_start=start, period_end=end)
        events = [
            _event("invoice.paid", f"{base}_invoice", paid, now),
            _event("customer.subscription.updated", f"{base}_subscription", sub, now),
        ]
        return Outcome("retried_paid", _intake(session, events))
    # A manual attempt (Pay now) leaves the retry schedule as it was; a scheduled one moves it on.
    retry = next_attempt_at(now, attempt) if scheduled else invoice.next_payment_attempt
    failed = _invoice_object(
        tenant, row, invoice, reason, status="open", attempt_count=attempt, next_payment_attempt=invoices._unix(retry)
    )
    events = [_event("invoice.payment_failed", f"{base}_invoice", failed, now)]
    return Outcome("retried_failed", _intake(session, events))


def _renew(session: Session, tenant: Tenant, row: BillingSubscription, now: datetime) -> Outcome:
    """The period ended: invoice the next one (the plan's price, its extra seats, pending commissions, less any
    account credit) and attempt it."""
    from aerospec.billing import proration
    from aerospec.billing.subscriptions import current_quote

    start = row.current_period_end
    end = add_interval(start, row.interval)
    invoice_id = renewal_invoice_id(row, start)
    with tenant_scope(session, tenant.id):
        invoice = session.scalar(
            select(Invoice).where(Invoice.tenant_id == tenant.id, Invoice.provider_invoice_id == invoice_id)
        )
    card_ok = card_outcome(session, tenant) == "succeeds"
    reason = "subscription_cycle"
    if invoice is None:
        lines = invoices.quote_lines(current_quote(row), start, end)
        lines += invoices.pending_commission_lines(session, tenant, now)
        due, used, balance = proration.settle(sum(line["amount"] for line in lines), row.credit_balance)
        card_ok = card_ok or due == 0
        invoice = invoices.issue_offline_invoice(
            session,
            tenant,
            row.provider_subscription_id,
            lines,
            start,
            end,
            now,
            paid=card_ok,
            invoice_id=invoice_id,
            next_payment_attempt=None if card_ok else next_attempt_at(now, 1),
            billing_reason=reason,
            amount_due=due,
            credit_used=used,
            with_commissions=False,
        )
        row.credit_balance = balance
    # else: issued by an earlier run whose events are still queued; the same ids below store nothing new.
    base = f"evt_{invoice_id}_a1"
    obj = _invoice_object(tenant, row, invoice, reason)
    if invoice.status == "paid":
        sub = _subscription_object(tenant, row, status="active", period_start=start, period_end=end)
        events = [
            _event("customer.subscription.updated", f"{base}_subscription", sub, now),
            _event("invoice.paid", f"{base}_invoice", obj, now),
        ]
        return Outcome("renewed", _intake(session, events))
    # Stripe starts the new period anyway and marks the subscription past_due; the invoice carries
    # the attempt count the lifecycle's dunning reads.
    sub = _subscription_object(tenant, row, status="past_due", period_start=start, period_end=end)
    events = [
        _event("invoice.payment_failed", f"{base}_invoice", obj, now),
        _event("customer.subscription.updated", f"{base}_subscription", sub, now),
    ]
    return Outcome("renewal_failed", _intake(session, events))


def _end(session: Session, tenant: Tenant, row: BillingSubscription, now: datetime) -> Outcome:
    """A subscription set to cancel reached its period's end: customer.subscription.deleted."""
    end = row.current_period_end
    obj = _subscription_object(
        tenant,
        row,
        status="canceled",
        period_start=row.current_period_start or end,
        period_end=end,
        canceled_at=row.canceled_at or end,
        ended_at=end,
    )
    event = _event("customer.subscription.deleted", f"evt_{row.provider_subscription_id}_ended", obj, now)
    return Outcome("ended", _intake(session, [event]))


# -- the pass -------------------------------------------------------------------------------------


def open_invoice(session: Session, tenant: Tenant, row: BillingSubscription) -> Invoice | None:
    """The subscription's unpaid invoice (the newest open one), or None."""
    with tenant_scope(session, tenant.id):
        return session.scalar(
            select(Invoice)
            .where(Invoice.tenant_id == tenant.id, Invoice.subscription_id == row.id, Invoice.status == "open")
            .order_by(Invoice.period_start.desc(), Invoice.created_at.desc())
            .limit(1)
        )


def advance(session: Session, tenant: Tenant, row: BillingSubscription, now: datetime) -> Outcome:
    """Do what is due for one offline subscription at `now` (see the module's table); emits, never commits."""
    if row.provider != PROVIDER or row.ended_at is not None or row.status not in RENEWING:
        return Outcome("nothing")
    period_over = row.current_period_end is not None and row.current_period_end <= now
    if row.cancel_at_period_end and period_over:
        return _end(session, tenant, row, now)
    unpaid = open_invoice(session, tenant, row)
    if unpaid is not None:
        due = unpaid.next_payment_attempt is not None and unpaid.next_payment_attempt <= now
        if due and unpaid.attempt_count < MAX_ATTEMPTS:
            return _attempt(session, tenant, row, unpaid, now, scheduled=True)
        return Outcome("nothing")  # nothing new is billed while an invoice is unpaid
    if period_over:
        return _renew(session, tenant, row, now)
    return Outcome("nothing")


def due_subscriptions(session: Session, now: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant id, subscription id) of every offline subscription with a period end or a retry due."""
    with unscoped(session, "offline billing cycle: subscriptions across tenants whose period or retry is due"):
        ended = select(BillingSubscription.tenant_id, BillingSubscription.id).where(
            BillingSubscription.provider == PROVIDER,
            BillingSubscription.ended_at.is_(None),
            BillingSubscription.status.in_(RENEWING),
            BillingSubscription.current_period_end <= now,
        )
        retries = (
            select(Invoice.tenant_id, Invoice.subscription_id)
            .join(BillingSubscription, BillingSubscription.id == Invoice.subscription_id)
            .where(
                Invoice.provider == PROVIDER,
                Invoice.status == "open",
                Invoice.next_payment_attempt <= now,
                BillingSubscription.ended_at.is_(None),
                BillingSubscription.status.in_(RENEWING),
            )
        )
        found = list(session.execute(ended)) + list(session.execute(retries))
    return list(dict.fromkeys((tenant_id, sub_id) for tenant_id, sub_id in found))


def advance_one(session: Session, tenant_id: uuid.UUID, subscription_id: uuid.UUID, now: datetime) -> Outcome:
    """Load one tenant's subscription in its scope and advance it (the job commits after each)."""
    with tenant_scope(session, tenant_id):
        tenant = session.get(Tenant, tenant_id)
        row = session.get(BillingSubscription, subscription_id)
        if tenant is None or tenant.deleted_at is not None or row is None:
            return Outcome("nothing")
        outcome = advance(session, tenant, row, now)
        session.flush()  # inside the tenant's scope: PostgreSQL's RLS checks every write against it
        return outcome


# -- Pay now --------------------------------------------------------------------------------------


def pay_now(session: Session, tenant: Tenant, now: datetime | None = None) -> Outcome:
    """The admin's "Pay now": one attempt at once on the unpaid invoice with the current test card.

    Success emits invoice.paid (the lifecycle restores the workspace to active) and the subscription
    as active; a decline emits invoice.payment_failed, counted like any other attempt.
    """
    now = now or utcnow()
    row = lifecycle.current_subscription(session, tenant)
    if row is None or row.provider != PROVIDER:
        raise Conflict("There is no offline subscription to pay for here.")
    unpaid = open_invoice(session, tenant, row)
    if unpaid is None:
        raise Conflict("Nothing is due: this workspace has no unpaid invoice.")
    return _attempt(session, tenant, row, unpaid, now, scheduled=False)
