"""Email jobs: send one recorded email; sweep up emails whose send job was never enqueued."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from aerospec import queueing
from aerospec.config import email_backend
from aerospec.extensions import db
from aerospec.models import utcnow
from aerospec.notifications import services as notifications

log = logging.getLogger(__name__)

# An RQ job in one of these states will still send its email: the sweep leaves it alone.
PENDING_JOB_STATES = ("queued", "started", "scheduled", "deferred")


def send_email(message_id: str) -> None:
    """Send one recorded email by SMTP, or file it in the outbox; safe to retry."""
    message = notifications.get_message(db.session, message_id)
    if message is None:
        return
    config = current_app.config
    try:
        notifications.deliver(
            message,
            smtp_url=config["SMTP_URL"] if email_backend(config) == "smtp" else None,
            mail_from=config["MAIL_FROM"],
        )
    except Exception as exc:
        db.session.rollback()
        message = notifications.get_message(db.session, message_id)
        message.attempts += 1
        message.status = "failed"
        message.error = f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
        raise
    db.session.commit()


def sweep_queued_emails() -> int:
    """Every 5 minutes: enqueue again each email still queued after EMAIL_SWEEP_AFTER_SECONDS (its enqueue
    failed after the commit, or Redis lost the job); returns how many. Sending is idempotent."""
    after = float(current_app.config.get("EMAIL_SWEEP_AFTER_SECONDS", 300))
    stuck = notifications.stuck_queued_messages(db.session, utcnow() - timedelta(seconds=after))
    connection = queueing.get_redis(current_app._get_current_object())
    swept = 0
    for message_id in stuck:
        if connection is not None and _job_pending(connection, f"email-{message_id}"):
            continue  # a worker is behind, not the job lost: it will send it
        notifications.enqueue_send(db.session, message_id)
        swept += 1
    db.session.commit()  # the send jobs go out on this commit
    if swept:
        log.warning("re-enqueued %d email(s) stuck in the queued state", swept)
    return swept


def _job_pending(connection, job_id: str) -> bool:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        status = Job.fetch(job_id, connection=connection).get_status()
    except NoSuchJobError:
        return False
    return getattr(status, "value", status) in PENDING_JOB_STATES
