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


@pytest.fixture
def sign_in_policy_on(live_app):
    """The live server with the sign-in policy on (fresh counts), as in production; off again afterwards."""
    from aerospec.accounts import login_policy

    guard = live_app.extensions["aerospec_login_policy"]
    previous = guard.enabled, guard.store
    guard.enabled, guard.store = True, login_policy.MemoryStore()
    try:
        yield guard
    finally:
        guard.enabled, guard.store = previous


def test_throttled_login_says_when_to_try_again_and_the_owners_browser_still_gets_in(
    new_page, sign_up, unique_email, sign_in_policy_on, screenshot, console_errors
):
    from aerospec.accounts.login_policy import TooManyAttempts

    email = unique_email("throttled")
    owner = new_page()
    sign_up(owner, email, name="Tess Throttle")  # this browser is remembered
    owner.get_by_role("button", name="Log out").click()
    owner.wait_for_url("**/login")

    # An attack from elsewhere: 12 wrong passwords, each as soon as it was allowed (the clock moved on
    # by each wait), so the next attempt must wait minutes.
    import time

    now = time.time()
    for n in range(12):
        try:
            attempt = sign_in_policy_on.begin(email=email, ip=f"203.0.113.{n}", device_cookie=None, now=now)
        except TooManyAttempts as early:
            now += early.retry_after
            attempt = sign_in_policy_on.begin(email=email, ip=f"203.0.113.{n}", device_cookie=None, now=now)
        sign_in_policy_on.failed(attempt)

    console_errors.allow(r"status of 429")  # the browser logs the refused POST; the form shows why
    attacker = new_page()
    attacker.goto("/login")
    attacker.get_by_label("Email", exact=True).fill(email)
    attacker.get_by_label("Password", exact=True).fill(PASSWORD)
    with attacker.expect_response(lambda r: r.request.method == "POST" and "/login" in r.url) as answer:
        attacker.get_by_role("button", name="Log in", exact=True).click()
    assert answer.value.status == 429
    assert answer.value.headers["retry-after"]
    expect(attacker.get_by_text(re.compile(r"Too many sign-in attempts\. Try again in \d+ minutes?\."))).to_be_visible()
    expect(attacker.get_by_label("Email", exact=True)).to_have_value(email)  # the form stays, input kept
    screenshot(attacker, "login-throttled")

    owner.get_by_label("Email", exact=True).fill(email)
    owner.get_by_label("Password", exact=True).fill(PASSWORD)
    owner.get_by_role("button", name="Log in", exact=True).click()
    owner.wait_for_url(DASHBOARD)
