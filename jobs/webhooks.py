"""Webhook jobs: send one attempt of a delivery; sweep up deliveries whose attempt job was lost."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from flask import current_app

from aerospec.extensions import db
from aerospec.models import utcnow
from aerospec.tenancy.scoping import tenant_scope, unscoped
from aerospec.webhooks import delivery
from aerospec.webhooks import services as webhooks

log = logging.getLogger(__name__)


def deliver(tenant_id: str, delivery_id: str, number: int) -> None:
    """Send attempt `number` of a delivery and schedule the next one if it fails; safe to run twice."""
    settings = webhooks.Settings.from_config(current_app.config)
    tenant = uuid.UUID(tenant_id)
    with tenant_scope(db.session, tenant):
        claimed = webhooks.claim_attempt(db.session, tenant, uuid.UUID(delivery_id), int(number))
        db.session.commit()  # the claim holds before the request goes out; no transaction stays open during it
        if claimed is None:
            return
        outcome = delivery.send(
            claimed.url,
            claimed.body,
            message_id=claimed.message_id,
            secrets_=claimed.secrets,
            policy=settings.policy,
        )
        delay = webhooks.record_outcome(db.session, tenant, claimed, outcome, settings)
        db.session.commit()
    log.info(
        "webhook %s attempt %s: %s",
        delivery_id,
        number,
        outcome.status_code or outcome.error,
        extra={"duration_ms": outcome.duration_ms, "next_attempt_in_s": delay},
    )


def sweep_due_deliveries() -> int:
    """Enqueue again every live delivery overdue by WEBHOOK_SWEEP_AFTER_SECONDS (its scheduled job was lost)."""
    settings = webhooks.Settings.from_config(current_app.config)
    with unscoped(db.session, "webhook sweep: overdue deliveries of every workspace"):
        due = webhooks.due_deliveries(db.session, utcnow() - timedelta(seconds=settings.sweep_after))
    db.session.rollback()
    for tenant_id, delivery_id, number in due:
        with tenant_scope(db.session, uuid.UUID(tenant_id)):
            webhooks.enqueue_attempt(db.session, tenant_id, delivery_id, number)
            db.session.commit()  # enqueues (the claim makes a duplicate of a live job harmless)
    return len(due)
