"""Issue 14's webhook "Done when" in a real browser: an admin adds an endpoint (a bad URL refused first), an order's
status change reaches a receiver that fails three times and gets it on the fourth attempt, signed; the delivery log
shows every attempt; "Replay" sends it again; an endpoint that keeps failing is disabled, then enabled again.

The receiver is a real HTTP server on loopback that verifies signatures with the `standardwebhooks` library.
Jobs run inline on the live server; retries are made due at once (backoff 0) for the test.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.e2e.test_flows import _slug
from tests.webhooks.makers import draft_order
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def flaky():
    r = Receiver(fail_first=3).start()
    yield r
    r.stop()


@pytest.fixture
def quick_retries(live_app, monkeypatch):
    quick = {"WEBHOOK_BACKOFF_BASE_SECONDS": 0, "WEBHOOK_BACKOFF_JITTER": 0, "WEBHOOK_TIMEOUT_SECONDS": 3}
    for key, value in quick.items():
        monkeypatch.setitem(live_app.config, key, value)


def _order_status_change(live_app, slug: str) -> str:
    """A draft order of the workspace, cancelled through the order state machine (as the Cancel button does)."""
    from sqlalchemy import select

    from aerospec.extensions import db
    from aerospec.procurement import services as procurement
    from aerospec.tenancy.models import Tenant
    from aerospec.tenancy.scoping import tenant_scope

    with live_app.test_request_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        with tenant_scope(db.session, tenant.id):
            order = draft_order(db.session, tenant.id)
            db.session.commit()
            procurement.transition(db.session, order, "cancelled", message="Cancelled.")
            order_id = str(order.id)
            db.session.commit()  # the first attempt runs here (inline), the retries follow at once
        db.session.remove()
    return order_id


def test_delivery_log_shows_three_failures_the_fourth_attempt_and_a_replay(
    new_page, sign_up, unique_email, live_app, flaky, quick_retries, monkeypatch, screenshot, console_errors
):
    console_errors.allow(r"webhooks/new: Failed to load resource: .* 422")  # the refused URL, on purpose
    page = sign_up(new_page(), unique_email("hooks"))
    slug = _slug(page)

    page.goto(f"/t/{slug}/settings")
    page.get_by_role("link", name="Manage webhook endpoints").click()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    expect(page.get_by_text("No endpoints yet")).to_be_visible()
    page.get_by_role("link", name="Add an endpoint").click()

    url_field = page.get_by_label("Endpoint URL", exact=True)
    url_field.fill("http://hooks.example.com/aerospec")
    page.get_by_label("procurement.status_changed: An order's status changed").check()
    page.get_by_role("button", name="Add endpoint").click()
    error = page.locator("#url-error")
    expect(error).to_contain_text("Use an https:// URL")
    expect(url_field).to_have_attribute("aria-describedby", "url-help url-error")
    expect(url_field).to_have_value("http://hooks.example.com/aerospec")  # the input is kept
    expect(page.get_by_label("procurement.status_changed: An order's status changed")).to_be_checked()

    url_field.fill(flaky.url)
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("heading", name="Webhook endpoint", level=1)).to_be_visible()
    expect(page.get_by_text("Endpoint added.")).to_be_visible()
    expect(page.get_by_text("Nothing sent yet")).to_be_visible()
    page.get_by_text("Show the signing secret").click()
    secret = page.locator("#signing-secret").inner_text()
    assert secret.startswith("whsec_")

    order_id = _order_status_change(live_app, slug)

    received = flaky.wait_for(4)
    assert len({r.headers["webhook-id"] for r in received}) == 1
    assert received[-1].verify(secret)["data"]["id"] == order_id
    page.reload()
    rows = page.locator("tr.delivery-attempt")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("200")  # newest first: the fourth attempt got through
    expect(rows.nth(0)).to_contain_text("procurement.status_changed")
    for i in (1, 2, 3):
        expect(rows.nth(i)).to_contain_text("500")
        expect(rows.nth(i)).to_contain_text("The endpoint answered 500.")
    expect(rows.nth(3)).to_contain_text("failing on purpose (1)")  # the answer's first bytes
    screenshot(page, "webhooks-delivery-log")

    page.get_by_role("button", name="Replay procurement.status_changed (attempt 4)").click()
    expect(page.get_by_text("Replaying procurement.status_changed")).to_be_visible()
    expect(rows).to_have_count(5)
    expect(rows.nth(0)).to_contain_text("Replay")
    expect(rows.nth(0)).to_contain_text("200")
    replayed = flaky.wait_for(5)[-1]
    assert replayed.headers["webhook-id"] == received[0].headers["webhook-id"]
    assert json.loads(replayed.body) == replayed.verify(secret)

    # An endpoint that keeps failing: disabled after 3 in a row, admins told, enabled again by hand.
    monkeypatch.setitem(live_app.config, "WEBHOOK_DISABLE_AFTER_FAILURES", 3)
    flaky.always_fail = True
    page.get_by_role("button", name="Send a test event").click()
    expect(page.get_by_text("Test event sent.")).to_be_visible()
    page.reload()
    expect(page.locator("#disabled-state")).to_contain_text("Disabled automatically after 3 failed attempts")
    expect(page.get_by_role("button", name="Send a test event")).to_have_count(0)
    flaky.always_fail = False
    page.get_by_role("button", name="Enable again").click()
    expect(page.get_by_text("Endpoint enabled")).to_be_visible()
    expect(page.locator("#disabled-state")).to_have_count(0)
    page.get_by_role("button", name="Send a test event").click()
    expect(rows.nth(0)).to_contain_text("webhook.test")
    expect(rows.nth(0)).to_contain_text("200")

    page.goto("/dev/outbox")
    expect(page.get_by_role("row").filter(has_text="a webhook endpoint was disabled").first).to_be_visible()
