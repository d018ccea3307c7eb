"""Email: templates render with links from BASE_URL; the send job is idempotent, talks
real SMTP, and lets failures fail so RQ retries."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from aerospec.notifications import services as notifications
from aerospec.notifications.models import EmailMessage
from jobs.emails import send_email
from tests.notifications.conftest import free_port

BASE = "https://app.aerospec.example"


@pytest.fixture
def base_url(app, monkeypatch):
    """A BASE_URL unlike the test default, so links prove where they came from."""
    monkeypatch.setitem(app.config, "BASE_URL", BASE)
    return BASE


@pytest.mark.parametrize(
    ("template", "context", "subject", "link", "text_bits"),
    [
        (
            "welcome",
            {
                "user_name": "Ada",
                "tenant_name": "Acme Sprays",
                "tenant_slug": "acme-sprays",
                "trial_ends_at": datetime(2026, 12, 5, tzinfo=UTC),
            },
            "Welcome to AeroSpec",
            f"{BASE}/t/acme-sprays/",
            ["Hello Ada", "05 December 2026"],
        ),
        (
            "invitation",
            {
                "tenant_name": "Acme Sprays",
                "inviter_name": "Grace",
                "role": "admin",
                "token": "inv-Tok_123",
                "expires_at": datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
            },
            "You're invited to Acme Sprays on AeroSpec",
            f"{BASE}/invitations/inv-Tok_123",
            ["Grace invited you", "as an admin", "01 December 2026 at 09:30 UTC"],
        ),
        (
            "password_reset",
            {"user_name": "Ada", "token": "reset.Tok-en_9"},
            "Reset your AeroSpec password",
            f"{BASE}/reset-password/reset.Tok-en_9",
            ["Hello Ada", "one hour"],
        ),
    ],
)
def test_queue_email_renders_text_and_html_with_the_link(db, base_url, template, context, subject, link, text_bits):
    message = notifications.queue_email(db.session, "ada@mail.example", template, **context)
    assert message.subject == subject
    assert message.status == "queued" and message.template == template
    assert link in message.text_body
    assert f'href="{link}"' in message.html_body
    assert "<html" in message.html_body.lower() and "<html" not in message.text_body.lower()
    for bit in text_bits:
        assert bit in message.text_body
    assert "{{" not in message.text_body + message.html_body


def test_queue_email_refuses_an_unknown_template(db):
    with pytest.raises(KeyError, match="unknown email template 'newsletter'"):
        notifications.queue_email(db.session, "ada@mail.example", "newsletter")


def test_queued_email_is_sent_only_after_commit(db):
    message = notifications.queue_email(db.session, "later@mail.example", "password_reset", user_name="Ada", token="t")
    assert message.status == "queued"
    db.session.commit()  # the job runs now (JOBS_MODE=inline in tests)
    db.session.refresh(message)
    assert (message.status, message.transport, message.attempts) == ("sent", "outbox", 1)
    assert message.sent_at is not None


def test_rolled_back_email_is_never_sent(db, smtp_server, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_server.url)
    db.session.begin_nested()
    notifications.queue_email(db.session, "never@mail.example", "password_reset", user_name="Ada", token="t")
    db.session.rollback()
    db.session.commit()
    assert smtp_server.envelopes == []


def _queue_and_commit(db, to="ada@mail.example"):
    message = notifications.queue_email(db.session, to, "password_reset", user_name="Ada", token="abc.def")
    db.session.commit()
    return message.id


def test_send_job_delivers_by_smtp_with_text_and_html_parts(app, db, smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_server.url)
    monkeypatch.setitem(app.config, "MAIL_FROM", "AeroSpec <no-reply@aerospec.example>")
    message_id = _queue_and_commit(db)

    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "no-reply@aerospec.example"
    assert envelope.rcpt_tos == ["ada@mail.example"]
    mime = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert mime["From"] == "AeroSpec <no-reply@aerospec.example>"
    assert mime["To"] == "ada@mail.example"
    assert mime["Subject"] == "Reset your AeroSpec password"
    assert mime.get_content_type() == "multipart/alternative"
    text = mime.get_body(("plain",)).get_content()
    html = mime.get_body(("html",)).get_content()
    assert "http://testserver/reset-password/abc.def" in text
    assert 'href="http://testserver/reset-password/abc.def"' in html

    stored = db.session.get(EmailMessage, message_id)
    db.session.refresh(stored)
    assert (stored.status, stored.transport, stored.attempts) == ("sent", "smtp", 1)


def test_send_job_run_twice_sends_once(app, db, smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_server.url)
    message_id = _queue_and_commit(db)  # the queued job ran once
    send_email(str(message_id))  # RQ retrying it, or a duplicate enqueue
    assert len(smtp_server.envelopes) == 1
    stored = db.session.get(EmailMessage, message_id)
    db.session.refresh(stored)
    assert (stored.status, stored.attempts) == ("sent", 1)


def test_send_job_for_a_missing_message_does_nothing(app, db, smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_server.url)
    message_id = _queue_and_commit(db)  # one real message, sent once
    before = [(m.id, m.status, m.attempts, m.sent_at) for m in db.session.scalars(select(EmailMessage))]

    assert send_email("00000000-0000-0000-0000-000000000000") is None  # no such message: no error either
    assert send_email("not-a-uuid") is None

    db.session.expire_all()
    after = [(m.id, m.status, m.attempts, m.sent_at) for m in db.session.scalars(select(EmailMessage))]
    assert after == before  # nothing created, nothing marked
    assert len(smtp_server.envelopes) == 1  # only the real message went out
    assert smtp_server.envelopes[0].rcpt_tos == [db.session.get(EmailMessage, message_id).to_address]


def test_send_job_with_smtp_down_marks_failed_and_raises_for_rq_to_retry(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    message_id = _queue_and_commit(db)  # the inline job fails; the request that queued it does not
    stored = db.session.get(EmailMessage, message_id)
    db.session.refresh(stored)
    assert stored.status == "failed"
    assert stored.error.startswith("ConnectionRefusedError")

    with pytest.raises(ConnectionRefusedError):
        send_email(str(message_id))
    db.session.refresh(stored)
    assert (stored.status, stored.attempts, stored.sent_at) == ("failed", 2, None)


def test_failed_email_is_sent_when_smtp_comes_back(app, db, smtp_server, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    message_id = _queue_and_commit(db)
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_server.url)
    send_email(str(message_id))
    assert len(smtp_server.envelopes) == 1
    stored = db.session.get(EmailMessage, message_id)
    db.session.refresh(stored)
    assert (stored.status, stored.transport, stored.error) == ("sent", "smtp", None)


def test_signup_welcome_email_links_to_the_new_workspace(client, db, base_url):
    response = client.post(
        "/signup",
        data={
            "name": "Wendy Welcome",
            "company": "Welcome Works",
            "email": "wendy@welcome.example",
            "password": "nebulous cobalt atomiser 9",
        },
    )
    assert response.status_code == 303
    [message] = db.session.scalars(select(EmailMessage).where(EmailMessage.to_address == "wendy@welcome.example"))
    assert message.template == "welcome" and message.status == "sent"
    assert f"{BASE}/t/welcome-works/" in message.text_body
    trial_end = (datetime.now(UTC) + timedelta(days=14)).strftime("%d %B %Y")
    assert re.search(rf"until {trial_end}", message.text_body)
