"""Email jobs."""

from __future__ import annotations

from flask import current_app

from aerospec.extensions import db
from aerospec.notifications import services as notifications


def send_email(message_id: str) -> None:
    """Send one recorded email by SMTP, or file it in the dev outbox; safe to retry."""
    message = notifications.get_message(db.session, message_id)
    if message is None:
        return
    try:
        notifications.deliver(
            message, smtp_url=current_app.config["SMTP_URL"], mail_from=current_app.config["MAIL_FROM"]
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
