"""The security page: your sessions, revoking one, and changing your password."""

from __future__ import annotations

import pytest

from aerospec.accounts import services as accounts
from aerospec.accounts.models import User
from tests.accounts.helpers import field_error, page_text, sessions_of
from tests.factories import PASSWORD

NEW_PASSWORD = "lichen quartz trombone 77"


@pytest.fixture
def user(factories, db):
    tenant = factories.TenantFactory(slug="secure-works")
    user = factories.member(tenant, "admin", email="careful@security.example", name="Careful Cat")
    db.session.commit()
    return user


@pytest.fixture
def other_device(app, db, user):
    """A second browser logged in as the same user, through the real login form."""
    device = app.test_client()
    response = device.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        headers={"User-Agent": "PhoneBrowser/2.0"},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert response.status_code == 303
    device.session_row = next(s for s in sessions_of(db, user) if s.user_agent == "PhoneBrowser/2.0")
    return device


def test_security_page_lists_my_active_sessions(client, db, user, login, other_device):
    login(user)
    response = client.get("/account/security")
    assert response.status_code == 200
    text = page_text(response)
    assert "PhoneBrowser/2.0" in text and "198.51.100.7" in text
    assert "pytest" in text  # the login fixture's user agent
    assert text.count("This session") == 1


def test_security_page_requires_login(client, db):
    response = client.get("/account/security")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_revoking_another_session_logs_that_client_out(client, db, user, login, other_device):
    login(user)
    assert other_device.get("/account/security").status_code == 200
    response = client.post(f"/account/sessions/{other_device.session_row.id}/revoke")
    assert response.status_code == 303
    db.session.refresh(other_device.session_row)
    assert other_device.session_row.end_reason == "revoked"

    after = other_device.get("/account/security")
    assert after.status_code == 302
    assert after.headers["Location"].startswith("/login")
    assert client.get("/account/security").status_code == 200  # the revoker stays in


def test_revoking_someone_elses_session_is_not_found(client, db, user, login, factories):
    stranger = factories.UserFactory()
    theirs = accounts.start_session(db.session, stranger, accounts.ClientInfo("10.0.0.1", "theirs"))
    db.session.commit()
    login(user)
    assert client.post(f"/account/sessions/{theirs.id}/revoke").status_code == 404
    db.session.refresh(theirs)
    assert theirs.ended_at is None


def test_change_password_requires_the_current_one(client, db, user, login):
    login(user)
    old_hash = user.password_hash
    response = client.post("/account/password", data={"current_password": "wrong guess here", "password": NEW_PASSWORD})
    assert response.status_code == 422
    assert field_error(response, "current_password") == "That is not your current password."
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == old_hash


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("short", "Use at least 10 characters."),
        ("qwertyuiop", "This password is too easy to guess."),
        (PASSWORD, "Choose a password different from the current one."),
    ],
)
def test_change_password_validates_the_new_one(client, db, user, login, new, message):
    login(user)
    old_hash = user.password_hash
    response = client.post("/account/password", data={"current_password": PASSWORD, "password": new})
    assert response.status_code == 422
    assert field_error(response, "password").startswith(message)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == old_hash


def test_change_password_ends_other_sessions_but_keeps_this_one(client, db, user, login, other_device):
    this_session = login(user)
    response = client.post("/account/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/security"

    ended = {s.id: s.end_reason for s in sessions_of(db, user)}
    assert ended == {this_session.id: None, other_device.session_row.id: "password_changed"}
    assert client.get("/account/security").status_code == 200
    assert other_device.get("/account/security").status_code == 302

    stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$")
    assert accounts.verify_password(db.session.get(User, user.id), NEW_PASSWORD)


CHROME_ON_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def _session_cell(html: str, session_id) -> str:
    import re

    row = re.search(rf'<tr id="session-{session_id}">(.*?)</tr>', html, re.S)
    assert row, f"no row for session {session_id}"
    return row.group(1)


def test_sessions_read_as_browser_on_system_address_and_last_activity(app, client, db, user, login):
    from datetime import timedelta

    from aerospec.web.dates import absolute

    laptop = app.test_client()
    response = laptop.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        headers={"User-Agent": CHROME_ON_LINUX},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert response.status_code == 303
    row = next(s for s in sessions_of(db, user) if s.user_agent == CHROME_ON_LINUX)
    row.last_activity_at -= timedelta(seconds=130)
    db.session.commit()

    login(user)
    body = page_text(client.get("/account/security")).split("<tbody>")[1]
    laptop_row = _session_cell(body, row.id)
    assert "<strong>Chrome on Linux</strong>, 127.0.0.1, active " in laptop_row
    assert f'title="{absolute(row.last_activity_at)}">2 min ago</time>' in laptop_row
    # The raw string stays available for support, folded away under the summary.
    summary, details = laptop_row.split('<details class="session-agent">')
    assert CHROME_ON_LINUX not in summary and f"<code>{CHROME_ON_LINUX}</code>" in details
    mine = _session_cell(body, next(s.id for s in sessions_of(db, user) if s.id != row.id))
    assert "This session" in mine and "127.0.0.1, active now</span>" in mine  # the page is being read in it
