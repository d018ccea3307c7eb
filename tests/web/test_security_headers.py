"""Every HTML page: a strict CSP (no inline script), hardening headers, Vary: HX-Request,
and no inline <script> or event-handler attribute for that CSP to block."""

from __future__ import annotations

import re

import pytest

PUBLIC_PAGES = ["/", "/pricing", "/login", "/signup", "/forgot-password"]
MEMBER_PAGES = [
    "/t/headers-works/",
    "/t/headers-works/members",
    "/t/headers-works/settings",
    "/t/headers-works/audit",
    "/t/headers-works/roles",
    "/account/security",
    "/workspaces",
]

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


@pytest.fixture
def admin_client(client, db, factories, login):
    tenant = factories.TenantFactory(slug="headers-works")
    admin = factories.member(tenant, "admin")
    factories.member(tenant, "viewer")
    factories.invitation(tenant, "invitee@headers.example")
    db.session.commit()
    login(admin)
    return client


def _pages(client, admin_client):
    for path in PUBLIC_PAGES:
        yield path, client.application.test_client().get(path)
    for path in MEMBER_PAGES:
        yield path, admin_client.get(path)
    yield "/no-such-page", client.get("/no-such-page")


def _csp(response) -> dict[str, list[str]]:
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_every_page_sends_the_security_headers(client, admin_client):
    for path, response in _pages(client, admin_client):
        assert response.mimetype == "text/html", path
        assert response.status_code in (200, 404), path
        csp = _csp(response)
        script_src = csp.get("script-src", csp.get("default-src"))
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, path
        assert csp["script-src"] == ["'self'"], path
        assert csp["object-src"] == ["'none'"], path
        assert csp["frame-ancestors"] == ["'none'"], path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", path
        assert "HX-Request" in response.headers["Vary"], path
        assert response.headers["Cache-Control"] == "no-store", path


def test_no_page_has_inline_script_or_event_handlers(client, admin_client):
    for path, response in _pages(client, admin_client):
        page = response.get_data(as_text=True)
        assert "<html" in page, path
        assert INLINE_SCRIPT.findall(page) == [], path
        assert EVENT_HANDLER.findall(page) == [], path
        assert "javascript:" not in page.lower(), path


def test_inline_script_detector_catches_what_it_should():
    assert INLINE_SCRIPT.findall("<script>alert(1)</script>")
    assert INLINE_SCRIPT.findall('<script type="module">x()</script>')
    assert not INLINE_SCRIPT.findall('<script src="/static/js/app.js" defer></script>')
    assert EVENT_HANDLER.findall('<button onclick="x()">')
    assert not EVENT_HANDLER.findall('<button data-confirm="Sure?">')


def test_strict_transport_security_only_over_https(build_app, db):
    assert "Strict-Transport-Security" not in build_app().test_client().get("/").headers
    secure = build_app(PREFERRED_URL_SCHEME="https").test_client().get("/")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_session_cookie_is_httponly_and_samesite_lax(client, db, factories):
    tenant = factories.TenantFactory()
    user = factories.member(tenant, "user")
    db.session.commit()
    from tests.factories import PASSWORD

    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    assert response.status_code == 303
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):
        flags = [part.strip().lower() for part in cookies[name].split(";")]
        assert "httponly" in flags, name
        assert "samesite=lax" in flags, name
        assert "path=/" in flags, name
