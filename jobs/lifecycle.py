"""Billing lifecycle jobs: the daily pass over trials and dunning (aerospec.billing.lifecycle)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from aerospec.billing import lifecycle
from aerospec.extensions import db
from aerospec.models import utcnow
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import tenant_scope, unscoped

log = logging.getLogger(__name__)

# Only these states have time-driven moves or reminders; active, expired, canceled and suspended wait for events.
TICKED_STATES = ("trialing", "past_due", "read_only")


def daily_billing_tick(now: datetime | None = None) -> dict:
    """Expire ended trials, move overdue workspaces to read-only or suspended, send the reminders due (idempotent)."""
    now = now or utcnow()
    with unscoped(db.session, "billing lifecycle: daily pass over every live tenant in a timed state"):
        tenant_ids = list(
            db.session.scalars(
                select(Tenant.id)
                .where(Tenant.deleted_at.is_(None), Tenant.subscription_status.in_(TICKED_STATES))
                .order_by(Tenant.created_at)
            )
        )
    db.session.commit()
    summary = {"tenants": len(tenant_ids), "moved": 0, "reminders": 0, "failed": 0}
    for tenant_id in tenant_ids:
        # Each tenant in its own transaction: one tenant's failure neither blocks nor undoes the others.
        try:
            with tenant_scope(db.session, tenant_id):
                tenant = db.session.get(Tenant, tenant_id)
                if tenant is None or tenant.deleted_at is not None:
                    continue
                result = lifecycle.daily(db.session, tenant, now)
                db.session.commit()
        except Exception:
            db.session.rollback()
            summary["failed"] += 1
            log.exception("billing lifecycle: daily pass failed for tenant %s", tenant_id)
            continue
        summary["moved"] += result["from"] != result["to"]
        summary["reminders"] += len(result["sent"])
    if summary["failed"]:
        # Let the job fail (RQ records it) after the other tenants were handled; a rerun is harmless.
        raise RuntimeError(f"billing lifecycle: {summary['failed']} of {len(tenant_ids)} tenants failed")
    return summary
