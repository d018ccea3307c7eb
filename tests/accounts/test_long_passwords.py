"""Long passphrases: 72, 73 and 256 characters (multi-byte too) are accepted on every path that sets a
password, on pages and the API; 257 gets a field message; nothing answers 500 and every character counts.

zxcvbn refuses more than 72 characters (it raised, so these answered 500); the hasher is argon2, which
hashes every byte, so a passphrase that differs only in its last character does not log in.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from aerospec.accounts import services as accounts
from aerospec.accounts.models import User
from tests.accounts.helpers import field_error, reset_link
from tests.factories import PASSWORD

MAX = accounts.PASSWORD_MAX_LENGTH
TOO_LONG = f"Use at most {MAX} characters."
# Two to three bytes per character in UTF-8: 256 characters are about 350 bytes.
PHRASE = "Zürich-Gräben δρόμος 水滴 kettle "


def passphrase(length: int) -> str:
    """A strong passphrase of exactly `length` characters (not bytes)."""
    text = (PHRASE * (length // len(PHRASE) + 1))[:length]
    assert len(text) == length
    return text


ACCEPTED = [72, 73, 256]
LENGTHS = [*ACCEPTED, MAX + 1]


def _user_count(db, email: str) -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.email == email))


def _only_this_password_works(db, email: str, password: str) -> None:
    """The stored hash takes the whole passphrase: one changed last character fails (bcrypt would pass it)."""
    db.session.expire_all()
    user = accounts.get_user_by_email(db.session, email)
    assert accounts.verify_password(user, password)
    assert not accounts.verify_password(user, password[:-1] + ("x" if password[-1] != "x" else "y"))
    if len(password) > 72:
        assert not accounts.verify_password(user, password[:72])


def _assert_outcome(db, response, *, email: str, password: str, ok: int, api: bool) -> None:
    """Up to the maximum: `ok`, and only the whole passphrase logs in; past it: 422 with the field's
    message (problem+json on the API) and the account keeps no new password."""
    if len(password) <= MAX:
        assert response.status_code == ok, response.get_json() if api else field_error(response, "password")
        _only_this_password_works(db, email, password)
        return
    assert response.status_code == 422
    if api:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["errors"]["password"] == [TOO_LONG]
    else:
        assert field_error(response, "password") == TOO_LONG
    db.session.expire_all()
    user = accounts.get_user_by_email(db.session, email)
    assert user is None or not accounts.verify_password(user, password)


def test_the_stated_maximum_is_256_characters():
    assert MAX == 256
    assert len(passphrase(256).encode()) > 256  # multi-byte: characters, not bytes, are counted


# ---- sign-up


@pytest.mark.parametrize("length", LENGTHS)
def test_signup_page_takes_long_passphrases_up_to_the_maximum(client, db, length):
    email = f"long{length}@signup.example"
    password = passphrase(length)
    response = client.post(
        "/signup", data={"name": "Long Lou", "company": f"Long {length} Sprays", "email": email, "password": password}
    )
    _assert_outcome(db, response, email=email, password=password, ok=303, api=False)


@pytest.mark.parametrize("length", LENGTHS)
def test_signup_api_takes_long_passphrases_up_to_the_maximum(client, db, length):
    email = f"long{length}@signup-api.example"
    password = passphrase(length)
    response = client.post(
        "/api/auth/signup",
        json={"name": "Long Lou", "company": f"Long API {length}", "email": email, "password": password},
    )
    _assert_outcome(db, response, email=email, password=password, ok=201, api=True)


# ---- change (page only: the API has no password change)


@pytest.fixture
def member(factories, db):
    tenant = factories.TenantFactory(slug="long-passwords")
    user = factories.member(tenant, "admin", email="long@passwords.example", name="Long Lou")
    db.session.commit()
    return user


@pytest.mark.parametrize("length", LENGTHS)
def test_password_change_takes_long_passphrases_up_to_the_maximum(client, db, login, member, length):
    login(member)
    password = passphrase(length)
    response = client.post("/account/password", data={"current_password": PASSWORD, "password": password})
    _assert_outcome(db, response, email=member.email, password=password, ok=303, api=False)


def test_a_long_current_password_is_checked_whole(client, db, login, member):
    """Changing away from a 256-character passphrase needs all of it, not its first 72 characters."""
    long = passphrase(256)
    accounts.set_password(db.session, member, long)
    db.session.commit()
    login(member)
    response = client.post("/account/password", data={"current_password": long[:72], "password": "lichen quartz 77"})
    assert response.status_code == 422
    assert field_error(response, "current_password") == "That is not your current password."
    response = client.post("/account/password", data={"current_password": long, "password": "lichen quartz 77"})
    assert response.status_code == 303


# ---- reset


@pytest.mark.parametrize("length", LENGTHS)
def test_reset_page_takes_long_passphrases_up_to_the_maximum(client, db, member, length):
    client.post("/forgot-password", data={"email": member.email})
    link = reset_link(db, member.email)
    password = passphrase(length)
    response = client.post(link, data={"password": password})
    _assert_outcome(db, response, email=member.email, password=password, ok=303, api=False)


@pytest.mark.parametrize("length", LENGTHS)
def test_reset_api_takes_long_passphrases_up_to_the_maximum(client, app, db, member, length):
    token = accounts.make_reset_token(member, app.config["SECRET_KEY"])
    password = passphrase(length)
    response = client.post("/api/auth/reset-password", json={"token": token, "password": password})
    _assert_outcome(db, response, email=member.email, password=password, ok=200, api=True)


# ---- invitation acceptance (a new account)


@pytest.fixture
def invite(factories, db):
    def _invite(email: str) -> str:
        tenant = factories.TenantFactory()
        factories.member(tenant, "admin")
        _, token = factories.invitation(tenant, email)
        db.session.commit()  # the view rolls back its own work on a validation error
        return token

    return _invite


@pytest.mark.parametrize("length", LENGTHS)
def test_invitation_page_takes_long_passphrases_up_to_the_maximum(client, db, invite, length):
    email = f"invited{length}@long.example"
    token = invite(email)
    password = passphrase(length)
    response = client.post(f"/invitations/{token}", data={"name": "Invited Ida", "password": password})
    _assert_outcome(db, response, email=email, password=password, ok=303, api=False)


@pytest.mark.parametrize("length", LENGTHS)
def test_invitation_api_takes_long_passphrases_up_to_the_maximum(client, db, invite, length):
    email = f"invited{length}@long-api.example"
    token = invite(email)
    password = passphrase(length)
    response = client.post(
        f"/api/tenants/invitations/{token}/accept", json={"name": "Invited Ida", "password": password}
    )
    _assert_outcome(db, response, email=email, password=password, ok=201, api=True)


def test_a_long_passphrase_logs_in_on_the_page_and_the_api(client, app, db, member):
    long = passphrase(256)
    accounts.set_password(db.session, member, long)
    db.session.commit()
    assert client.post("/api/auth/login", json={"email": member.email, "password": long}).status_code == 200
    assert client.post("/api/auth/login", json={"email": member.email, "password": long[:-1]}).status_code == 401
    assert app.test_client().post("/login", data={"email": member.email, "password": long}).status_code == 303


def test_every_new_password_field_states_the_range(client, db, login, member, invite):
    token = invite("range@long.example")
    pages = [client.get("/signup"), client.get(f"/invitations/{token}")]
    client.post("/forgot-password", data={"email": member.email})
    pages.append(client.get(reset_link(db, member.email)))
    login(member)
    pages.append(client.get("/account/security"))
    for page in pages:
        assert f"10 to {MAX} characters" in page.get_data(as_text=True), page.request.path
