"""Email: render a template pair into a recorded message, then send it from a job."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from datetime import datetime
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlparse

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from aerospec import queueing
from aerospec.models import utcnow
from aerospec.notifications.models import EmailMessage

TEMPLATES = {
    "welcome": "Welcome to AeroSpec",
    "invitation": "You're invited to {tenant_name} on AeroSpec",
    "password_reset": "Reset your AeroSpec password",
    "login_failures": "Failed sign-in attempts on your AeroSpec account",
    "procurement_status": "Order {reference}: {status_label}",
    "billing_trial_reminder": "Your AeroSpec trial for {tenant_name} ends in {days_label}",
    "billing_trial_expired": "Your AeroSpec trial for {tenant_name} has ended: the workspace is read-only",
    "billing_active": "{tenant_name}: your AeroSpec subscription is active",
    "billing_payment_failed": "Payment failed for {tenant_name}: update your payment method",
    "billing_dunning": "Reminder: the payment for {tenant_name} is still overdue",
    "billing_read_only_tomorrow": "{tenant_name} becomes read-only tomorrow: payment overdue",
    "billing_read_only": "{tenant_name} is now read-only: payment overdue",
    "billing_suspended": "{tenant_name} is suspended: payment overdue",
    "billing_restored": "Payment received: {tenant_name} is fully active again",
    "billing_canceled": "Your AeroSpec subscription for {tenant_name} has ended",
    "admin_trial_extended": "{tenant_name}: your AeroSpec trial now ends on {trial_ends_on}",
    "admin_suspended": "{tenant_name} has been suspended by AeroSpec",
    "admin_reactivated": "{tenant_name} is active again",
    "usage_threshold": "{tenant_name} has used {percent} % of its {noun} for {period_label}",
    "feedback_reminder": "Order {reference} was delivered: record what the lab measured",
    "webhook_disabled": "{tenant_name}: a webhook endpoint was disabled after repeated failures",
}


def queue_email(session: Session, to: str, template: str, **context) -> EmailMessage:
    """Render an email (HTML and text) and send it by a job after commit."""
    if template not in TEMPLATES:
        raise KeyError(f"unknown email template {template!r}")
    subject = TEMPLATES[template].format(**context)
    message = EmailMessage(
        to_address=to,
        subject=subject,
        template=template,
        text_body=render_template(f"notifications/email/{template}.txt", subject=subject, **context),
        html_body=render_template(f"notifications/email/{template}.html", subject=subject, **context),
    )
    session.add(message)
    session.flush()
    enqueue_send(session, message.id)
    return message


def enqueue_send(session: Session, message_id: uuid.UUID) -> None:
    """Send a recorded email by a job once `session` commits (one job id per message)."""
    queueing.enqueue(session, "jobs.emails.send_email", str(message_id), queue="emails", job_id=f"email-{message_id}")


def stuck_queued_messages(session: Session, queued_before: datetime, limit: int = 500) -> list[uuid.UUID]:
    """Emails still queued since before `queued_before`, oldest first: their send job never ran."""
    return list(
        session.scalars(
            select(EmailMessage.id)
            .where(EmailMessage.status == "queued", EmailMessage.created_at < queued_before)
            .order_by(EmailMessage.created_at)
            .limit(limit)
        )
    )


def deliver(message: EmailMessage, *, smtp_url: str | None, mail_from: str) -> None:
    """Send a recorded message by SMTP, or file it in the outbox when no SMTP is set."""
    if message.status == "sent":
        return  # idempotent: a retried job never sends twice
    message.attempts += 1
    if not smtp_url:
        message.transport = "outbox"
    else:
        _send_smtp(message, smtp_url, mail_from)
        message.transport = "smtp"
    message.status = "sent"
    message.sent_at = utcnow()
    message.error = None


def _send_smtp(message: EmailMessage, smtp_url: str, mail_from: str) -> None:
    """smtp://user:pass@host:port (STARTTLS when offered) or smtps:// (implicit TLS)."""
    url = urlparse(smtp_url)
    mime = MimeMessage()
    mime["From"] = mail_from
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime["Message-ID"] = make_msgid(idstring=str(message.id), domain="aerospec")
    mime.set_content(message.text_body)
    mime.add_alternative(message.html_body, subtype="html")
    host = url.hostname or "localhost"
    if url.scheme == "smtps":
        client = smtplib.SMTP_SSL(host, url.port or 465, timeout=20, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, url.port or 25, timeout=20)
    with client:
        client.ehlo()
        if url.scheme == "smtp" and client.has_extn("starttls"):
            client.starttls(context=ssl.create_default_context())
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(mime)


def get_message(session: Session, message_id: str | uuid.UUID) -> EmailMessage | None:
    """One recorded email by id."""
    try:
        return session.get(EmailMessage, uuid.UUID(str(message_id)))
    except ValueError:
        return None
