"""In chromium: the htmx login form refused by the flood limit (429) stays, with the email typed and the wait
message announced, and the person gets in once the limit has passed (issue 10)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, serve_live

pytestmark = pytest.mark.e2e

TOO_MANY = "Too many attempts. Wait a minute and try again."
# htmx swaps the answer in after the response arrives (outerHTML, then a settle step): typing before the swap
# ends types into the form on its way out, and the next post goes without the password.
IN_FLIGHT = re.compile(r"htmx-(request|swapping|settling)")


def _settled(form) -> None:
    expect(form).not_to_have_class(IN_FLIGHT)


@pytest.fixture(scope="module")
def flood_server(tmp_path_factory, sandbox_server):
    """A live server of its own with the per-address flood limits on, as in production (10 login posts a minute).

    The shared live server runs without them: every e2e test logs in from 127.0.0.1."""
    from aerospec.extensions import limiter

    previous = limiter.enabled
    yield from serve_live(tmp_path_factory, sandbox_server, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    limiter.enabled = previous  # one Limiter serves every app of the test session


@pytest.fixture
def flood_limit_on(flood_server):
    """The flood limits on (another app built since may have switched the shared Limiter off), counts fresh."""
    from aerospec.extensions import limiter

    previous, limiter.enabled = limiter.enabled, True
    limiter.reset()
    try:
        yield limiter
    finally:
        limiter.enabled = previous
        limiter.reset()


def test_a_flooded_login_keeps_the_email_shows_the_wait_and_logs_in_after_it(
    new_page, sign_up, unique_email, flood_server, flood_limit_on, screenshot, console_errors
):
    email = unique_email("flood")
    sign_up(new_page(flood_server.base_url), email, name="Fran Flood")
    console_errors.allow(r"status of (422|429)")  # the browser logs each refused POST; the form says why

    page = new_page(flood_server.base_url)
    page.goto("/login")
    form = page.locator("#login-form")
    page.get_by_label("Email", exact=True).fill(email)
    for n in range(10):  # ten wrong passwords: each answer is the form again, the email still there
        page.get_by_label("Password", exact=True).fill(f"wrong guess number {n}")
        with page.expect_response(lambda r: r.request.method == "POST" and "/login" in r.url) as answer:
            page.get_by_role("button", name="Log in", exact=True).click()
        assert answer.value.status == 422
        _settled(form)
        expect(form.get_by_role("alert")).to_contain_text("That email and password do not match an account.")

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    with page.expect_response(lambda r: r.request.method == "POST" and "/login" in r.url) as answer:
        page.get_by_role("button", name="Log in", exact=True).click()
    assert answer.value.status == 429
    assert answer.value.headers.get("retry-after")
    _settled(form)
    alert = form.get_by_role("alert")
    expect(alert).to_have_text(re.compile(re.escape(TOO_MANY)))
    expect(page.get_by_label("Email", exact=True)).to_have_value(email)  # the typed email survives the swap
    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    assert page.url.endswith("/login")
    screenshot(page, "login-flooded")

    # The minute passes (the limiter's counts cleared); the same form, as it stands, logs in.
    flood_limit_on.reset()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(re.compile(r"/t/[^/]+/$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
