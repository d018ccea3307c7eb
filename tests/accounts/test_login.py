"""Login, remember me, logout and the `next` redirect."""

from __future__ import annotations

import pytest

from tests.accounts.helpers import form_errors, sessions_of

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


@pytest.fixture
def workspace_user(factories, db):
    """A user who belongs to one workspace."""
    tenant = factories.TenantFactory(slug="login-works")
    user = factories.member(tenant, "admin", email="pilot@login.example")
    db.session.commit()
    return user


def _login(client, email="pilot@login.example", password=None, query="", **extra):
    from tests.factories import PASSWORD

    data = {"email": email, "password": PASSWORD if password is None else password, **extra}
    return client.post(
        f"/login{query}",
        data=data,
        headers={"User-Agent": BROWSER},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )


def test_login_redirects_to_first_workspace_and_records_session(client, db, workspace_user):
    response = _login(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/t/login-works/"
    [login] = sessions_of(db, workspace_user)
    assert login.ip_address == "203.0.113.9"
    assert login.user_agent == BROWSER
    assert login.kind == "web" and login.ended_at is None
    assert client.get("/t/login-works/").status_code == 200


def test_login_email_is_case_insensitive(client, db, workspace_user):
    assert _login(client, email="  Pilot@LOGIN.example ").status_code == 303


def test_wrong_password_and_unknown_email_get_the_same_message(client, db, workspace_user):
    wrong_password = _login(client, password="not the password at all")
    unknown_email = _login(client, email="nobody@login.example")
    assert wrong_password.status_code == unknown_email.status_code == 422
    assert form_errors(wrong_password) == "That email and password do not match an account."
    assert form_errors(unknown_email) == form_errors(wrong_password)
    assert sessions_of(db, workspace_user) == []
    assert client.get("/account/security").status_code == 302  # still logged out


def test_login_with_missing_fields_asks_for_them(client, db):
    response = client.post("/login", data={})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Enter your email address." in body
    assert "Enter your password." in body


def test_remember_me_sets_the_remember_cookie(client, db, workspace_user):
    assert _login(client, remember="y").status_code == 303
    assert client.get_cookie("remember_token") is not None
    assert sessions_of(db, workspace_user)[0].remember is True


def test_without_remember_me_no_remember_cookie_is_set(client, db, workspace_user):
    assert _login(client).status_code == 303
    assert client.get_cookie("remember_token") is None


def test_remember_cookie_alone_logs_back_in(app, client, db, workspace_user):
    _login(client, remember="y")
    fresh = app.test_client()
    fresh.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert fresh.get("/account/security").status_code == 200


def test_logout_ends_the_session_and_the_old_cookies_stop_working(app, client, db, workspace_user):
    _login(client, remember="y")
    old_session = client.get_cookie("session").value
    old_remember = client.get_cookie("remember_token").value

    response = client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    [login] = sessions_of(db, workspace_user)
    assert login.ended_at is not None and login.end_reason == "logout"

    for name, value in (("session", old_session), ("remember_token", old_remember)):
        replay = app.test_client()
        replay.set_cookie(name, value)
        response = replay.get("/account/security")
        assert response.status_code == 302, name
        assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("target", ["/account/security", "/t/login-works/members"])
def test_login_follows_a_safe_next_path(client, db, workspace_user, target):
    response = _login(client, query=f"?next={target}")
    assert response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "http://evil.com",
        "https://evil.com/t/login-works/",
        "/\\evil.com",
        "javascript:alert(1)",
    ],
)
def test_login_ignores_an_offsite_next(client, db, workspace_user, target):
    response = _login(client, query="", next=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/t/login-works/"
    response = _login(client.application.test_client(), query=f"?next={target}")
    assert response.headers["Location"] == "/t/login-works/"


def test_login_page_is_skipped_when_already_logged_in(client, db, workspace_user, login):
    login(workspace_user)
    response = client.get("/login?next=//evil.com")
    assert response.status_code == 302
    assert response.headers["Location"] == "/t/login-works/"
