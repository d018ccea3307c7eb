"""The development outbox: read every email the app sent; gone in production."""

from __future__ import annotations

import html
import uuid

import pytest

from aerospec.notifications import services as notifications


@pytest.fixture
def message(db):
    """A password-reset email, sent to the outbox (no SMTP_URL in tests)."""
    message = notifications.queue_email(
        db.session, "reader@outbox.example", "password_reset", user_name="Rita Reader", token="tok.en-1"
    )
    db.session.commit()
    return message


def test_outbox_lists_sent_messages(client, db, message):
    response = client.get("/dev/outbox")
    assert response.status_code == 200
    body = html.unescape(response.get_data(as_text=True))
    assert "reader@outbox.example" in body
    assert "Reset your AeroSpec password" in body
    assert f"/dev/outbox/{message.id}" in body
    assert "sent (outbox)" in body


def test_outbox_message_page_shows_the_text_and_frames_the_html(client, db, message):
    response = client.get(f"/dev/outbox/{message.id}")
    assert response.status_code == 200
    body = html.unescape(response.get_data(as_text=True))
    assert "Hello Rita Reader" in body
    assert "http://testserver/reset-password/tok.en-1" in body
    assert f'src="/dev/outbox/{message.id}/html"' in body


def test_outbox_html_view_serves_the_email_html_locked_down(client, db, message):
    response = client.get(f"/dev/outbox/{message.id}/html")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.get_data(as_text=True) == message.html_body
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "script-src" not in response.headers["Content-Security-Policy"]  # falls back to 'none'


def test_outbox_unknown_message_is_404(client, db):
    assert client.get(f"/dev/outbox/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/dev/outbox/{uuid.uuid4()}/html").status_code == 404


PRODUCTION_TEST_MODE = {"BILLING_PROVIDER": "offline", "EMAIL_BACKEND": "outbox", "SUPPLIERS": "sandbox"}


@pytest.mark.parametrize(
    "config",
    [
        # Production starts only with its fakes chosen (issue 9): even EMAIL_BACKEND=outbox keeps the page shut.
        {"PRODUCTION": True, "DEV_OUTBOX_ENABLED": False, **PRODUCTION_TEST_MODE},
        {"PRODUCTION": True, "DEV_OUTBOX_ENABLED": True, **PRODUCTION_TEST_MODE},  # a stray flag cannot open it
        {"PRODUCTION": False, "DEV_OUTBOX_ENABLED": False},
    ],
    ids=["production", "production-with-stray-flag", "disabled"],
)
def test_outbox_is_not_found_when_not_enabled_for_development(build_app, db, message, config):
    browser = build_app(**config).test_client()
    for path in ("/dev/outbox", f"/dev/outbox/{message.id}", f"/dev/outbox/{message.id}/html"):
        response = browser.get(path)
        assert response.status_code == 404, path
        assert "reader@outbox.example" not in response.get_data(as_text=True)
