"""The audit log: write an entry, read a page of entries with filters."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aerospec.accounts.models import User
from aerospec.compliance.models import AuditLog
from aerospec.pagination import Page

ACTIONS = {
    "tenant.created": "Workspace created (sign-up)",
    "user.login": "Logged in",
    "user.login_failed": "Failed login",
    "user.logout": "Logged out",
    "user.password_changed": "Password changed",
    "user.password_reset": "Password reset",
    "session.revoked": "Session revoked",
    "invitation.sent": "Invitation sent",
    "invitation.resent": "Invitation resent",
    "invitation.accepted": "Invitation accepted",
    "invitation.revoked": "Invitation revoked",
    "member.role_changed": "Role changed",
    "member.removed": "Member removed",
    "tenant.settings_changed": "Settings changed",
    "tenant.deleted": "Workspace deleted",
    "data.exported": "Data exported",
    "billing.checkout_started": "Subscription checkout started",
    "billing.plan_changed": "Plan changed",
    "billing.cancel_requested": "Subscription set to cancel at period end",
    "billing.resumed": "Subscription resumed",
    "procurement.created": "Order created",
    "procurement.updated": "Order edited",
    "procurement.deleted": "Draft order deleted",
    "procurement.draft": "Order returned to draft",
    "procurement.submitted": "Order submitted",
    "procurement.confirmed": "Order confirmed by supplier",
    "procurement.shipped": "Order shipped",
    "procurement.delivered": "Order delivered",
    "procurement.failed": "Order failed",
    "procurement.cancelled": "Order cancelled",
    "procurement.checkout_started": "Order checkout started",
    "procurement.paid": "Order paid",
    "procurement.payment_failed": "Order payment failed",
    "billing.payment_failed": "Subscription payment failed",
    "billing.status_active": "Subscription active",
    "billing.status_past_due": "Payment overdue: grace period started",
    "billing.status_read_only": "Workspace read-only (payment overdue)",
    "billing.status_suspended": "Workspace suspended (payment overdue)",
    "billing.status_expired": "Trial ended: workspace read-only",
    "billing.status_canceled": "Subscription ended: workspace read-only",
    "billing.plan_overridden": "Plan or limits changed by AeroSpec staff",
}


def record(
    session: Session,
    tenant_id: uuid.UUID,
    action: str,
    *,
    actor: User | None = None,
    actor_email: str | None = None,
    client=None,
    target_type: str | None = None,
    target_id: str | uuid.UUID | None = None,
    details: dict | None = None,
) -> AuditLog:
    """Append one audit entry for a tenant."""
    if action not in ACTIONS:
        raise KeyError(f"unknown audit action {action!r}")
    entry = AuditLog(
        tenant_id=tenant_id,
        actor_id=actor.id if actor else None,
        actor_email=actor.email if actor else actor_email,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        ip_address=getattr(client, "ip_address", None),
        user_agent=(getattr(client, "user_agent", None) or "")[:400] or None,
        details=details or {},
    )
    session.add(entry)
    # Flush now: on PostgreSQL the row must be written while its tenant is in context.
    session.flush()
    return entry


def list_entries(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 25,
) -> Page:
    """A page of the tenant's audit log, newest first, filtered."""
    query = select(AuditLog).where(AuditLog.tenant_id == tenant_id)
    if action:
        query = query.where(AuditLog.action == action)
    if actor:
        query = query.where(AuditLog.actor_email.ilike(f"%{actor.strip()}%"))
    if since:
        query = query.where(AuditLog.created_at >= since)
    if until:
        query = query.where(AuditLog.created_at < until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, page)
    entries = list(
        session.scalars(
            query.order_by(AuditLog.created_at.desc(), AuditLog.id).offset((page - 1) * per_page).limit(per_page)
        )
    )
    return Page(items=entries, total=total, page=page, per_page=per_page)
