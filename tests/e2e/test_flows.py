"""The main journeys in a real browser: sign-up, invitations, password reset, keyboard login."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.e2e

DASHBOARD = re.compile(r"/t/(?P<slug>[^/]+)/$")


def _slug(page) -> str:
    match = DASHBOARD.search(page.url)
    assert match, f"not on a dashboard: {page.url}"
    return match["slug"]


def _link_from_outbox(page, to: str, subject: str, path: str) -> str:
    """Open the dev outbox, open the newest email to `to` with `subject`, return its link to `path`."""
    page.goto("/dev/outbox")
    expect(page.get_by_role("heading", name="Development outbox")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=to).filter(has_text=subject).first
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Text version")).to_be_visible()
    text = page.locator("pre").first.inner_text()
    match = re.search(rf"(https?://\S+{re.escape(path)}\S+)", text)
    assert match, f"no {path} link in the email text:\n{text}"
    return match[1]


def _log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")


def _log_in(page, email: str, password: str) -> None:
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()


def test_sign_up_lands_on_dashboard_with_trial_banner(new_page, sign_up, unique_email, screenshot):
    page = new_page()
    page.goto("/signup")
    page.get_by_label("Your name", exact=True).fill("Ada Lovelace")
    page.get_by_label("Company", exact=True).fill("Analytical Sprays")
    page.get_by_label("Work email", exact=True).fill(unique_email("ada"))
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create my workspace").click()

    page.wait_for_url(DASHBOARD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytical Sprays")
    expect(page.get_by_role("status", name="Trial status")).to_contain_text("14 days left")
    expect(page.get_by_text("Your 14-day trial has started")).to_be_visible()
    screenshot(page, "a-signup-dashboard")


def test_invited_viewer_joins_and_cannot_edit(new_page, sign_up, unique_email, console_errors, screenshot):
    admin = new_page()
    sign_up(admin, unique_email("admin"), name="Ada Admin", company="Viewer Test Sprays")
    slug = _slug(admin)
    admin.get_by_role("navigation", name="Workspace").get_by_role("link", name="Team").click()
    admin.wait_for_url(f"**/t/{slug}/members")

    viewer_email = unique_email("viewer")
    invite = admin.get_by_role("region", name="Invite a teammate")
    invite.get_by_label("Email", exact=True).fill(viewer_email)
    invite.get_by_label("Role", exact=True).select_option(label="Viewer")
    invite.get_by_role("button", name="Send invitation").click()
    expect(admin.get_by_text(f"Invitation sent to {viewer_email}.")).to_be_visible()
    expect(admin.get_by_role("table", name="Invitations")).to_contain_text(viewer_email)

    viewer = new_page()  # a second browser context: no admin cookies
    link = _link_from_outbox(viewer, viewer_email, "You're invited to Viewer Test Sprays", "/invitations/")
    viewer.goto(link)
    expect(viewer.get_by_role("heading", name="Join Viewer Test Sprays")).to_be_visible()
    viewer.get_by_label("Your name", exact=True).fill("Vic Viewer")
    viewer.get_by_label("Password", exact=True).fill(PASSWORD)
    viewer.get_by_role("button", name="Create account and join").click()
    viewer.wait_for_url(f"**/t/{slug}/")
    expect(viewer.get_by_text("Welcome to Viewer Test Sprays.")).to_be_visible()
    expect(viewer.get_by_role("main")).to_contain_text("You are a viewer")

    viewer.get_by_role("navigation", name="Workspace").get_by_role("link", name="Team").click()
    viewer.wait_for_url(f"**/t/{slug}/members")
    members = viewer.get_by_role("table", name="Members")
    expect(members).to_contain_text("Ada Admin")
    expect(members).to_contain_text("Vic Viewer")
    expect(viewer.get_by_role("combobox", name=re.compile(r"^Role of"))).to_have_count(0)
    expect(viewer.get_by_role("button", name="Change role")).to_have_count(0)
    expect(viewer.get_by_role("button", name="Remove")).to_have_count(0)
    expect(viewer.get_by_role("button", name="Send invitation")).to_have_count(0)
    expect(viewer.locator("#invite-form")).to_have_count(0)
    nav = viewer.get_by_role("navigation", name="Workspace")
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)

    # Typing the settings URL is refused with the 403 page (chromium logs the 403 as a resource error).
    console_errors.allow(r"status of 403")
    response = viewer.goto(f"/t/{slug}/settings")
    assert response is not None and response.status == 403
    expect(viewer.get_by_role("main")).to_contain_text("Your role does not allow this")
    screenshot(viewer, "b-viewer-settings-403")

    admin.reload()
    admin_members = admin.get_by_role("table", name="Members")
    row = admin_members.get_by_role("row").filter(has_text=viewer_email)
    expect(row).to_contain_text("Vic Viewer")
    expect(row.get_by_role("combobox", name="Role of Vic Viewer")).to_have_value("viewer")
    screenshot(admin, "b-admin-team-with-viewer")
    viewer.goto(f"/t/{slug}/members")
    screenshot(viewer, "b-viewer-team")


def test_password_reset_through_outbox(new_page, sign_up, unique_email, console_errors, screenshot):
    email = unique_email("reset")
    new_password = "purple elephant umbrella 42"
    page = new_page()
    sign_up(page, email, name="Rita Reset")
    _log_out(page)

    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Email me a reset link").click()
    expect(page.get_by_role("status").filter(has_text="we have emailed a link")).to_be_visible()

    link = _link_from_outbox(page, email, "Reset your AeroSpec password", "/reset-password/")
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_role("button", name="Set new password").click()
    page.wait_for_url("**/login")
    expect(page.get_by_text("Your password was changed")).to_be_visible()

    _log_in(page, email, new_password)
    page.wait_for_url(DASHBOARD)
    _log_out(page)

    # The refused login answers 422 (the form re-rendered), which chromium logs as a resource error.
    console_errors.allow(r"status of 422")
    _log_in(page, email, PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("That email and password do not match an account.")
    assert "/login" in page.url
    screenshot(page, "c-old-password-refused")


def test_login_form_works_by_keyboard(new_page, sign_up, unique_email, screenshot):
    email = unique_email("keys")
    sign_up(new_page(), email, name="Kim Keys")

    page = new_page()
    page.goto("/login")
    email_box = page.get_by_label("Email", exact=True)
    # Tab from the top of the page until the email field has focus (it may be autofocused already).
    for _ in range(20):
        if email_box.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(email_box).to_be_focused()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    remember = page.get_by_label("Remember me on this device")
    expect(remember).to_be_focused()
    page.keyboard.press("Space")
    expect(remember).to_be_checked()
    page.keyboard.press("Tab")
    submit = page.get_by_role("button", name="Log in", exact=True)
    expect(submit).to_be_focused()
    screenshot(page, "d-login-submit-focused")

    page.keyboard.press("Enter")
    page.wait_for_url(DASHBOARD)
    expect(page.get_by_role("status", name="Trial status")).to_contain_text("14 days left")
    remember_cookie = [c for c in page.context.cookies() if c["name"] == "remember_token"]
    assert remember_cookie, "ticking 'Remember me' by keyboard should set the remember cookie"
    screenshot(page, "d-keyboard-login-dashboard")
