"""Flood limits per client address: the 11th login or reset request within a minute is refused kindly (429).

Guessing at one account from many addresses, and reset bombing, are the login policy's
(tests/accounts/test_login_policy.py)."""

from __future__ import annotations

import pytest

from tests.accounts.helpers import email_count, page_text, sessions_of, without_csrf_token
from tests.factories import PASSWORD

TOO_MANY = "Too many attempts. Wait a minute and try again."


@pytest.fixture
def throttled(build_app):
    """A client of an app with rate limits on (the shared test app has them off)."""
    return build_app(RATELIMIT_ENABLED=True).test_client()


@pytest.fixture
def user(factories, db):
    tenant = factories.TenantFactory(slug="throttle-works")
    user = factories.member(tenant, "user", email="target@throttle.example")
    db.session.commit()
    return user


def test_eleventh_login_within_a_minute_is_refused_even_with_the_right_password(throttled, db, user):
    for attempt in range(10):
        response = throttled.post("/login", data={"email": user.email, "password": f"guess number {attempt}"})
        assert response.status_code == 422, attempt
    response = throttled.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert TOO_MANY in page_text(response)
    assert response.mimetype == "text/html"
    assert sessions_of(db, user) == []


def test_login_page_itself_is_not_throttled(throttled, db):
    for _ in range(12):
        assert throttled.get("/login").status_code == 200


def test_eleventh_reset_request_is_refused_without_telling_whether_the_email_exists(throttled, db, user):
    before = email_count(db, to_address=user.email)
    for _ in range(10):
        assert throttled.post("/forgot-password", data={"email": user.email}).status_code == 200
    assert email_count(db, to_address=user.email) == before + 10

    known = throttled.post("/forgot-password", data={"email": user.email})
    unknown = throttled.post("/forgot-password", data={"email": "nobody@throttle.example"})
    assert known.status_code == unknown.status_code == 429
    assert TOO_MANY in page_text(known)
    assert without_csrf_token(known.get_data(as_text=True)) == without_csrf_token(unknown.get_data(as_text=True))
    assert user.email not in page_text(known)
    assert email_count(db, to_address=user.email) == before + 10


def test_throttled_api_style_request_gets_problem_json(throttled, db):
    for _ in range(10):
        throttled.post("/login", data={"email": "a@throttle.example", "password": "x"})
    response = throttled.post(
        "/login",
        data={"email": "a@throttle.example", "password": "x"},
        headers={"Accept": "application/problem+json"},
    )
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"] == TOO_MANY
