"""Small readers for account pages and rows, shared by the accounts tests."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from aerospec.accounts.models import User, UserSession
from aerospec.notifications.models import EmailMessage


def page_text(response) -> str:
    """The response body with HTML entities decoded (so "company's" reads as typed)."""
    return html.unescape(response.get_data(as_text=True))


def field_error(response, field: str) -> str | None:
    """The message shown under one form field, or None."""
    match = re.search(rf'id="{field}-error"[^>]*>(.*?)</', response.get_data(as_text=True), re.S)
    return html.unescape(match.group(1)).strip() if match else None


def form_errors(response) -> str | None:
    """The form-level error box's text, or None."""
    match = re.search(r'class="form-errors"[^>]*>(.*?)</div>', response.get_data(as_text=True), re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).strip() if match else None


def without_csrf_token(body: str) -> str:
    """A page body with its per-request CSRF token blanked, for comparing two pages."""
    return re.sub(r'"X-CSRFToken": "[^"]*"', '"X-CSRFToken": ""', body)


def count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def user_count(db, email: str) -> int:
    return count(db, User, User.email == email)


def email_count(db, **filters) -> int:
    return count(db, EmailMessage, *[getattr(EmailMessage, k) == v for k, v in filters.items()])


def sessions_of(db, user) -> list[UserSession]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.started_at))
    )


def reset_link(db, email: str) -> str:
    """The reset link (path part) from the newest password_reset email to `email`."""
    message = db.session.scalars(
        select(EmailMessage)
        .where(EmailMessage.to_address == email, EmailMessage.template == "password_reset")
        .order_by(EmailMessage.created_at.desc())
    ).first()
    assert message is not None, f"no password_reset email to {email}"
    match = re.search(r"http://testserver(/reset-password/\S+)", message.text_body)
    assert match, message.text_body
    return match.group(1)
