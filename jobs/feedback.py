"""Lab-result jobs: correction-model training (queue `ml`); keep an aggregate current after a result is recorded
or edited; the delivered-order reminders."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from aerospec.extensions import db
from aerospec.feedback import aggregates, learning, reminders
from aerospec.models import utcnow

log = logging.getLogger(__name__)


def train_correction_models(tenant_id: str | None = None) -> dict:
    """Train the shared model, then one workspace's layer (tenant_id) or every workspace's; promote what beats
    the model in use on the newest results (idempotent: a re-run trains again on the same results and promotes
    only if strictly better)."""
    return learning.train_all(db.session, tenant_id)


def refresh_feedback_aggregate(tenant_id: str, supplier: str, sku: str, fluid_key: str) -> dict | None:
    """Recompute one workspace × actuator × fluid aggregate from its results (idempotent: no increments)."""
    values = aggregates.recompute_group(db.session, uuid.UUID(tenant_id), supplier, sku, fluid_key)
    db.session.commit()
    return values


def send_lab_result_reminders(now: datetime | None = None) -> dict:
    """Email each delivered order's creator, once, to record its lab results (hourly; idempotent)."""
    now = now or utcnow()
    due = reminders.due_orders(db.session, now)
    db.session.commit()
    summary = {"due": len(due), "sent": 0, "failed": 0}
    for tenant_id, procurement_id in due:
        # Each order in its own transaction: one failure neither blocks nor undoes the others.
        try:
            summary["sent"] += reminders.send_reminder(db.session, tenant_id, procurement_id, now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            summary["failed"] += 1
            log.exception("lab-result reminder failed for order %s", procurement_id)
    if summary["failed"]:
        # Let the job fail (RQ records it) after the other orders were handled; a rerun is harmless.
        raise RuntimeError(f"lab-result reminders: {summary['failed']} of {len(due)} orders failed")
    return summary


def train_custom_model(model_id: str, tenant_id: str) -> dict:
    """Train one workspace's custom model in its tenant scope (ready with held-out metrics, or failed with why)."""
    from aerospec.feedback import custom

    return custom.train(db.session, model_id, tenant_id)
