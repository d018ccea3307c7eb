"""Billing jobs: process a stored provider event (order payments, subscriptions, invoices)."""

from __future__ import annotations

import logging
import uuid

# Importing subscriptions registers its event handlers and its tenant-by-customer resolver with
# webhooks, so every process that runs this job has them (procurement's come with the app).
from aerospec.billing import subscriptions, webhooks  # noqa: F401 - subscriptions: registers handlers
from aerospec.extensions import db

log = logging.getLogger(__name__)


def process_event(event_id: str) -> str:
    """Apply a stored Stripe or offline event (order paid, payment failed, ...); safe to retry.

    The work and the event's processed_at commit together; on failure both roll back, the
    attempt and error are recorded, and the exception propagates so RQ retries.
    """
    try:
        outcome = webhooks.process_event(db.session, event_id)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        webhooks.record_failure(db.session, event_id, exc)
        db.session.commit()
        raise
    log.info("billing event %s: %s", event_id, outcome)
    return outcome


def push_commissions(now=None) -> dict:
    """Daily: hand each Stripe-billed workspace's new procurement commissions to Stripe as invoice items,
    so its next subscription invoice bills them (idempotent: a pushed commission is not pushed again).

    With the offline provider there is nothing to push: offline invoices take the pending commissions
    when they are issued.
    """
    from flask import current_app
    from sqlalchemy import select

    from aerospec.billing import invoices
    from aerospec.billing.models import BillingSubscription
    from aerospec.billing.providers import get_provider
    from aerospec.models import utcnow
    from aerospec.tenancy.models import Tenant
    from aerospec.tenancy.scoping import tenant_scope, unscoped

    provider = get_provider(current_app._get_current_object(), db.session)
    if provider.name != "stripe":
        return {"tenants": 0, "items": 0}
    now = now or utcnow()
    with unscoped(db.session, "billing: workspaces with a live Stripe subscription, to push commissions"):
        live = db.session.execute(
            select(
                BillingSubscription.tenant_id, BillingSubscription.provider_subscription_id, Tenant.billing_customer_id
            )
            .join(Tenant, Tenant.id == BillingSubscription.tenant_id)
            .where(
                BillingSubscription.provider == "stripe",
                BillingSubscription.status.in_(("active", "trialing", "past_due")),
                Tenant.billing_customer_id.is_not(None),
            )
        ).all()
        db.session.commit()
    pushed = failed = 0
    for tenant_id, subscription_id, customer in live:
        try:
            with tenant_scope(db.session, tenant_id):
                tenant = db.session.get(Tenant, tenant_id)
                pushed += len(
                    invoices.push_commission_invoice_items(
                        db.session, tenant, provider.client, customer=customer, until=now, subscription=subscription_id
                    )
                )
                db.session.commit()
        except Exception:  # one workspace's failure must not stop the others; the next run retries it
            db.session.rollback()
            failed += 1
            log.exception("billing: pushing commissions failed for tenant %s", tenant_id)
    if failed:
        raise RuntimeError(f"pushing commissions failed for {failed} of {len(live)} workspaces")
    return {"tenants": len(live), "items": pushed}


def run_offline_billing_cycle(now=None) -> dict:
    """Hourly: end, renew and retry offline subscriptions whose period or payment retry is due, emitting
    Stripe's events through the webhook intake (see aerospec.billing.offline_cycle); idempotent.

    Each subscription in its own transaction: one workspace's failure neither blocks nor undoes the others.
    """
    from aerospec.billing import offline_cycle
    from aerospec.models import utcnow

    now = now or utcnow()
    due = offline_cycle.due_subscriptions(db.session, now)
    db.session.commit()
    summary: dict = {"subscriptions": len(due), "failed": 0}
    for tenant_id, subscription_id in due:
        try:
            outcome = offline_cycle.advance_one(db.session, tenant_id, subscription_id, now)
            db.session.commit()  # the events' processing jobs are sent after this commit
        except Exception:
            db.session.rollback()
            summary["failed"] += 1
            log.exception("offline billing cycle failed for subscription %s (tenant %s)", subscription_id, tenant_id)
            continue
        summary[outcome.action] = summary.get(outcome.action, 0) + 1
    if summary["failed"]:
        raise RuntimeError(f"offline billing cycle: {summary['failed']} of {len(due)} subscriptions failed")
    return summary


def sync_subscription_seats(tenant_id) -> int | None:
    """After a member joins or leaves: keep the subscription on the per-workspace price (never billed per member).

    Enqueued by dotted path after the membership change commits (tenancy imports no billing code);
    a provider error fails the job so RQ retries it. Extra seats are bought by an admin on the billing
    page, never added here (billing.subscriptions.sync_seats).
    """
    from flask import current_app

    from aerospec.billing.providers import get_provider
    from aerospec.tenancy.models import Tenant
    from aerospec.tenancy.scoping import tenant_scope

    tenant_id = uuid.UUID(str(tenant_id))  # enqueued as text
    with tenant_scope(db.session, tenant_id):
        tenant = db.session.get(Tenant, tenant_id)
        if tenant is None or tenant.deleted_at is not None:
            return None
        seats = subscriptions.sync_seats(
            db.session, tenant, get_provider(current_app._get_current_object(), db.session)
        )
        db.session.commit()
    return seats
