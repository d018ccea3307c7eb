"""The test-mode banner in a real browser (issue 9 item 18): logged out and in, at 360 and 1440 px, it
names what is simulated, fits the width, and the test sandbox's quotes are labelled as such."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_every_page_says_test_mode_at_both_widths(new_page, sign_up, unique_email, screenshot):
    from playwright.sync_api import expect

    page = new_page()
    for width in (1440, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/")
        banner = page.get_by_role("note", name="Test mode")
        expect(banner).to_contain_text("Payments are simulated: no card is charged.")
        expect(banner).to_contain_text("Emails are not sent")
        expect(banner).to_contain_text("Quotes and orders go to the supplier sandbox, not to Spencer or Coster.")
        assert _overflow(page) <= 0, f"landing scrolls sideways at {width} px"
        screenshot(page, f"test-mode-landing-{width}")

    page.set_viewport_size({"width": 1440, "height": 900})
    sign_up(page, unique_email("banner"))
    for width in (1440, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        expect(page.get_by_role("note", name="Test mode")).to_be_visible()
        assert _overflow(page) <= 0, f"dashboard scrolls sideways at {width} px"
        screenshot(page, f"test-mode-dashboard-{width}")
