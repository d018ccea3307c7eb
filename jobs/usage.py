"""Usage roll-up: the live quota counters (Redis, or the database) copied into usage_rollups for history."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select

from aerospec.billing import usage
from aerospec.extensions import db
from aerospec.limits import counters
from aerospec.models import utcnow
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import tenant_scope, unscoped


def roll_up_usage(now: datetime | None = None) -> int:
    """Write every workspace's current and just-closed period counts into usage_rollups (hourly; idempotent).

    Run hourly: the just-closed month or day is written again on the first runs after it
    ends, while its Redis key still lives (keys outlive their period by two days).
    Returns how many roll-up rows were written.
    """
    now = now or utcnow()
    counter = counters.counter_for(current_app)
    with unscoped(db.session, "usage roll-up: list every live workspace"):
        tenant_ids = list(db.session.scalars(select(Tenant.id).where(Tenant.deleted_at.is_(None)).order_by(Tenant.id)))
    written = 0
    for tenant_id in tenant_ids:
        with tenant_scope(db.session, tenant_id):
            tenant = db.session.get(Tenant, tenant_id)
            if tenant is None or tenant.deleted_at is not None:
                continue
            written += usage.roll_up_tenant(db.session, tenant, counter, now)
            db.session.commit()  # one workspace at a time: a failure loses no one else's roll-up
    return written
