"""Password reset: one email for a known address, the same answer for an unknown one,
a link that works once, for one hour, and ends every session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from aerospec.accounts.models import User
from aerospec.notifications.models import EmailMessage
from tests.accounts.helpers import email_count, page_text, reset_link, sessions_of
from tests.factories import PASSWORD

NEW_PASSWORD = "lichen quartz trombone 77"
SENT_NOTICE = "If an account exists for that address, we have emailed a link to reset its password."


@pytest.fixture
def user(factories, db):
    tenant = factories.TenantFactory(slug="reset-works")
    user = factories.member(tenant, "user", email="forgetful@reset.example", name="Forgetful Fran")
    db.session.commit()
    return user


def _ask_reset(client, email="forgetful@reset.example", **headers):
    return client.post("/forgot-password", data={"email": email}, headers=headers)


def test_reset_request_for_known_email_sends_one_reset_email(client, db, user):
    response = _ask_reset(client)
    assert response.status_code == 200
    assert SENT_NOTICE in page_text(response)
    [message] = db.session.scalars(select(EmailMessage).where(EmailMessage.to_address == user.email))
    assert message.template == "password_reset"
    assert message.subject == "Reset your AeroSpec password"
    assert (message.status, message.transport) == ("sent", "outbox")
    assert "Hello Forgetful Fran" in message.text_body


def test_reset_request_for_unknown_email_sends_nothing_but_reads_the_same(client, db, user):
    known = _ask_reset(client, **{"HX-Request": "true"})
    before = email_count(db)
    unknown = _ask_reset(client, email="stranger@reset.example", **{"HX-Request": "true"})
    assert email_count(db) == before
    assert email_count(db, to_address="stranger@reset.example") == 0
    assert unknown.status_code == known.status_code == 200
    assert unknown.get_data() == known.get_data()
    assert SENT_NOTICE in page_text(unknown)


def test_reset_request_without_email_asks_for_one(client, db):
    before = email_count(db)
    response = client.post("/forgot-password", data={"email": ""})
    assert "Enter your email address." in page_text(response)
    assert email_count(db) == before


def test_reset_link_from_the_email_sets_the_new_password_once(client, db, user):
    _ask_reset(client)
    link = reset_link(db, user.email)
    assert f"http://testserver{link}" in db.session.scalar(
        select(EmailMessage.html_body).where(EmailMessage.to_address == user.email)
    )

    form = client.get(link)
    assert form.status_code == 200
    assert "forgetful@reset.example" in page_text(form)
    response = client.post(link, data={"password": NEW_PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"

    login = client.post("/login", data={"email": user.email, "password": NEW_PASSWORD})
    assert login.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash.startswith("$argon2id$")

    again = client.get(link)
    assert again.status_code == 400
    assert "This reset link has already been used." in page_text(again)
    assert client.post(link, data={"password": "another fine password 55"}).status_code == 400


def test_reset_link_rejects_a_weak_new_password_and_stays_usable(client, db, user):
    _ask_reset(client)
    link = reset_link(db, user.email)
    weak = client.post(link, data={"password": "password12"})
    assert weak.status_code == 422
    assert "too easy to guess" in page_text(weak)
    assert client.post(link, data={"password": NEW_PASSWORD}).status_code == 303


def test_reset_link_expires_after_one_hour(client, db, user):
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        _ask_reset(client)
    link = reset_link(db, user.email)
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        assert client.get(link).status_code == 200
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        expired = client.get(link)
        assert expired.status_code == 400
        assert "This reset link has expired (links last one hour)." in page_text(expired)
        assert client.post(link, data={"password": NEW_PASSWORD}).status_code == 400
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
        lambda token: "x" + token,
        lambda token: "not-a-token",
    ],
    ids=["changed-signature", "changed-payload", "garbage"],
)
def test_tampered_reset_link_is_refused_clearly(client, db, user, tamper):
    _ask_reset(client)
    token = reset_link(db, user.email).rsplit("/", 1)[1]
    response = client.get(f"/reset-password/{tamper(token)}")
    assert response.status_code == 400
    assert "This reset link is not valid. Ask for a new one." in page_text(response)


def test_reset_ends_every_session_of_the_user(app, client, db, user, login):
    login(user)  # the user's laptop, still logged in
    laptop = client
    phone = app.test_client()
    _ask_reset(phone)
    assert phone.post(reset_link(db, user.email), data={"password": NEW_PASSWORD}).status_code == 303

    [session] = sessions_of(db, user)
    assert session.ended_at is not None and session.end_reason == "password_reset"
    assert laptop.get("/account/security").status_code == 302
