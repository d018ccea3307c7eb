"""The billing portal: offline, this app's stand-in for Stripe's hosted portal (payment method = the test card,
invoices with downloads, cancel at period end and resume through the same subscription functions, the way
back to the billing page); on Stripe, a Billing Portal session for the tenant's customer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aerospec.billing import offline_card
from aerospec.billing.models import BillingSubscription
from aerospec.tenancy.scoping import tenant_scope
from tests.api import conftest as api_fixtures

tokens = api_fixtures.tokens
bearer = api_fixtures.bearer


def _mirror(db, tenant) -> BillingSubscription:
    with tenant_scope(db.session, tenant.id):
        db.session.expire_all()
        return db.session.scalar(select(BillingSubscription).where(BillingSubscription.tenant_id == tenant.id))


@pytest.fixture
def subscribed(client, db, team, bearer, login):
    """A workspace on Professional, monthly, subscribed through the offline checkout (so it has an invoice)."""
    t = team(subscription_status="expired", name="Portal Sprays")
    response = client.post(
        "/api/billing/subscribe", json={"plan": "professional", "interval": "month"}, headers=bearer(t.admin)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    path = response.get_json()["checkout_url"].removeprefix("http://testserver")
    login(t.admin)  # the workspace admin pays the offline checkout (never an anonymous visitor)
    assert client.post(path, data={"outcome": "pay"}).status_code == 303
    return t


def test_billing_page_links_to_the_offline_portal(client, subscribed, login, tenant_url):
    t = subscribed
    login(t.admin)
    html = client.get(tenant_url(t.tenant, "billing")).get_data(as_text=True)
    assert f'href="/t/{t.tenant.slug}/billing/portal">Manage payment details</a>' in html
    assert "stand-in for Stripe's hosted portal" in html


def test_offline_portal_shows_the_card_invoices_cancel_and_the_way_back(client, subscribed, login, tenant_url):
    t = subscribed
    login(t.admin)
    response = client.get(tenant_url(t.tenant, "billing/portal"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Billing portal</h1>" in html
    assert "Offline stand-in." in html and "no real card is stored or charged" in html
    assert "Test card" in html and 'value="succeeds" aria-describedby="test-card-help" checked' in html
    assert '<input type="hidden" name="return_to" value="portal">' in html
    assert "AS-" in html and ".pdf" in html and "Download invoice" in html  # the invoice, downloadable
    assert "Professional</strong>, billed monthly." in html and "Renews on " in html
    assert "Professional workspace price, includes 5 seats" in html and "USD 2,000 a month" in html
    assert f'href="/t/{t.tenant.slug}/billing/cancel?return_to=portal">Cancel subscription…</a>' in html
    assert f'href="/t/{t.tenant.slug}/billing">Return to AeroSpec</a>' in html
    assert 'style="' not in html  # CSP: no inline styles


def test_offline_portal_invoice_downloads_a_pdf(client, subscribed, login, tenant_url):
    import re

    t = subscribed
    login(t.admin)
    html = client.get(tenant_url(t.tenant, "billing/portal")).get_data(as_text=True)
    [pdf] = re.findall(r'href="([^"]+\.pdf)"', html)[:1]
    download = client.get(pdf)
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.data.startswith(b"%PDF")


def test_cancel_and_resume_from_the_portal_come_back_to_the_portal(client, db, subscribed, login, tenant_url):
    t = subscribed
    login(t.admin)
    confirm = client.get(tenant_url(t.tenant, "billing/cancel?return_to=portal")).get_data(as_text=True)
    assert "Cancel your Professional subscription?" in confirm
    assert '<input type="hidden" name="return_to" value="portal">' in confirm
    assert f'href="/t/{t.tenant.slug}/billing/portal">Keep my subscription</a>' in confirm

    cancelled = client.post(tenant_url(t.tenant, "billing/cancel"), data={"return_to": "portal"})
    assert cancelled.status_code == 303
    assert cancelled.headers["Location"].endswith(f"/t/{t.tenant.slug}/billing/portal")
    assert _mirror(db, t.tenant).cancel_at_period_end is True
    html = client.get(tenant_url(t.tenant, "billing/portal")).get_data(as_text=True)
    assert "Resume subscription" in html and "becomes read-only" in html

    resumed = client.post(tenant_url(t.tenant, "billing/resume"), data={"return_to": "portal"})
    assert resumed.headers["Location"].endswith(f"/t/{t.tenant.slug}/billing/portal")
    row = _mirror(db, t.tenant)
    assert row.cancel_at_period_end is False and row.status == "active"


def test_the_test_card_is_set_from_the_portal_and_no_other_return_is_honoured(
    client, db, subscribed, login, tenant_url
):
    t = subscribed
    login(t.admin)
    saved = client.post(tenant_url(t.tenant, "billing/test-card"), data={"card": "fails", "return_to": "portal"})
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/t/{t.tenant.slug}/billing/portal")
    assert offline_card.card_outcome(db.session, t.tenant) == "fails"
    html = client.get(tenant_url(t.tenant, "billing/portal")).get_data(as_text=True)
    assert 'value="fails" aria-describedby="test-card-help" checked' in html
    assert "Test card saved: the next payment attempt (renewal, retry or Pay now) is declined." in html

    # SECURITY: return_to names a page of ours, never a URL.
    elsewhere = client.post(
        tenant_url(t.tenant, "billing/test-card"), data={"card": "succeeds", "return_to": "https://evil.example/"}
    )
    assert elsewhere.headers["Location"].endswith(f"/t/{t.tenant.slug}/billing")


def test_portal_without_a_subscription_points_to_the_plans(client, team, login, tenant_url):
    t = team()
    login(t.admin)
    html = client.get(tenant_url(t.tenant, "billing/portal")).get_data(as_text=True)
    assert "no running subscription" in html and "Choose a plan on the billing page" in html
    assert "Cancel subscription" not in html and "Test card" in html


@pytest.mark.parametrize("role", ["user", "viewer"])
def test_only_admins_open_the_portal(client, team, login, tenant_url, bearer, role):
    t = team()
    login(getattr(t, role))
    assert client.get(tenant_url(t.tenant, "billing/portal")).status_code == 403
    assert client.get("/api/billing/portal-session", headers=bearer(getattr(t, role))).status_code == 403


def test_another_tenants_portal_is_not_found(client, team, login, tenant_url):
    mine, theirs = team(), team()
    login(mine.admin)
    assert client.get(tenant_url(theirs.tenant, "billing/portal")).status_code == 404


@pytest.mark.parametrize("status", ["suspended", "read_only", "canceled"])
def test_a_blocked_workspace_still_reaches_its_portal_and_sets_its_card(client, db, team, login, tenant_url, status):
    t = team(subscription_status=status, trial_ends_at=None)
    login(t.admin)
    assert client.get(tenant_url(t.tenant, "billing/portal")).status_code == 200
    saved = client.post(tenant_url(t.tenant, "billing/test-card"), data={"card": "fails", "return_to": "portal"})
    assert saved.status_code == 303
    assert offline_card.card_outcome(db.session, t.tenant) == "fails"


def test_api_portal_session_answers_the_offline_portal_url(client, subscribed, bearer, login):
    t = subscribed
    response = client.get("/api/billing/portal-session", headers=bearer(t.admin))
    assert response.status_code == 200
    assert response.get_json() == {"url": f"http://testserver/t/{t.tenant.slug}/billing/portal"}
    assert response.headers["Cache-Control"] == "no-store"
    login(t.admin)
    page = client.get(response.get_json()["url"].removeprefix("http://testserver"))
    assert page.status_code == 200 and "Offline stand-in." in page.get_data(as_text=True)
