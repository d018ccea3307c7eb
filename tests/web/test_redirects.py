"""No open redirect: every `next` or return address goes through aerospec.web.redirects.safe_next, and a
table of hostile addresses (control characters, spaces of every kind, backslashes, `//`, schemes,
percent-encoded and full-width forms) sends nobody off the site on any path that takes one: the login
(already logged in, plain POST, htmx's HX-Redirect, the form's own field), the invitation's log-in link,
logout and the workspace switch (which take none), and the offline checkout's return links."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from urllib.parse import quote, urlsplit

import pytest

from aerospec.billing.models import OfflineCheckoutSession
from aerospec.tenancy.scoping import tenant_scope
from aerospec.web.redirects import safe_next
from tests.factories import PASSWORD

HOSTILE = [
    "/\t/evil.example/",  # the reported case: browsers drop the tab, leaving //evil.example/
    "/\n/evil.example/",
    "/\r/evil.example/",
    "/\r\n/evil.example/",
    "/\x00/evil.example/",
    "/\x0b/evil.example/",
    "/\x7f/evil.example/",
    "/\x85/evil.example/",
    " //evil.example/",
    "\t//evil.example/",
    "/ /evil.example/",
    "//evil.example/",
    "///evil.example/",
    "//evil.example:443/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "\\/evil.example/",
    "/\\/evil.example/",
    "https://evil.example/",
    "HTTPS://evil.example/",
    "https:evil.example",
    "https:/evil.example",
    "javascript:alert(1)",
    " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "/%2F/evil.example/",
    "/%2f%2fevil.example/",
    "/%252F%252Fevil.example/",
    "/%5Cevil.example/",
    "/%5C/evil.example/",
    "/%09/evil.example/",
    "/%0A/evil.example/",
    "%2F%2Fevil.example/",
    "/..//evil.example/",
    "/.//evil.example/",
    "/\u00a0/evil.example/",  # no-break space
    "/\u1680/evil.example/",
    "/\u2000/evil.example/",
    "/\u2028/evil.example/",  # line separator
    "/\u2029/evil.example/",
    "/\u3000/evil.example/",  # ideographic space
    "/\u200b/evil.example/",  # zero-width space
    "/\ufeff/evil.example/",  # byte-order mark
    "/\u202e/evil.example/",  # right-to-left override
    "/\uff0fevil.example/",  # full-width solidus: NFKC folds it to /
    "/\uff3cevil.example/",  # full-width reverse solidus
    "/%EF%BC%8Fevil.example/",
    "/%E3%80%80/evil.example/",
    "/\ud800/evil.example/",  # a lone surrogate cannot even be put in a header
    "",
    "/" + "a" * 3000,
]
# Over HTTP a lone surrogate cannot be sent as itself (its UTF-8 bytes arrive as a valid local path).
OVER_HTTP = [raw for raw in HOSTILE if "\ud800" not in raw]
SAFE = [
    ("/t/acme/", "/t/acme/"),
    ("/t/acme/configurations?page=2&q=a%20b", "/t/acme/configurations?page=2&q=a%20b"),
    ("/t/acme/fluids?next=//evil.example/", "/t/acme/fluids?next=//evil.example/"),  # a query is not a host
    ("/t/acmé/", "/t/acm%C3%A9/"),  # ASCII, so it fits in a header
]


def _ids(values):
    return [repr(v)[:40] for v in values]


@pytest.mark.parametrize("raw", HOSTILE, ids=_ids(HOSTILE))
def test_hostile_next_falls_back_to_the_default(raw):
    assert safe_next(raw, "/home") == "/home"


@pytest.mark.parametrize(("raw", "expected"), SAFE)
def test_a_path_on_this_site_is_kept(raw, expected):
    assert safe_next(raw, "/home") == expected


def test_an_absolute_url_is_kept_only_on_an_own_origin():
    own = ("http://testserver",)
    assert safe_next("http://testserver/t/acme/?payment=returned", "/home", own_origins=own) == (
        "http://testserver/t/acme/?payment=returned"
    )
    for raw in (
        "http://testserver.evil.example/",
        "http://testserver@evil.example/",
        "http://testserver//evil.example/",
        "http://testserver/\t/evil.example/",
        "https://evil.example/",
        "http://testserver",
    ):
        assert safe_next(raw, "/home", own_origins=own) == "/home", raw
    assert safe_next("http://testserver/t/acme/", "/home") == "/home"  # not unless asked for


def test_non_strings_fall_back():
    for raw in (None, 42, ["/t/acme/"], {"next": "/"}):
        assert safe_next(raw, "/home") == "/home"


# ---- the login, through the app


@pytest.fixture
def member(factories, db):
    tenant = factories.TenantFactory(slug="redirect-works")
    user = factories.member(tenant, "user", email="walker@redirect.example")
    db.session.commit()
    return user


HOME = "/t/redirect-works/"


def _query(raw: str) -> str:
    return "/login?next=" + quote(raw, safe="")


def _stays_home(location: str | None) -> None:
    assert location is not None
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc) in (("", ""), ("http", "localhost")), location
    assert parts.path == HOME, location


def test_the_reported_requests_no_longer_leave_the_site(client, login, member):
    login(member)
    response = client.get("/login?next=/%09/evil.example/")
    assert response.status_code == 302
    _stays_home(response.headers["Location"])
    response = client.get("/login?next=/%0A/x")  # answered 500 (a newline in the Location header)
    assert response.status_code == 302
    _stays_home(response.headers["Location"])


@pytest.mark.parametrize("raw", OVER_HTTP, ids=_ids(OVER_HTTP))
def test_logged_in_visit_to_login_with_hostile_next_goes_home(client, login, member, raw):
    login(member)
    response = client.get(_query(raw))
    assert response.status_code == 302
    _stays_home(response.headers["Location"])


@pytest.mark.parametrize("raw", OVER_HTTP, ids=_ids(OVER_HTTP))
def test_logging_in_with_hostile_next_goes_home_and_htmx_is_told_the_same(client, app, db, member, raw):
    credentials = {"email": member.email, "password": PASSWORD}
    plain = app.test_client().post(_query(raw), data=credentials)
    assert plain.status_code == 303
    _stays_home(plain.headers["Location"])
    htmx = app.test_client().post(_query(raw), data=credentials, headers={"HX-Request": "true"})
    assert htmx.status_code == 200
    assert htmx.headers["HX-Redirect"] == HOME
    field = app.test_client().post("/login", data={**credentials, "next": raw})  # the form's own field
    _stays_home(field.headers["Location"])


@pytest.mark.parametrize("raw", OVER_HTTP, ids=_ids(OVER_HTTP))
def test_the_login_form_does_not_carry_a_hostile_next_along(client, db, raw):
    response = client.get(_query(raw))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'action="/login"' in body
    assert "evil.example" not in body


def test_a_safe_next_is_followed_after_login(client, app, db, member):
    target = "/t/redirect-works/configurations?page=2"
    response = app.test_client().post(
        _query(target), data={"email": member.email, "password": PASSWORD}, headers={"HX-Request": "true"}
    )
    assert response.headers["HX-Redirect"] == target
    page = app.test_client().get(_query(target))
    assert 'action="/login?next=/t/redirect-works/configurations?page%3D2"' in page.get_data(as_text=True)


def test_the_invitation_log_in_link_comes_back_to_the_invitation(client, app, db, factories):
    tenant = factories.TenantFactory()
    factories.member(tenant, "admin")
    invited = factories.UserFactory(email="invited@redirect.example")
    _, token = factories.invitation(tenant, invited.email)
    db.session.commit()
    browser = app.test_client()
    page = browser.get(f"/invitations/{token}").get_data(as_text=True)
    link = f"/login?next=/invitations/{token}"
    assert link in page
    response = browser.post(link, data={"email": invited.email, "password": PASSWORD})
    assert response.headers["Location"] == f"/invitations/{token}"


# ---- paths that take no address: a `next` sent to them is ignored


@pytest.mark.parametrize("raw", ["//evil.example/", "/\t/evil.example/", "https://evil.example/"])
def test_logout_and_the_workspace_switch_ignore_a_next(client, login, member, raw):
    login(member)
    switched = client.post("/switch?next=" + quote(raw, safe=""), data={"tenant_slug": "redirect-works", "next": raw})
    assert urlsplit(switched.headers["Location"]).path == HOME
    out = client.post("/logout?next=" + quote(raw, safe=""), data={"next": raw})
    assert urlsplit(out.headers["Location"]).path == "/login"


# ---- the offline checkout's return links (stored when the checkout opened)


# What a database column can hold (PostgreSQL's text refuses NUL; a lone surrogate cannot be encoded).
STORABLE = [raw for raw in HOSTILE if "\x00" not in raw and "\ud800" not in raw]


@pytest.fixture
def checkout_row(db, team):
    """make(success_url, cancel_url) → a completed offline subscription checkout of a team, and the team."""
    t = team()

    def make(success_url: str, cancel_url: str) -> SimpleNamespace:
        # Written in its workspace (row-level security on PostgreSQL); the test keeps the plain values.
        checkout_id = f"cs_offline_{uuid.uuid4().hex}"
        row = OfflineCheckoutSession(
            id=checkout_id,
            tenant_id=t.tenant.id,
            mode="subscription",
            status="complete",
            payment_status="paid",
            amount_total=200000,
            currency="usd",
            description="Professional",
            metadata_={"tenant_id": str(t.tenant.id)},
            line_items=[{"description": "Professional", "unit_amount": 200000, "quantity": 1}],
            success_url=success_url,
            cancel_url=cancel_url,
        )
        with tenant_scope(db.session, t.tenant.id):
            db.session.add(row)
            db.session.commit()
        return SimpleNamespace(id=checkout_id, success_url=success_url, cancel_url=cancel_url)

    return make, t


@pytest.mark.parametrize("raw", STORABLE, ids=_ids(STORABLE))
def test_offline_checkout_never_returns_the_payer_off_the_site(client, db, login, checkout_row, raw):
    make, t = checkout_row
    row = make(raw, raw)
    login(t.admin)
    path = f"/billing/offline/checkout/{row.id}"
    page = client.get(path).get_data(as_text=True)
    assert "evil.example" not in page
    assert 'href="/workspaces"' in page
    response = client.post(path, data={"outcome": "pay"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/workspaces"


def test_offline_checkout_returns_to_its_own_absolute_url(client, db, login, checkout_row):
    make, t = checkout_row
    row = make(f"http://testserver/t/{t.tenant.slug}/billing?checkout=returned", "https://evil.example/")
    login(t.admin)
    response = client.post(f"/billing/offline/checkout/{row.id}", data={"outcome": "pay"})
    assert response.headers["Location"] == row.success_url
