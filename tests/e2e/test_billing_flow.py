"""Issue 5's "Done when" in a real browser: a trial tenant upgrades through the offline checkout, sees its
first invoice, switches to annual billing after a confirmation showing the proration, cancels at period
end and resumes. Screenshots of the billing page (desktop and narrow) and the confirmation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.test_flows import _slug

pytestmark = pytest.mark.e2e


def _trial_ends_tomorrow(live_app, slug: str) -> None:
    """Less than Stripe's 48 h minimum left: nothing to carry over, so the first invoice is issued now."""
    from sqlalchemy import select

    from aerospec.extensions import db
    from aerospec.models import utcnow
    from aerospec.tenancy.models import Tenant

    with live_app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        tenant.trial_ends_at = utcnow() + timedelta(days=1)
        db.session.commit()
        db.session.remove()


def test_trial_tenant_upgrades_sees_invoice_changes_plan_cancels_and_resumes(
    new_page, sign_up, unique_email, screenshot, live_app
):
    page = new_page()
    sign_up(page, unique_email("billing"), name="Bill Admin", company="Billing Flow Sprays")
    slug = _slug(page)
    _trial_ends_tomorrow(live_app, slug)

    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Billing").click()
    page.wait_for_url(re.compile(rf"/t/{slug}/billing$"))
    expect(page.get_by_text("Free trial")).to_be_visible()
    expect(page.locator("progress").first).to_be_visible()
    screenshot(page, "billing-trial-desktop")
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(page, "billing-trial-narrow")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Subscribe to Professional").click()
    page.wait_for_url(re.compile(r"/billing/offline/checkout/cs_offline_"))
    expect(page.get_by_text("AeroSpec Professional plan (monthly)")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    page.wait_for_url(re.compile(rf"/t/{slug}/billing\?checkout=success"))
    expect(page.locator(".billing-summary .badge", has_text="Active")).to_be_visible()
    expect(page.get_by_role("table", name="Invoices").get_by_text("Paid")).to_be_visible()
    screenshot(page, "billing-active-desktop")

    page.get_by_role("navigation", name="Billing interval").get_by_role("link", name=re.compile("Annual")).click()
    page.get_by_role("button", name="Switch to annual billing").click()
    page.wait_for_url(re.compile(rf"/t/{slug}/billing/change\?"))
    expect(page.get_by_role("heading", name="Switch to Professional, billed annually?")).to_be_visible()
    expect(page.get_by_text("Charged now")).to_be_visible()
    screenshot(page, "billing-confirm-change")
    page.get_by_role("button", name="Switch to annual billing").click()
    expect(page.get_by_text("billed annually")).to_be_visible()  # the flash
    expect(page.get_by_text(re.compile(r"Annually, 1 seat"))).to_be_visible()

    page.get_by_role("link", name="Cancel subscription…").click()
    expect(page.get_by_text("becomes read-only", exact=False)).to_be_visible()
    page.get_by_role("button", name="Cancel at the end of the period").click()
    expect(page.get_by_role("link", name="Resume subscription")).to_be_visible()
    page.get_by_role("link", name="Resume subscription").click()
    page.get_by_role("button", name="Resume subscription").click()
    expect(page.get_by_role("link", name="Cancel subscription…")).to_be_visible()
    screenshot(page, "billing-resumed-desktop")
