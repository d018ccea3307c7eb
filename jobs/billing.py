"""Billing jobs: process a stored provider event (order payments, subscriptions, invoices)."""

from __future__ import annotations

import logging

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
