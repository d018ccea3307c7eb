"""The impersonation banner counts down in the browser (issue 13): from the server's figure, telling screen
readers at 5 minutes and 1 minute left (a polite live region, not the ticking text), and at zero it says the
impersonation ended with a link back to the console. The browser's clock is Playwright's (fast-forwarded);
the server's end comes from the row's expiry, moved as time would have moved it."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_console_flow import ADMIN_PASSWORD, _make_admin
from tests.e2e.test_flows import _log_in

pytestmark = pytest.mark.e2e


def _user_id(live_app, email: str):
    from aerospec.accounts import services as accounts
    from aerospec.extensions import db

    with live_app.app_context():
        user_id = accounts.get_user_by_email(db.session, email).id
        db.session.remove()
    return user_id


def _set_expiry(live_app, user_id, seconds_from_now: float) -> None:
    """Move the running impersonation's expiry (as a short impersonation, or time passing, would)."""
    from sqlalchemy import select

    from aerospec.admin.models import Impersonation
    from aerospec.extensions import db
    from aerospec.models import utcnow

    with live_app.app_context():
        imp = db.session.scalar(
            select(Impersonation).where(Impersonation.user_id == user_id, Impersonation.ended_at.is_(None))
        )
        imp.expires_at = utcnow() + timedelta(seconds=seconds_from_now)
        db.session.commit()
        db.session.remove()


def _ends(live_app, user_id) -> list[str]:
    from sqlalchemy import select

    from aerospec.admin.models import AdminAuditLog
    from aerospec.extensions import db

    with live_app.app_context():
        hows = [
            e.details["how"]
            for e in db.session.scalars(select(AdminAuditLog).where(AdminAuditLog.action == "impersonation.ended"))
            if e.target_id == str(user_id)
        ]
        db.session.remove()
    return hows


def test_the_banner_counts_down_announces_5_and_1_minutes_and_shows_the_end(
    new_page, sign_up, unique_email, screenshot, live_app
):
    customer = new_page()
    member_email = unique_email("countdown")
    sign_up(customer, member_email, name="Cora Countdown", company=f"Countdown {secrets.token_hex(3)}")
    user_id = _user_id(live_app, member_email)

    admin = new_page()
    admin.clock.install()  # the page's Date and timers, moved on by the test
    admin.goto("/login")
    _log_in(admin, _make_admin(live_app), ADMIN_PASSWORD)
    expect(admin).not_to_have_url(re.compile(r"/login"))
    admin.goto(f"/admin/users/{user_id}/impersonate")
    admin.get_by_label("For how many minutes").fill("5")
    admin.get_by_label("Reason (required)").fill("Ticket 99: the countdown")
    admin.get_by_role("button", name="Start impersonating").click()
    banner = admin.get_by_role("complementary", name="Impersonation")
    time_left = banner.locator(".impersonation-time")
    announce = banner.locator("[aria-live=polite]")
    expect(time_left).to_have_text("5 minutes left")
    expect(announce).to_have_text("")  # nothing said at page load

    # A page served with 6 minutes and some seconds left: the server's figure, then the count down.
    _set_expiry(live_app, user_id, 6 * 60 + 20)
    admin.reload()
    expect(time_left).to_have_text("7 minutes left")
    expect(announce).to_have_text("")
    expect(banner.locator("[aria-live]")).to_have_count(1)  # the ticking text itself is not live
    admin.clock.fast_forward("01:00")
    expect(time_left).to_have_text("6 minutes left")
    expect(announce).to_have_text("")  # not every minute
    admin.clock.fast_forward("00:25")
    expect(time_left).to_have_text("5 minutes left")
    expect(announce).to_have_text("Impersonation: 5 minutes left.")
    admin.clock.fast_forward("04:00")
    expect(time_left).to_have_text(re.compile(r"^[1-5]\d seconds left$"))
    expect(announce).to_have_text("Impersonation: 1 minute left.")
    expect(banner.get_by_role("button", name="End now")).to_be_visible()
    ended = banner.locator("[data-impersonation-ended]")
    expect(ended).to_be_hidden()
    screenshot(admin, "impersonation-countdown")

    admin.clock.fast_forward("01:30")
    expect(ended).to_be_visible()
    expect(ended).to_contain_text("Impersonation ended: its time is up.")
    expect(announce).to_have_text("Impersonation ended: its time is up.")
    expect(banner.get_by_role("button", name="End now")).to_be_hidden()
    expect(time_left).to_be_hidden()
    screenshot(admin, "impersonation-ended")

    # The server's clock has got there too: the link opens the console as the admin, the end recorded.
    _set_expiry(live_app, user_id, -1)
    ended.get_by_role("link", name="Back to the console").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text(member_email)
    expect(admin.get_by_role("complementary", name="Impersonation")).to_have_count(0)
    expect(admin.locator(".impersonations")).to_contain_text("expired")
    assert _ends(live_app, user_id) == ["expired"]
