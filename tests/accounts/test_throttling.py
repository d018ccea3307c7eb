"""Flood limits per client address: the 11th login or reset request within a minute is refused kindly (429).

Guessing at one account from many addresses, and reset bombing, are the login policy's
(tests/accounts/test_login_policy.py)."""

from __future__ import annotations

import re

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
    # Alike but for the address each typed (the form keeps it): nothing tells a known address from another.
    typed = "<typed>"
    assert without_csrf_token(known.get_data(as_text=True)).replace(user.email, typed) == without_csrf_token(
        unknown.get_data(as_text=True)
    ).replace("nobody@throttle.example", typed)
    assert user.email not in page_text(known).replace(f'value="{user.email}"', "")  # only where it was typed
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


def _form_html(response) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    return html


def test_a_flooded_htmx_login_shows_the_form_again_with_the_email_and_the_wait_message(throttled, db, user):
    htmx = {"HX-Request": "true"}
    for attempt in range(10):
        throttled.post("/login", data={"email": user.email, "password": f"guess {attempt}"}, headers=htmx)
    response = throttled.post("/login", data={"email": user.email, "password": PASSWORD}, headers=htmx)
    html = _form_html(response)
    # The fragment htmx swaps in for the form is the form itself: the email kept, the message announced.
    assert html.lstrip().startswith('<form id="login-form"'), html[:200]
    assert f'value="{user.email}"' in html
    assert PASSWORD not in html
    assert re.search(r'<div class="form-errors" role="alert">\s*<p>' + re.escape(TOO_MANY), html)
    assert response.headers.get("Retry-After")
    assert sessions_of(db, user) == []


def test_a_flooded_login_page_without_htmx_is_the_whole_page_with_the_form_filled_in(throttled, db, user):
    for attempt in range(10):
        throttled.post("/login", data={"email": user.email, "password": f"guess {attempt}"})
    html = _form_html(throttled.post("/login", data={"email": user.email, "password": PASSWORD}))
    assert "<html" in html and 'id="login-form"' in html
    assert f'value="{user.email}"' in html and TOO_MANY in html


def test_flooded_reset_and_signup_forms_keep_what_was_typed(throttled, db):
    htmx = {"HX-Request": "true"}
    for _ in range(11):
        response = throttled.post("/forgot-password", data={"email": "kept@throttle.example"}, headers=htmx)
    html = _form_html(response)
    assert 'value="kept@throttle.example"' in html and TOO_MANY in html and 'role="alert"' in html
    fields = {"name": "Kim Kept", "company": "Kept Sprays", "email": "kim@kept.example", "password": "short"}
    for _ in range(11):
        response = throttled.post("/signup", data=fields, headers=htmx)
    html = _form_html(response)
    assert 'value="Kim Kept"' in html and 'value="Kept Sprays"' in html and 'value="kim@kept.example"' in html
    assert TOO_MANY in html and 'role="alert"' in html
