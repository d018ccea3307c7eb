"""What a read-only or suspended workspace may still do: every cell of the table, and the 402 each
kind of client gets (page, htmx fragment, problem+json), with the banner that explains it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aerospec.billing import enforcement, lifecycle
from aerospec.models import utcnow
from tests.api.conftest import assert_problem, auth
from tests.configurations.conftest import BASE

FULL, READ_ONLY, SUSPENDED = "full", "read_only", "suspended"


@pytest.mark.parametrize(
    ("endpoint", "method", "access", "expected"),
    [
        # full access: everything
        ("configurations.create", "POST", FULL, True),
        ("api.archive_configuration", "DELETE", FULL, True),
        ("tenancy.invite", "POST", FULL, True),
        # read-only: view and export, no create
        ("configurations.index", "GET", READ_ONLY, True),
        ("configurations.detail", "HEAD", READ_ONLY, True),
        ("api.list_configurations", "GET", READ_ONLY, True),
        ("configurations.create", "POST", READ_ONLY, False),
        ("configurations.edit", "POST", READ_ONLY, False),
        ("configurations.archive", "POST", READ_ONLY, False),
        ("api.create_configuration", "POST", READ_ONLY, False),
        ("api.update_configuration", "PUT", READ_ONLY, False),
        ("api.update_procurement", "PATCH", READ_ONLY, False),
        ("api.archive_configuration", "DELETE", READ_ONLY, False),
        ("catalog.create_fluid", "POST", READ_ONLY, False),
        ("tenancy.invite", "POST", READ_ONLY, False),
        ("tenancy.settings", "POST", READ_ONLY, False),
        ("configurations.export", "POST", READ_ONLY, True),
        ("api.export_configurations", "POST", READ_ONLY, True),
        ("tenancy.export_data", "POST", READ_ONLY, True),
        ("billing.page", "POST", READ_ONLY, True),
        ("billing.cancel_subscription", "DELETE", READ_ONLY, True),
        ("api.billing_subscribe", "POST", READ_ONLY, True),
        ("api.list_billing_invoices", "GET", READ_ONLY, True),
        ("accounts.logout", "POST", READ_ONLY, True),
        ("api.logout", "POST", READ_ONLY, True),
        ("accounts.revoke_session", "POST", READ_ONLY, True),
        ("accounts.change_password", "POST", READ_ONLY, True),
        # suspended: billing, the dashboard and settings to look at, logout
        ("billing.page", "GET", SUSPENDED, True),
        ("billing.page", "POST", SUSPENDED, True),
        ("billing.list_invoices", "GET", SUSPENDED, True),
        ("api.billing_subscribe", "POST", SUSPENDED, True),
        ("tenancy.dashboard", "GET", SUSPENDED, True),
        ("tenancy.dashboard", "POST", SUSPENDED, False),
        ("tenancy.settings", "GET", SUSPENDED, True),
        ("tenancy.settings", "POST", SUSPENDED, False),
        ("api.get_tenant", "GET", SUSPENDED, True),
        ("api.update_tenant", "PUT", SUSPENDED, False),
        ("accounts.logout", "POST", SUSPENDED, True),
        ("api.logout", "POST", SUSPENDED, True),
        ("configurations.index", "GET", SUSPENDED, False),
        ("api.list_configurations", "GET", SUSPENDED, False),
        ("configurations.export", "POST", SUSPENDED, False),
        ("tenancy.members", "GET", SUSPENDED, False),
        ("configurations.create", "POST", SUSPENDED, False),
        # no endpoint (404/405): the router answers
        (None, "POST", READ_ONLY, True),
        (None, "GET", SUSPENDED, True),
    ],
)
def test_allowed_table_cell(endpoint, method, access, expected):
    assert enforcement.allowed(endpoint, method, access) is expected


def test_allowed_refuses_an_unknown_access_level():
    with pytest.raises(KeyError):
        enforcement.allowed("configurations.index", "GET", "half")


def test_read_only_leaves_open_only_the_listed_unsafe_tenant_routes(app):
    """A sweep over the real routes: a new unsafe tenant route is refused unless the table lists it."""
    opened = set()
    for rule in app.url_map.iter_rules():
        if "tenant_slug" not in rule.arguments:
            continue
        for method in rule.methods - {"GET", "HEAD", "OPTIONS"}:
            if enforcement.allowed(rule.endpoint, method, READ_ONLY):
                opened.add(rule.endpoint)
        assert enforcement.allowed(rule.endpoint, "GET", READ_ONLY)
    # Exports stay open in a read-only workspace (its data is still the customer's): the configurations CSV and
    # the analytics pages' CSVs, and the billing routes that end the read-only state.
    assert all(e == "configurations.export" or e.startswith(("billing.", "analytics.export_")) for e in opened), opened
    assert {"configurations.export", "analytics.export_accuracy", "analytics.export_usage"} <= opened


@pytest.fixture
def api_headers(app, db):
    from aerospec.accounts.services import ClientInfo
    from aerospec.api import services as api

    def _headers(user, tenant):
        settings = api.TokenSettings(
            app.config["SECRET_KEY"], app.config["JWT_ACCESS_SECONDS"], app.config["JWT_REFRESH_SECONDS"]
        )
        membership = api.choose_membership(db.session, user, tenant.slug)
        pair = api.start_api_session(db.session, user, membership, ClientInfo("127.0.0.1", "pytest"), settings)
        db.session.commit()
        return auth(pair.access_token), pair

    return _headers


def _url(tenant, path=""):
    return f"/t/{tenant.slug}/{path.lstrip('/')}"


# ---- the 402 each client gets


def test_read_only_page_post_gets_a_402_page_with_the_billing_link_for_admins(client, login, team):
    t = team(subscription_status="canceled", trial_ends_at=None)
    login(t.admin)
    response = client.post(_url(t.tenant, "configurations"), data={"name": "x"})
    assert response.status_code == 402
    page = response.get_data(as_text=True)
    assert "<html" in page
    assert "This workspace is read-only because the subscription ended" in page
    assert "an admin can restore it on the billing page" in page
    link = f'href="/t/{t.tenant.slug}/{"billing" if lifecycle.billing_endpoint() == "billing.page" else "settings"}'
    assert link in page and "Go to the billing page" in page


def test_read_only_page_tells_a_user_to_ask_an_admin(client, login, team):
    t = team(subscription_status="expired", trial_ends_at=utcnow() - timedelta(days=1))
    login(t.user)
    page = client.post(_url(t.tenant, "members/invite"), data={"email": "a@example.com"}).get_data(as_text=True)
    assert "Ask a workspace admin to restore it on the billing page." in page
    assert "Go to the billing page" not in page


def test_htmx_refusal_is_a_notice_swapped_into_the_top_of_the_page(client, login, team):
    t = team(subscription_status="read_only", trial_ends_at=None)
    login(t.admin)
    response = client.post(_url(t.tenant, "configurations"), data={"name": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 402
    assert response.headers["HX-Retarget"] == "#main"
    assert response.headers["HX-Reswap"] == "afterbegin"
    body = response.get_data(as_text=True)
    assert "<html" not in body and 'id="billing-blocked"' in body and 'role="alert"' in body
    assert "read-only because a payment is overdue" in body


def test_api_refusal_is_problem_json_402_and_reads_still_work(client, team, api_headers):
    t = team(subscription_status="read_only", trial_ends_at=None)
    headers, _ = api_headers(t.user, t.tenant)
    body = assert_problem(client.post("/api/configurations", json=BASE, headers=headers), 402)
    assert body["title"] == "Workspace is read-only"
    assert "billing page" in body["detail"]
    assert client.get("/api/configurations", headers=headers).status_code == 200
    assert client.get("/api/tenants/me", headers=headers).status_code == 200


def test_a_dead_token_still_gets_401_not_402(client, db, team, api_headers):
    from aerospec.accounts import services as accounts

    t = team(subscription_status="suspended", trial_ends_at=None)
    headers, pair = api_headers(t.user, t.tenant)
    assert_problem(client.get("/api/configurations", headers=headers), 402)
    from aerospec.api import services as api

    login, _ = api.authenticate_access_token(
        db.session,
        pair.access_token,
        api.TokenSettings(client.application.config["SECRET_KEY"], 900, 3600),
    )
    accounts.end_session(login, "test")
    db.session.commit()
    assert_problem(client.get("/api/configurations", headers=headers), 401)
    assert_problem(client.post("/api/configurations", json=BASE, headers=auth("not-a-token")), 401)


def test_suspended_workspace_keeps_dashboard_settings_logout_open(client, login, team, api_headers):
    t = team(subscription_status="suspended", trial_ends_at=None)
    login(t.admin)
    assert client.get(_url(t.tenant)).status_code == 200
    assert client.get(_url(t.tenant, "settings")).status_code == 200
    assert client.post(_url(t.tenant, "settings"), data={"name": "New"}).status_code == 402
    blocked = client.get(_url(t.tenant, "configurations"))
    assert blocked.status_code == 402
    assert "This workspace is suspended because a payment is still overdue" in blocked.get_data(as_text=True)
    assert client.get("/account/security").status_code == 200  # not a tenant page
    headers, _ = api_headers(t.user, t.tenant)
    assert client.get("/api/tenants/me", headers=headers).status_code == 200
    assert_problem(client.get("/api/tenants/members", headers=headers), 402)
    assert client.post("/api/auth/logout", headers=headers).status_code in (200, 204)
    assert client.post("/logout").status_code in (302, 303)


def test_another_tenant_is_not_affected(client, login, team, factories):
    t = team(subscription_status="suspended", trial_ends_at=None)
    healthy = factories.TenantFactory(subscription_status="active", trial_ends_at=None)
    factories.member(healthy, "admin", user=t.admin)
    login(t.admin)
    assert client.get(_url(healthy, "configurations")).status_code == 200
    assert client.get(_url(t.tenant, "configurations")).status_code == 402


# ---- the banner


@pytest.mark.parametrize(
    ("status", "words", "css"),
    [
        ("read_only", "Workspace is read-only.", "billing-read-only"),
        ("expired", "because the free trial ended", "billing-expired"),
        ("canceled", "because the subscription ended", "billing-canceled"),
        ("suspended", "Workspace suspended.", "billing-suspended"),
    ],
)
def test_banner_is_red_with_the_reason_and_a_link_for_admins(client, login, team, status, words, css):
    t = team(subscription_status=status, trial_ends_at=None)
    login(t.admin)
    page = client.get(_url(t.tenant)).get_data(as_text=True)
    assert f'class="trial-banner trial-danger billing-banner {css}"' in page
    assert words in page and "Go to billing" in page


def test_no_billing_banner_while_trialing_or_active(client, login, team):
    for status in ("trialing", "active"):
        t = team(subscription_status=status)
        login(t.admin)
        assert "billing-banner" not in client.get(_url(t.tenant)).get_data(as_text=True)


def test_banner_tells_non_admins_to_ask_an_admin(client, login, team):
    t = team(subscription_status="past_due", trial_ends_at=None)
    login(t.viewer)
    page = client.get(_url(t.tenant)).get_data(as_text=True)
    assert "billing-past-due" in page and "Payment failed" in page
    assert "Ask a workspace admin to restore it on the billing page." in page and "Go to billing" not in page
