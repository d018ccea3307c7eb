"""Sign-up validation: each problem is a message on its field, with 422, and nothing is written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aerospec.accounts.models import User
from aerospec.notifications.models import EmailMessage
from tests.accounts.helpers import count, field_error


def rows(db) -> tuple[int, int]:
    """How many users and emails exist: a refused sign-up must change neither."""
    return count(db, User), count(db, EmailMessage)


GOOD = {
    "name": "Ada Lovelace",
    "company": "Signup Sprays",
    "email": "ada@signup.example",
    "password": "nebulous cobalt atomiser 9",
}


def _signup(client, **changes):
    return client.post("/signup", data={**GOOD, **changes})


def test_signup_with_every_field_missing_names_each_field(client, db):
    before = rows(db)
    response = client.post("/signup", data={})  # nothing typed at all
    assert response.status_code == 422
    assert field_error(response, "name") == "Enter your name."
    assert field_error(response, "company") == "Enter your company's name."
    assert field_error(response, "email") == "Enter an email address."
    assert field_error(response, "password") == "Choose a password."
    assert rows(db) == before


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "That is not a valid email address"),
        ({"email": "ada@"}, "email", "That is not a valid email address"),
        ({"password": "short1"}, "password", "Use at least 10 characters."),
        ({"password": "password123"}, "password", "This password is too easy to guess."),
        ({"password": "aaaaaaaaaaaa"}, "password", "This password is too easy to guess."),
        ({"password": "Ada Lovelace1"}, "password", "This password is too easy to guess."),
        ({"name": "   "}, "name", "Enter your name."),
        ({"company": "   "}, "company", "Enter your company's name."),
    ],
    ids=[
        "invalid-email",
        "email-without-domain",
        "short-password",
        "common-password",
        "repeated-password",
        "password-from-own-name",
        "blank-name",
        "blank-company",
    ],
)
def test_signup_rejects_bad_field_with_message_and_writes_nothing(client, db, changes, field, message):
    before = rows(db)
    response = _signup(client, **changes)
    assert response.status_code == 422
    shown = field_error(response, field)
    assert shown is not None and shown.startswith(message), shown
    assert rows(db) == before


def test_signup_keeps_what_the_user_typed_after_an_error(client, db):
    response = _signup(client, password="short1")
    body = response.get_data(as_text=True)
    assert 'value="ada@signup.example"' in body
    assert 'value="Signup Sprays"' in body


def test_signup_with_taken_email_says_so_plainly(client, db, factories):
    factories.UserFactory(email="ada@signup.example")
    db.session.commit()
    before = rows(db)
    response = _signup(client, email="ADA@Signup.example")
    assert response.status_code == 422
    assert field_error(response, "email") == (
        "An account with this email already exists. Log in instead, or reset your password."
    )
    assert rows(db) == before


def test_signup_stores_an_argon2id_hash_not_the_password(client, db):
    response = _signup(client)
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.email == "ada@signup.example"))
    assert user.password_hash.startswith("$argon2id$")
    assert GOOD["password"] not in user.password_hash


def test_signup_shows_every_problem_at_once(client, db):
    response = _signup(client, company="", email="nope", password="short")
    assert response.status_code == 422
    assert field_error(response, "company") == "Enter your company's name."
    assert field_error(response, "email").startswith("That is not a valid email address")
    assert field_error(response, "password") == "Use at least 10 characters."
    assert field_error(response, "name") is None
