"""CSRF: with protection on (as in production), a POST without the token is refused with
a friendly 400 and changes nothing; the form's token, or htmx's X-CSRFToken header, works."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import select

from aerospec.accounts import services as accounts
from aerospec.accounts.models import UserSession
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import tenant_scope
from tests.factories import PASSWORD

FRIENDLY = "Your form expired or was sent from elsewhere. Reload the page and try again."


@pytest.fixture
def csrf_app(build_app):
    return build_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def member(db, factories):
    tenant = factories.TenantFactory(slug="csrf-works", name="Before")
    user = factories.member(tenant, "admin", email="admin@csrf.example")
    db.session.commit()
    user.tenant = tenant
    return user


def form_token(response) -> str:
    match = re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"',
        response.get_data(as_text=True),
    )
    assert match, "no csrf_token field in the form"
    return match.group(1) or match.group(2)


def header_token(response) -> str:
    """The token htmx sends, from <body hx-headers='{"X-CSRFToken": ...}'>."""
    match = re.search(r"hx-headers='([^']+)'", response.get_data(as_text=True))
    assert match, "no hx-headers on the page"
    return json.loads(html.unescape(match.group(1)))["X-CSRFToken"]


def logged_in(csrf_app, db, user):
    browser = csrf_app.test_client()
    login = accounts.start_session(db.session, user, accounts.ClientInfo("127.0.0.1", "csrf-test"))
    db.session.commit()
    with browser.session_transaction() as sess:
        sess["_user_id"] = str(login.id)
        sess["_fresh"] = True
    return browser


def _web_sessions(db, user) -> int:
    return len(list(db.session.scalars(select(UserSession).where(UserSession.user_id == user.id))))


def _tenant_name(db, tenant) -> str:
    db.session.expire_all()
    with tenant_scope(db.session, tenant.id):
        return db.session.get(Tenant, tenant.id).name


def test_login_without_token_is_refused_kindly_and_logs_nobody_in(csrf_app, db, member):
    browser = csrf_app.test_client()
    browser.get("/login")
    response = browser.post("/login", data={"email": member.email, "password": PASSWORD})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert FRIENDLY in html.unescape(response.get_data(as_text=True))
    assert _web_sessions(db, member) == 0


def test_login_with_a_forged_token_is_refused(csrf_app, db, member):
    browser = csrf_app.test_client()
    browser.get("/login")
    response = browser.post(
        "/login", data={"email": member.email, "password": PASSWORD, "csrf_token": "forged.token.value"}
    )
    assert response.status_code == 400
    assert _web_sessions(db, member) == 0


def test_login_with_the_forms_token_works(csrf_app, db, member):
    browser = csrf_app.test_client()
    token = form_token(browser.get("/login"))
    response = browser.post("/login", data={"email": member.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    assert _web_sessions(db, member) == 1


def test_token_from_another_browser_does_not_work(csrf_app, db, member):
    token = form_token(csrf_app.test_client().get("/login"))
    browser = csrf_app.test_client()
    browser.get("/login")
    response = browser.post("/login", data={"email": member.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 400


def test_tenant_form_without_token_changes_nothing(csrf_app, db, member):
    browser = logged_in(csrf_app, db, member)
    assert browser.get("/t/csrf-works/settings").status_code == 200
    response = browser.post("/t/csrf-works/settings", data={"name": "Hijacked", "billing_email": "evil@csrf.example"})
    assert response.status_code == 400
    assert FRIENDLY in html.unescape(response.get_data(as_text=True))
    assert _tenant_name(db, member.tenant) == "Before"


def test_htmx_post_without_token_gets_an_error_fragment(csrf_app, db, member):
    browser = logged_in(csrf_app, db, member)
    browser.get("/t/csrf-works/settings")
    response = browser.post(
        "/t/csrf-works/settings",
        data={"name": "Hijacked", "billing_email": "a@b.example"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert "<html" not in response.get_data(as_text=True)
    assert FRIENDLY in html.unescape(response.get_data(as_text=True))
    assert _tenant_name(db, member.tenant) == "Before"


def test_tenant_form_with_htmx_header_token_works(csrf_app, db, member):
    browser = logged_in(csrf_app, db, member)
    token = header_token(browser.get("/t/csrf-works/settings"))
    response = browser.post(
        "/t/csrf-works/settings",
        data={"name": "After", "billing_email": "billing@csrf.example"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/t/csrf-works/settings"
    assert _tenant_name(db, member.tenant) == "After"


def test_tenant_form_with_form_token_works(csrf_app, db, member):
    browser = logged_in(csrf_app, db, member)
    token = form_token(browser.get("/t/csrf-works/settings"))
    response = browser.post(
        "/t/csrf-works/settings",
        data={"name": "After", "billing_email": "billing@csrf.example", "csrf_token": token},
    )
    assert response.status_code == 303
    assert _tenant_name(db, member.tenant) == "After"
