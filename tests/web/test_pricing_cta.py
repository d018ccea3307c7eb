"""Where the pricing page's calls to action lead: logged out, to signup; logged in, an admin to the current
workspace's billing page (the trial banner too), and anyone else is told which admins to ask."""

from __future__ import annotations

import re


def ctas(html: str) -> list[str]:
    return re.findall(r'<div class="plan-cta">(.*?)</div>', html, re.S)


def test_logged_out_every_plan_leads_to_signup_or_sales(client):
    html = client.get("/pricing").get_data(as_text=True)
    starter, professional, enterprise = ctas(html)
    assert 'href="/signup"' in starter and 'href="/signup"' in professional
    assert "mailto:" in enterprise
    assert "Start your free trial" in html


def test_logged_in_an_admin_is_sent_to_the_workspaces_billing_page_never_to_signup(client, team, login):
    t = team(name="Acme Sprays")
    login(t.admin)
    for interval in ("month", "year"):
        html = client.get(f"/pricing?interval={interval}").get_data(as_text=True)
        starter, professional, enterprise = ctas(html)
        assert f'href="/t/{t.tenant.slug}/billing?interval={interval}#plan-starter"' in starter
        assert f'href="/t/{t.tenant.slug}/billing?interval={interval}#plan-professional"' in professional
        assert "mailto:" in enterprise
        assert "/signup" not in "".join(ctas(html)) and "Start your free trial" not in html
        assert "Choosing for your workspace <strong>Acme Sprays</strong>" in html
    # The billing page it leads to has the plan's card under that anchor.
    billing = client.get(f"/t/{t.tenant.slug}/billing?interval=year").get_data(as_text=True)
    assert 'id="plan-professional"' in billing and "Subscribe to Professional" in billing


def test_the_trial_banner_goes_straight_to_the_billing_page(client, team, login, tenant_url):
    t = team()
    login(t.admin)
    html = client.get(tenant_url(t.tenant, "")).get_data(as_text=True)
    assert f'<a href="/t/{t.tenant.slug}/billing#plan-choice">Choose a plan</a>' in html
    assert 'href="/pricing">Choose a plan' not in html


def test_members_who_are_not_admins_are_told_which_admins_to_ask(client, team, login, tenant_url):
    t = team(name="Beta Mist")
    login(t.user)
    html = client.get("/pricing").get_data(as_text=True)
    for cta in ctas(html):
        assert "/billing" not in cta and "/signup" not in cta
        assert f"Only a workspace admin can choose the plan of Beta Mist: ask {t.admin.name} ({t.admin.email})." in cta
    banner = client.get(tenant_url(t.tenant, "")).get_data(as_text=True)
    assert f"Ask {t.admin.name} ({t.admin.email}) to choose a plan." in banner


def test_the_workspace_is_one_of_the_users_own(client, team, factories, login, db):
    mine, other, stranger = team(name="Alpha"), team(name="Zulu"), team(name="Hidden")
    factories.member(other.tenant, "admin", user=mine.admin)
    db.session.commit()
    login(mine.admin)
    chosen = client.get(f"/pricing?workspace={other.tenant.slug}").get_data(as_text=True)
    assert f'href="/t/{other.tenant.slug}/billing?interval=month#plan-professional"' in chosen
    assert f"/pricing?workspace={mine.tenant.slug}" in chosen  # the other workspace, one click away
    # SECURITY: naming a workspace the user is not in falls back to their own.
    probe = client.get(f"/pricing?workspace={stranger.tenant.slug}").get_data(as_text=True)
    assert stranger.tenant.slug not in probe and "Hidden" not in probe
    assert f'href="/t/{mine.tenant.slug}/billing?interval=month#plan-professional"' in probe


def test_an_annual_subscriber_sees_annual_prices_and_can_still_switch_to_monthly(client, team, login, tenant_url):
    """The pricing page showed monthly prices to an annual subscriber; now it opens on the interval they pay by."""
    t = team(name="Yearly Sprays")
    login(t.admin)
    start = client.post(tenant_url(t.tenant, "billing/plan"), data={"plan": "professional", "interval": "year"})
    client.post(start.headers["Location"].removeprefix("http://testserver"), data={"outcome": "pay"})
    html = client.get("/pricing").get_data(as_text=True)
    assert re.search(r'id="interval-year"[^>]*aria-current="page"', html, re.S)
    assert "Billed USD 21,600 a year" in html
    assert "Choosing for your workspace <strong>Yearly Sprays</strong>, on annual billing" in html
    monthly = client.get("/pricing?interval=month").get_data(as_text=True)
    assert re.search(r'id="interval-month"[^>]*aria-current="page"', monthly, re.S)
    assert "Billed USD 21,600 a year" not in monthly
    # Without a subscription the page opens on monthly prices, as before.
    login(team(name="Trial Sprays").admin)
    assert re.search(
        r'id="interval-month"[^>]*aria-current="page"', client.get("/pricing").get_data(as_text=True), re.S
    )
