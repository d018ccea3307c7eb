"""The lab-results reminder: days after an order is delivered, ask whoever ordered it to record what was measured."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from aerospec.feedback.models import Feedback, FeedbackReminder
from aerospec.notifications import services as notifications
from aerospec.procurement.models import Procurement
from aerospec.tenancy.models import Membership, Tenant
from aerospec.tenancy.permissions import can
from aerospec.tenancy.scoping import tenant_scope, unscoped


def _insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _has_results(session: Session, tenant_id: uuid.UUID, procurement_id: uuid.UUID) -> bool:
    return bool(
        session.scalar(
            select(exists().where(Feedback.tenant_id == tenant_id, Feedback.procurement_id == procurement_id))
        )
    )


def due_orders(session: Session, now: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant id, order id) of every order delivered FEEDBACK_REMINDER_DAYS ago or more (within the window),
    not reminded yet and with no lab result recorded against it, oldest delivery first. Crosses tenants."""
    days = float(current_app.config["FEEDBACK_REMINDER_DAYS"])
    window = float(current_app.config["FEEDBACK_REMINDER_WINDOW_DAYS"])
    latest = now - timedelta(days=days)
    earliest = latest - timedelta(days=window)
    reminded = exists().where(
        FeedbackReminder.tenant_id == Procurement.tenant_id, FeedbackReminder.procurement_id == Procurement.id
    )
    recorded = exists().where(Feedback.tenant_id == Procurement.tenant_id, Feedback.procurement_id == Procurement.id)
    with unscoped(session, "lab-result reminders: delivered orders of every workspace"):
        rows = session.execute(
            select(Procurement.tenant_id, Procurement.id)
            .join(Tenant, Tenant.id == Procurement.tenant_id)
            .where(
                Procurement.status == "delivered",
                Procurement.delivered_at.is_not(None),
                Procurement.delivered_at <= latest,
                Procurement.delivered_at > earliest,
                Procurement.configuration_id.is_not(None),
                Procurement.created_by_id.is_not(None),
                Tenant.deleted_at.is_(None),
                ~reminded,
                ~recorded,
            )
            .order_by(Procurement.delivered_at)
        ).all()
    return [(t, p) for t, p in rows]


def record_url(tenant: Tenant, order: Procurement) -> str:
    """Where lab results for an order are recorded: its configuration's import page, the order chosen (absolute)."""
    path = current_app.url_map.bind("localhost").build(
        "feedback.import_results",
        {"tenant_slug": tenant.slug, "config_id": order.configuration_id, "order": str(order.id)},
    )
    return current_app.config.get("BASE_URL", "").rstrip("/") + path


def send_reminder(session: Session, tenant_id: uuid.UUID, procurement_id: uuid.UUID, now: datetime) -> bool:
    """Email the order's creator once, unless results were recorded for it meanwhile; True when it was queued.

    The reminder row (unique per order) is claimed in the same transaction as the email, so a second run,
    a retry or two schedulers at once send nothing twice. Does not commit.
    """
    with tenant_scope(session, tenant_id):
        tenant = session.get(Tenant, tenant_id)
        order = session.scalar(
            select(Procurement).where(Procurement.tenant_id == tenant_id, Procurement.id == procurement_id)
        )
        if tenant is None or order is None or order.status != "delivered" or order.configuration_id is None:
            return False
        if _has_results(session, tenant_id, order.id):
            return False
        membership = session.scalar(
            select(Membership).where(Membership.tenant_id == tenant_id, Membership.user_id == order.created_by_id)
        )
        # Only someone still in the workspace who may record results is asked to (a viewer, or someone who left, not).
        if membership is None or not can(membership.role, "record_feedback"):
            return False
        user = membership.user
        claimed = session.execute(
            _insert(session)(FeedbackReminder.__table__)
            .values(id=uuid.uuid4(), tenant_id=tenant_id, procurement_id=order.id, to_address=user.email, sent_at=now)
            .on_conflict_do_nothing(index_elements=["tenant_id", "procurement_id"])
            .returning(FeedbackReminder.__table__.c.id)  # not rowcount: psycopg reports -1 for DO NOTHING
        ).scalar()
        if claimed is None:
            return False
        notifications.queue_email(
            session,
            user.email,
            "feedback_reminder",
            reference=order.reference,
            user_name=user.name,
            tenant_name=tenant.name,
            delivered_at=order.delivered_at,
            skus=[item.sku for item in order.items],
            link=record_url(tenant, order),
            procurement_id=str(order.id),
        )
        return True
