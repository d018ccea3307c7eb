"""The billing walk in a real browser, checking after every action what the page shows and what it must not:
pricing (logged in, its plan buttons lead to this workspace's billing page) → trial → offline checkout
(the trial carries over) → the page shows the subscription without a reload → a change during the trial
bills nothing → extra seats → cancel → resume. Screenshots at 1440 and 360 px of the pricing and billing
pages in each state."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_flows import _slug

pytestmark = pytest.mark.e2e

WIDTHS = {"desktop": 1440, "narrow": 360}


def _trial_ends_tomorrow(live_app, slug: str) -> None:
    """Less than Stripe's 48 h minimum left: nothing to carry over, so the first invoice is issued now."""
    from datetime import timedelta

    from sqlalchemy import select

    from aerospec.extensions import db
    from aerospec.models import utcnow
    from aerospec.tenancy.models import Tenant

    with live_app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        tenant.trial_ends_at = utcnow() + timedelta(days=1)
        db.session.commit()
        db.session.remove()


def _shots(page, screenshot, name: str) -> None:
    """Both widths, and no sideways scrolling at 360 px."""
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        if width == 360:
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at 360 px"
        screenshot(page, f"{name}-{label}")
    page.set_viewport_size({"width": 1280, "height": 900})


def _summary(page):
    return page.locator("#billing-summary")


def test_pricing_trial_checkout_change_seats_cancel_resume_each_shown_at_once(
    new_page, sign_up, unique_email, screenshot, live_app, console_errors
):
    console_errors.allow(r"billing/seats: Failed to load resource: .* 422")  # the typed mistake, on purpose
    page = new_page()
    sign_up(page, unique_email("billing"), name="Bill Admin", company="Billing Flow Sprays")
    slug = _slug(page)

    # The trial banner leads to the billing page, not to /pricing; /pricing leads there too.
    page.goto("/pricing")
    expect(page.get_by_text("Choosing for your workspace")).to_be_visible()
    expect(page.locator(".plan-cta").get_by_role("link", name=re.compile("^Start free trial"))).to_have_count(0)
    expect(page.locator("#coming-soon")).to_contain_text("Single sign-on")
    _shots(page, screenshot, "pricing-logged-in")
    page.get_by_role("link", name=re.compile(r"^Choose Professional")).click()
    page.wait_for_url(re.compile(rf"/t/{slug}/billing\?interval=month#plan-professional$"))

    summary = _summary(page)
    expect(summary.locator(".badge")).to_have_text("Free trial")
    expect(summary).to_contain_text("14 days left: ends on")
    expect(page.get_by_role("status", name="Trial status")).to_contain_text("Trial: 14 days left.")
    expect(summary).not_to_contain_text("13 days")
    expect(summary).not_to_contain_text("First charge")
    expect(page.locator("#plan-professional")).to_contain_text("USD 2,000 a month for the workspace")
    expect(page.locator("#plan-professional")).to_contain_text(
        "Includes 5 seats. Extra seats: USD 400 per seat a month."
    )
    _shots(page, screenshot, "billing-trial")

    # Checkout: the workspace price once; the trial carries over, nothing due today.
    page.get_by_role("button", name="Subscribe to Professional").click()
    page.wait_for_url(re.compile(r"/billing/offline/checkout/cs_offline_"))
    expect(page.get_by_text("AeroSpec Professional plan (monthly), workspace price, includes 5 seats")).to_be_visible()
    expect(page.get_by_text("USD 0.00").first).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    page.wait_for_url(re.compile(rf"/t/{slug}/billing\?checkout=success"))
    # No reload: the page the payer lands on already shows the subscription.
    expect(page.get_by_text("Thank you.")).to_be_visible()
    # One reading of the state: subscribed, and the trial still running (not "Active" beside "14 days left").
    expect(summary.locator(".badge")).to_have_text("Subscribed, trial running")
    expect(summary).not_to_contain_text("Active")
    expect(summary).to_contain_text("First charge USD 2,000 on")
    expect(summary).not_to_contain_text("Free trial")
    expect(page.get_by_text("Confirming your payment")).to_have_count(0)
    expect(page.get_by_role("status", name="Trial status")).to_have_count(0)
    _shots(page, screenshot, "billing-subscribed-in-trial")

    # Monthly → annual during the trial: nothing charged or credited; the card says annual at once.
    page.get_by_role("navigation", name="Billing interval").get_by_role("link", name=re.compile("Annual")).click()
    page.get_by_role("button", name="Switch to annual billing").click()
    page.wait_for_url(re.compile(rf"/t/{slug}/billing/change\?"))
    expect(page.locator("#estimate-summary")).to_contain_text("No charge now; from")
    expect(page.locator("#estimate-summary")).to_contain_text("you will pay USD 21,600 a year")
    expect(page.get_by_text("(credit)")).to_have_count(0)
    expect(page.get_by_text("Charged now")).to_have_count(0)
    _shots(page, screenshot, "billing-confirm-in-trial")
    page.get_by_role("button", name="Switch to annual billing").click()
    expect(page.get_by_text(re.compile(r"Done: Your plan is now Professional, billed annually"))).to_be_visible()
    expect(summary).to_contain_text("Billed annually")
    expect(summary).to_contain_text("First charge USD 21,600 on")
    expect(summary).not_to_contain_text("USD 2,000 a month")
    expect(page.get_by_role("table", name="Invoices")).to_have_count(0)  # still nothing billed

    # Two extra seats: the price and the trial rule first, then the card and the seat count at once.
    page.get_by_label("Extra seats").fill("2")
    page.get_by_role("button", name="Review the seat change…").click()
    expect(page.get_by_role("heading", name="Change to 2 extra seats?")).to_be_visible()
    expect(page.locator("#estimate-summary")).to_contain_text("you will pay USD 30,240 a year")  # 21,600 + 2 × 4,320
    page.get_by_role("button", name="Change to 2 extra seats").click()
    expect(summary).to_contain_text("2 extra seats × USD 4,320")
    expect(summary).to_contain_text("of 7 (5 included + 2 extra)")
    expect(summary).to_contain_text("First charge USD 30,240 on")
    _shots(page, screenshot, "billing-annual-with-seats")

    # A typed mistake is said at the field, and nothing changes.
    page.get_by_label("Extra seats").fill("-3")
    page.evaluate("document.getElementById('extra-seats').removeAttribute('min')")
    page.get_by_role("button", name="Review the seat change…").click()
    expect(page.locator("#extra-seats-error")).to_contain_text("Enter a whole number of extra seats")
    expect(page.get_by_label("Extra seats")).to_have_value("-3")
    expect(summary).to_contain_text("(5 included + 2 extra)")

    # Cancel: the card says it ends, offers Resume, and no longer says it charges.
    page.goto(f"/t/{slug}/billing")
    page.get_by_role("link", name="Cancel subscription…").click()
    expect(page.get_by_text("becomes read-only", exact=False)).to_be_visible()
    page.get_by_role("button", name="Cancel at the end of the period").click()
    expect(page.get_by_text(re.compile("Done: Your subscription ends at the end of this period"))).to_be_visible()
    expect(page.get_by_role("link", name="Resume subscription")).to_be_visible()
    expect(summary).to_contain_text("nothing more is charged")
    expect(summary).not_to_contain_text("First charge")
    expect(page.get_by_role("link", name="Cancel subscription…")).to_have_count(0)
    _shots(page, screenshot, "billing-cancelled")

    # Resume: renewing again, no Resume button, in the same response as the message.
    page.get_by_role("link", name="Resume subscription").click()
    page.get_by_role("button", name="Resume subscription").click()
    expect(page.get_by_text(re.compile("Done: Your subscription is resumed"))).to_be_visible()
    expect(page.get_by_role("link", name="Cancel subscription…")).to_be_visible()
    expect(page.get_by_role("link", name="Resume subscription")).to_have_count(0)
    expect(summary).not_to_contain_text("set to end")
    expect(summary).to_contain_text("First charge USD 30,240 on")
    _shots(page, screenshot, "billing-resumed")


def test_logged_out_pricing_and_landing_at_both_widths(new_page, screenshot):
    page = new_page()
    page.goto("/pricing")
    expect(page.locator(".plan-cta").get_by_role("link", name=re.compile("^Start free trial"))).to_have_count(2)
    expect(page.locator("#coming-soon .badge-soon").first).to_be_visible()
    _shots(page, screenshot, "pricing-logged-out")
    page.goto("/pricing?interval=year")
    expect(page.locator(".plan-card-featured")).to_contain_text("Billed USD 21,600 a year")
    _shots(page, screenshot, "pricing-annual")
    page.goto("/")
    _shots(page, screenshot, "landing")
