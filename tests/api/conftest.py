"""Helpers for the API tests: teams, API logins, bearer headers, problem+json checks."""

from __future__ import annotations

import jwt
import pytest

from tests.factories import PASSWORD


@pytest.fixture
def api_login(client):
    """api_login(user, tenant=None) → the JSON body of a successful POST /api/auth/login."""

    def _login(user, tenant=None, password: str = PASSWORD) -> dict:
        body = {"email": user.email, "password": password}
        if tenant is not None:
            body["tenant"] = tenant.slug
        response = client.post("/api/auth/login", json=body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return _login


@pytest.fixture
def tokens(app, db):
    """tokens(user, tenant=None) → a fresh API session's tokens, issued by the service.

    Skips the password check (argon2 costs half a second here); login itself is
    tested through POST /api/auth/login.
    """
    from aerospec.accounts.services import ClientInfo
    from aerospec.api import services as api

    def _tokens(user, tenant=None) -> dict:
        settings = api.TokenSettings(
            app.config["SECRET_KEY"], app.config["JWT_ACCESS_SECONDS"], app.config["JWT_REFRESH_SECONDS"]
        )
        membership = api.choose_membership(db.session, user, tenant.slug if tenant else None)
        pair = api.start_api_session(db.session, user, membership, ClientInfo("127.0.0.1", "pytest"), settings)
        db.session.commit()
        return {"access_token": pair.access_token, "refresh_token": pair.refresh_token}

    return _tokens


@pytest.fixture
def bearer(tokens):
    """bearer(user, tenant=None) → Authorization headers for a fresh API session."""

    def _bearer(user, tenant=None) -> dict:
        return auth(tokens(user, tenant)["access_token"])

    return _bearer


def auth(token: str) -> dict:
    """Authorization headers for an access token."""
    return {"Authorization": f"Bearer {token}"}


def claims(app, token: str) -> dict:
    """The verified claims of a token issued by the app."""
    return jwt.decode(token, app.config["SECRET_KEY"], algorithms=["HS256"])


def assert_problem(response, status: int, *, fields: tuple[str, ...] = ()) -> dict:
    """The response is an RFC 9457 problem with `status` (and errors for `fields`)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"]
    for field in fields:
        assert body["errors"][field], body
        assert all(isinstance(message, str) and message for message in body["errors"][field])
    return body


@pytest.fixture
def strict_client(database_url, tmp_path_factory):
    """A client of an app built with CSRF and rate limits on (as in production).

    Its requests commit for real, so tests using it must not write. The limiter is a
    shared extension: it is switched back off afterwards for the session's app.
    """
    from aerospec import create_app
    from aerospec.extensions import db, limiter
    from tests.conftest import make_overrides

    was_enabled = limiter.enabled
    app = create_app(
        make_overrides(database_url, tmp_path_factory.mktemp("strict"), WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True)
    )
    try:
        limiter.reset()
        yield app.test_client()
    finally:
        limiter.reset()
        limiter.enabled = was_enabled
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
