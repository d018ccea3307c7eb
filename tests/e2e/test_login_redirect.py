"""In chromium: logging in from a link with a hostile `next` lands on the dashboard, never on another site
(issue 10: `/login?next=/%09/evil.example/` used to take the browser to evil.example)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.e2e

DASHBOARD = re.compile(r"/t/[^/]+/$")


@pytest.mark.parametrize(
    "query",
    ["/%09/evil.example/", "/%0A/evil.example/", "%2F%5Cevil.example%2F", "/%E3%80%80/evil.example/"],
)
def test_login_with_a_hostile_next_lands_on_the_dashboard(new_page, sign_up, unique_email, live_server, query):
    email = unique_email("next")
    sign_up(new_page(), email, name="Nina Next")

    page = new_page()
    page.goto(f"/login?next={query}")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(DASHBOARD)
    assert urlsplit(page.url).netloc == urlsplit(live_server).netloc

    # Logged in, the same link goes to the dashboard too (it answered 302 to //evil.example/).
    page.goto(f"/login?next={query}")
    expect(page).to_have_url(DASHBOARD)
    assert urlsplit(page.url).netloc == urlsplit(live_server).netloc


def test_login_with_a_next_on_this_site_goes_there(new_page, sign_up, unique_email):
    email = unique_email("next-ok")
    sign_up(new_page(), email, name="Olly Okay")
    page = new_page()
    page.goto("/login?next=/account/security")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url("**/account/security")
