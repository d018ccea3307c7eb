"""Test mode is said, never hidden (issue 9 item 18): while payments, email or suppliers are simulated, every
page (logged out and in) carries a banner naming each one, and quotes from the supplier sandbox are labelled
"Sandbox quote"; "live" is said only of real suppliers."""

from __future__ import annotations

import re

from tests.procurement.test_views import COSTER, HX, SPENCER, catalog, config, quote_url  # noqa: F401 - fixtures
from tests.web.test_csrf import logged_in

PAYMENTS, EMAIL, SUPPLIERS = "no card is charged", "Emails are not sent", "go to the supplier sandbox"
REAL = {
    "STRIPE_SECRET_KEY": "sk_test_real",
    "SMTP_URL": "smtp://mail.example.com:587",
    "SUPPLIER_SPENCER_URL": "https://api.spencer.example/v1",
    "SUPPLIER_COSTER_URL": "https://api.coster.example",
}


def _banner(html: str) -> str | None:
    match = re.search(r'<aside class="test-mode-banner".*?</aside>', html, re.S)
    return match.group(0) if match else None


def test_logged_out_pages_carry_the_banner_naming_everything_simulated(client):
    for path in ("/", "/pricing", "/login", "/signup"):
        banner = _banner(client.get(path).get_data(as_text=True))
        assert banner is not None, path
        assert "Test mode." in banner and PAYMENTS in banner and EMAIL in banner and SUPPLIERS in banner


def test_tenant_pages_carry_the_banner_too(client, login, team, tenant_url):
    t = team()
    login(t.viewer)
    for path in ("", "configurations", "procurements"):
        assert _banner(client.get(tenant_url(t.tenant, path)).get_data(as_text=True)) is not None, path


def test_the_banner_names_only_what_is_simulated(build_app, client):
    only_email_real = build_app(SMTP_URL=REAL["SMTP_URL"]).test_client()
    banner = _banner(only_email_real.get("/").get_data(as_text=True))
    assert PAYMENTS in banner and SUPPLIERS in banner and EMAIL not in banner

    all_real = build_app(**REAL).test_client()
    assert _banner(all_real.get("/").get_data(as_text=True)) is None
    assert "Test mode" not in all_real.get("/pricing").get_data(as_text=True)


def test_explicit_choices_show_the_banner_even_with_real_keys(build_app):
    chosen = build_app(**REAL, BILLING_PROVIDER="offline", EMAIL_BACKEND="outbox", SUPPLIERS="sandbox").test_client()
    banner = _banner(chosen.get("/").get_data(as_text=True))
    assert PAYMENTS in banner and EMAIL in banner and SUPPLIERS in banner


def test_sandbox_quotes_are_labelled_sandbox_and_never_live(client, login, catalog, config, tenant_url):  # noqa: F811
    t = config
    login(t.user)
    card = client.get(quote_url(tenant_url, t, "spencer", qty=100, sku=[SPENCER, COSTER]), headers=HX)
    html = card.get_data(as_text=True)
    assert card.status_code == 200 and "Sandbox quote" in html
    page = client.get(tenant_url(t.tenant, f"configurations/{t.config.id}")).get_data(as_text=True)
    assert "Sandbox prices, stock and lead times" in page
    assert "Live prices" not in page


def test_real_suppliers_are_called_live_and_not_sandbox(build_app, db, config, tenant_url):  # noqa: F811
    t = config
    browser = logged_in(build_app(**REAL), db, t.user)
    page = browser.get(tenant_url(t.tenant, f"configurations/{t.config.id}")).get_data(as_text=True)
    assert "Live prices, stock and lead times from Spencer and Coster" in page
    assert "Sandbox" not in page
