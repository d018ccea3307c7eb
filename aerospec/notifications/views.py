"""The development-only outbox: read the emails the app would have sent."""

from __future__ import annotations

import uuid

from flask import abort, current_app
from sqlalchemy import select

from aerospec.extensions import db
from aerospec.notifications import bp
from aerospec.notifications.models import EmailMessage
from aerospec.web.htmx import render


def _require_outbox() -> None:
    # SECURITY: every email (reset links included) is readable here: never in production.
    if current_app.config.get("PRODUCTION") or not current_app.config.get("DEV_OUTBOX_ENABLED"):
        abort(404)


@bp.route("/dev/outbox")
def outbox():
    """Every email sent or queued, newest first (development only)."""
    _require_outbox()
    messages = db.session.scalars(select(EmailMessage).order_by(EmailMessage.created_at.desc()).limit(200))
    return render("notifications/outbox.html", messages=list(messages))


@bp.route("/dev/outbox/<uuid:message_id>")
def outbox_message(message_id: uuid.UUID):
    """One email, as text and as HTML (development only)."""
    _require_outbox()
    message = db.session.get(EmailMessage, message_id) or abort(404)
    return render("notifications/outbox_message.html", message=message)


@bp.route("/dev/outbox/<uuid:message_id>/html")
def outbox_message_html(message_id: uuid.UUID):
    """The HTML body alone, for the framed preview (development only)."""
    _require_outbox()
    message = db.session.get(EmailMessage, message_id) or abort(404)
    response = current_app.response_class(message.html_body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
