"""No Content-Security-Policy violation when htmx swaps a form with errors back in.

The walk counted about 5 "Applying inline style violates … style-src 'self'" per such swap: htmx's settle
step copied each old element's style attribute onto its replacement with setAttribute, and the old
inputs carried inline styles a browser or password manager had put there through the CSSOM (which the
CSP allows). Each form below gets the same treatment before it is submitted with errors; the e2e
conftest records every violation on every page (and fails the test on any), and each step checks
at once that it caused none and that the person sees the error messages.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD
from tests.e2e.test_core_flow import _fill_targets, _wait_for_param
from tests.e2e.test_flows import _slug

pytestmark = pytest.mark.e2e

# What an autofill or a password manager does to the inputs it touches: inline styles through the CSSOM.
MARK_INPUTS = """() => {
  let n = 0;
  for (const el of document.querySelectorAll('form, form [id]')) {
    el.style.backgroundImage = 'none';
    el.style.paddingRight = '2rem';
    n += 1;
  }
  return n;
}"""
ERRORS = ".field-error, .form-errors"


def _submit_with_errors(page, console_errors, step: str, submit, where=None) -> None:
    """Mark the inputs, submit, see the error messages, and find no CSP violation."""
    assert page.evaluate(MARK_INPUTS) > 0, f"{step}: no form on {page.url}"
    submit()
    expect((where or page).locator(ERRORS).first).to_be_visible()
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling')")
    assert console_errors.csp == [], f"{step}: {console_errors.csp}"


def _fill_and_press(region, fields: dict[str, str], button: str):
    """A submit step: fill each labelled field, then press the button."""

    def submit() -> None:
        for label, value in fields.items():
            region.get_by_label(label, exact=True).fill(value)
        region.get_by_role("button", name=re.compile(rf"^{re.escape(button)}")).click()

    return submit


def test_the_violation_listener_reports_an_inline_style(new_page, console_errors):
    """The check below can fail: an inline style attribute on any page is recorded as a violation."""
    console_errors.allow(r"violates the following Content Security Policy directive")
    page = new_page()
    page.goto("/login")
    page.evaluate("() => document.body.setAttribute('style', 'color: red')")
    for _ in range(40):  # the report crosses from the page to the test asynchronously
        if console_errors.csp:
            break
        page.wait_for_timeout(50)
    reported = console_errors.take_csp()
    assert len(reported) == 1 and "style-src-attr" in reported[0] and "/login" in reported[0], reported


def test_forms_with_errors_swap_back_without_csp_violations(new_page, sign_up, unique_email, console_errors):
    console_errors.allow(r"status of 4(00|22)")  # the error answers themselves, which htmx swaps in
    visitor = new_page()
    for path, step, fields, button in (
        ("/signup", "sign-up", {"Work email": "not-an-email"}, "Create my workspace"),
        ("/login", "login", {"Email": "nobody@example.com", "Password": "wrong password"}, "Log in"),
    ):
        visitor.goto(path)
        _submit_with_errors(visitor, console_errors, step, _fill_and_press(visitor, fields, button))

    page = new_page()
    sign_up(page, unique_email("csp"))
    t = f"/t/{_slug(page)}"
    steps = (
        (f"{t}/fluids/new", "fluid", None, {}, "Save fluid"),
        (f"{t}/members", "invite", "Invite a teammate", {"Email": "not-an-email"}, "Send invitation"),
        (f"{t}/settings", "settings", None, {"Workspace name": ""}, "Save settings"),
        (
            "/account/security",
            "change password",
            None,
            {"Current password": "not " + PASSWORD, "New password": "lichen quartz trombone 77"},
            "Change password",
        ),
        # A plain form post: the whole page comes back with the errors.
        (f"{t}/procurements/new", "order", None, {}, "Save draft order"),
    )
    for path, step, region, fields, button in steps:
        page.goto(path)
        where = page.get_by_role("region", name=region) if region else page
        _submit_with_errors(page, console_errors, step, _fill_and_press(where, fields, button))

    # The wizard: its targets swap the results in as they are typed; its save panel swaps itself.
    page.goto(f"{t}/configurations/new")
    page.locator("#fluid-list").get_by_role("link", name="Ethanol", exact=True).click()
    page.wait_for_url(re.compile(r"step=targets"))
    results = page.locator("#wizard-results")
    _submit_with_errors(
        page, console_errors, "wizard targets", lambda: _fill_targets(page, "-1", "abc", "40", "50"), where=results
    )
    _fill_targets(page, "5", "60", "40", "50")
    _wait_for_param(page, "step", "results")
    save = page.locator("#save-panel")
    expect(save.get_by_role("button", name=re.compile(r"^Save with the top"))).to_be_visible()
    save.get_by_label("Configuration name", exact=False).fill("")
    _submit_with_errors(
        page,
        console_errors,
        "save configuration",
        lambda: save.get_by_role("button", name=re.compile(r"^Save with the top")).click(),
        where=save,
    )
