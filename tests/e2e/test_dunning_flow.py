"""Issue 5's "a failing payment walks the dunning path with its emails", in a real browser: a tenant subscribes
through the offline checkout, sets its test card to fail, and the clock moves past the period's end (the
live server's clock too: it runs in this process, so time_machine moves it). The hourly offline billing
cycle fails the renewal → past due with the grace banner and the payment-failed email; the retries on day 3
and the daily job on day 7 → read-only (a create action answers the 402 message); the third failure on
day 8 → suspended. The admin sets the card to succeed and presses "Pay now" → active, banner gone, the
"restored" email. Screenshots of each banner."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD
from tests.e2e.test_billing_flow import _trial_ends_tomorrow
from tests.e2e.test_flows import _log_in, _slug

pytestmark = pytest.mark.e2e

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
COMPANY = "Dunning Flow Sprays"


def _period_end(live_app, slug: str) -> datetime:
    from sqlalchemy import select

    from aerospec.billing.models import BillingSubscription
    from aerospec.extensions import db
    from aerospec.tenancy.models import Tenant
    from aerospec.tenancy.scoping import tenant_scope

    with live_app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        with tenant_scope(db.session, tenant.id):
            end = db.session.scalar(
                select(BillingSubscription.current_period_end).where(BillingSubscription.tenant_id == tenant.id)
            )
        db.session.remove()
    return end


def _run_cycle(live_app, now: datetime) -> dict:
    """The hourly offline billing job, as the scheduler would run it at `now`, in the live app."""
    from aerospec.extensions import db
    from jobs.billing import run_offline_billing_cycle

    with live_app.app_context():
        try:
            return run_offline_billing_cycle(now=now)
        finally:
            db.session.remove()


def _run_daily_tick(live_app, now: datetime) -> None:
    from aerospec.extensions import db
    from jobs.lifecycle import daily_billing_tick

    with live_app.app_context():
        try:
            daily_billing_tick(now=now)
        finally:
            db.session.remove()


def _open_billing(page, slug: str, email: str) -> None:
    """The billing page; after a long jump in time the login has lapsed, so log in again first."""
    page.goto(f"/t/{slug}/billing")
    if "/login" in page.url:
        _log_in(page, email, PASSWORD)
        page.wait_for_url(lambda url: "/login" not in url)
        page.goto(f"/t/{slug}/billing")
    expect(page.get_by_role("heading", name="Billing", level=1)).to_be_visible()


def _expect_email(page, to: str, subject: str) -> None:
    page.goto("/dev/outbox")
    expect(page.get_by_role("heading", name="Development outbox")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=to).filter(has_text=subject).first).to_be_visible()


def test_a_failing_card_walks_past_due_read_only_suspended_and_pay_now_restores(
    new_page, sign_up, unique_email, screenshot, live_app, console_errors
):
    # A refused create answers 402, which chromium logs as a failed resource load.
    console_errors.allow(r"status of 402")
    email = unique_email("dunning")
    page = new_page()
    sign_up(page, email, name="Dana Admin", company=COMPANY)
    slug = _slug(page)
    _trial_ends_tomorrow(live_app, slug)

    # Subscribe through the offline checkout.
    _open_billing(page, slug, email)
    page.get_by_role("button", name="Subscribe to Professional").click()
    page.wait_for_url(re.compile(r"/billing/offline/checkout/cs_offline_"))
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    page.wait_for_url(re.compile(rf"/t/{slug}/billing\?checkout=success"))
    expect(page.locator(".billing-summary .badge", has_text="Active")).to_be_visible()

    # The admin makes the workspace's test card fail.
    card = page.get_by_role("group", name="Test card")
    card.get_by_label("Fails (card declined)").check()
    page.get_by_role("button", name="Save test card").click()
    expect(
        page.get_by_text("Test card saved: the next payment attempt (renewal, retry or Pay now) is declined.")
    ).to_be_visible()
    expect(page.get_by_role("group", name="Test card").get_by_label("Fails (card declined)")).to_be_checked()
    banner = page.get_by_role("status", name="Billing status")
    expect(banner).to_have_count(0)

    day0 = _period_end(live_app, slug) + HOUR
    # Day 0: the period ended an hour ago; the renewal's payment fails.
    with time_machine.travel(day0, tick=True):
        assert _run_cycle(live_app, day0).get("renewal_failed") == 1
        _open_billing(page, slug, email)
        expect(banner).to_contain_text("Payment failed: 7 days left to pay.")
        expect(banner).to_contain_text("becomes read-only")
        expect(page.locator(".billing-summary .badge", has_text="Payment overdue (grace period)")).to_be_visible()
        due = page.get_by_role("region", name="Payment due")
        expect(due).to_contain_text("after 1 failed payment attempt.")
        expect(page.get_by_role("table", name="Invoices").get_by_text("Payment failed")).to_be_visible()
        screenshot(page, "dunning-past-due-desktop")
        page.set_viewport_size({"width": 360, "height": 800})
        screenshot(page, "dunning-past-due-narrow")
        page.set_viewport_size({"width": 1280, "height": 900})
        _expect_email(page, email, f"Payment failed for {COMPANY}: update your payment method")

    # Day 3: the first retry fails too; still in the grace period.
    with time_machine.travel(day0 + 3 * DAY, tick=True):
        assert _run_cycle(live_app, day0 + 3 * DAY).get("retried_failed") == 1
        _open_billing(page, slug, email)
        expect(banner).to_contain_text("Payment failed: 4 days left to pay.")
        expect(page.get_by_role("region", name="Payment due")).to_contain_text("after 2 failed payment attempts.")

    # Day 7: the grace is over (the daily lifecycle job): read-only, and creating is refused.
    with time_machine.travel(day0 + 7 * DAY, tick=True):
        _run_daily_tick(live_app, day0 + 7 * DAY)
        _open_billing(page, slug, email)
        expect(banner).to_contain_text("Workspace is read-only.")
        screenshot(page, "dunning-read-only-desktop")
        page.goto(f"/t/{slug}/members")
        page.get_by_label("Email").fill(unique_email("newcomer"))
        page.get_by_role("button", name="Send invitation").click()
        refusal = page.get_by_role("alert").filter(has_text="Workspace is read-only.")
        expect(refusal).to_contain_text("you can still view and export")
        expect(refusal.get_by_role("link", name="Go to the billing page")).to_be_visible()
        screenshot(page, "dunning-read-only-refused")
        _expect_email(page, email, f"{COMPANY} is now read-only: payment overdue")

    # Day 8: the third attempt fails: suspended.
    with time_machine.travel(day0 + 8 * DAY, tick=True):
        assert _run_cycle(live_app, day0 + 8 * DAY).get("retried_failed") == 1
        _open_billing(page, slug, email)
        expect(banner).to_contain_text("Workspace suspended.")
        expect(page.get_by_role("region", name="Payment due")).to_contain_text("No further automatic attempts")
        screenshot(page, "dunning-suspended-desktop")
        _expect_email(page, email, f"{COMPANY} is suspended: payment overdue")

        # The admin sets the card to succeed and pays.
        _open_billing(page, slug, email)
        page.get_by_role("group", name="Test card").get_by_label("Succeeds").check()
        page.get_by_role("button", name="Save test card").click()
        expect(page.get_by_text("Test card saved: the next payment attempt goes through.")).to_be_visible()
        page.get_by_role("region", name="Payment due").get_by_role("button", name="Pay now").click()
        expect(page.get_by_text("Payment received: the workspace is fully active again.")).to_be_visible()
        expect(page.locator(".billing-summary .badge", has_text="Active")).to_be_visible()
        expect(banner).to_have_count(0)
        expect(page.get_by_role("region", name="Payment due")).to_have_count(0)
        screenshot(page, "dunning-restored-desktop")
        _expect_email(page, email, f"Payment received: {COMPANY} is fully active again")
