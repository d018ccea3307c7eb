"""Issue 13's "Done when" in a real browser (revenue aside): a platform admin finds a workspace by a member's
email, extends its trial with a reason (the customer's billing page shows the new date), impersonates a member
read-only for 15 minutes (banner with time left, a write refused, audit rows on both sides), ends it, suspends
the workspace (the customer sees the suspension) and reactivates it."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.e2e.test_flows import _log_in, _slug

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "console walk passphrase 91"  # noqa: S105 - a test account


def _make_admin(live_app) -> str:
    from aerospec.admin.cli import make_admin
    from aerospec.extensions import db

    email = f"ops-{secrets.token_hex(4)}@aerospec.example"
    with live_app.app_context():
        make_admin(db.session, email, ADMIN_PASSWORD, "Olive Ops")
        db.session.commit()
        db.session.remove()
    return email


def _rows(live_app, slug: str):
    """(trial end, the workspace's impersonation audit actions, the admin log's impersonation actions)."""
    from sqlalchemy import select

    from aerospec.admin.models import AdminAuditLog
    from aerospec.compliance.models import AuditLog
    from aerospec.extensions import db
    from aerospec.tenancy.models import Tenant
    from aerospec.tenancy.scoping import tenant_scope

    with live_app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        with tenant_scope(db.session, tenant.id):
            tenant_actions = list(
                db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("impersonation.%")))
            )
        admin_actions = list(
            db.session.scalars(select(AdminAuditLog.action).where(AdminAuditLog.action.like("impersonation.%")))
        )
        end = tenant.trial_ends_at
        db.session.remove()
    return end, tenant_actions, admin_actions


def test_admin_finds_extends_impersonates_suspends_and_reactivates(
    new_page, sign_up, unique_email, screenshot, live_app, console_errors
):
    console_errors.allow(r"Failed to load resource: .* 40[23]")  # the refused write and the suspended page
    customer = new_page()
    member_email = unique_email("member")
    sign_up(customer, member_email, name="Mona Member", company=f"Console Flow {secrets.token_hex(3)}")
    slug = _slug(customer)

    admin = new_page()
    admin.goto("/login")
    _log_in(admin, _make_admin(live_app), ADMIN_PASSWORD)
    expect(admin).not_to_have_url(re.compile(r"/login"))
    admin.goto("/admin/tenants")
    admin.get_by_label("Search by name, slug, billing or member email").fill(member_email)
    admin.get_by_role("button", name="Search").click()
    results = admin.locator("#tenant-results")
    expect(results).to_contain_text("1 workspace")
    results.get_by_role("link", name=re.compile("^Console Flow")).click()
    expect(admin.get_by_role("heading", level=2, name="Members and roles")).to_be_visible()
    screenshot(admin, "admin-workspace")

    # Extend the trial by 7 days, with a reason; the confirmation names the effect.
    admin.get_by_role("link", name="Extend the trial…").click()
    admin.get_by_label("Days to add").fill("7")
    admin.get_by_label("Reason (required)").fill("Pilot needs another week")
    admin.get_by_role("button", name="Review…").click()
    expect(admin.locator("#action-effect")).to_contain_text("will end on")
    admin.get_by_role("button", name="Yes, extend the trial").click()
    expect(admin.get_by_text("now ends on")).to_be_visible()
    end, _, _ = _rows(live_app, slug)
    customer.goto(f"/t/{slug}/billing")
    expect(customer.locator("main")).to_contain_text(f"{end:%-d %b %Y}")
    expect(customer.get_by_role("status", name="Trial status")).to_contain_text("21 days left")

    # Impersonate the member read-only for 15 minutes.
    admin.get_by_role("link", name=re.compile("^Impersonate")).first.click()
    admin.get_by_label("For how many minutes").fill("15")
    admin.get_by_label("Reason (required)").fill("Ticket 88: cannot find settings")
    admin.get_by_role("button", name="Start impersonating").click()
    banner = admin.get_by_role("complementary", name="Impersonation")
    expect(banner).to_contain_text("You are viewing AeroSpec as Mona Member")
    expect(banner).to_contain_text("15 minutes left")
    screenshot(admin, "admin-impersonating")
    admin.goto(f"/t/{slug}/settings")
    expect(banner).to_contain_text("read-only")
    admin.get_by_role("button", name="Save settings").click()
    expect(admin.get_by_text("read-only, so nothing can be changed")).to_be_visible()
    _, tenant_actions, admin_actions = _rows(live_app, slug)
    assert tenant_actions == ["impersonation.started"] and admin_actions.count("impersonation.started") >= 1
    banner.get_by_role("button", name="End now").click()
    expect(admin.get_by_text("Impersonation ended")).to_be_visible()
    expect(admin.get_by_role("complementary", name="Impersonation")).to_have_count(0)
    _, tenant_actions, _ = _rows(live_app, slug)
    assert sorted(tenant_actions) == ["impersonation.ended", "impersonation.started"]

    # Suspend: the customer sees it; reactivate: it is gone.
    admin.goto("/admin/tenants?q=" + member_email)
    admin.locator("#tenant-results").get_by_role("link", name=re.compile("^Console Flow")).click()
    admin.get_by_role("link", name="Suspend…").click()
    admin.get_by_label("Reason (required)").fill("Chargeback under review")
    admin.get_by_role("button", name="Review…").click()
    expect(admin.locator("#action-effect")).to_contain_text("will be suspended at once")
    admin.get_by_role("button", name="Yes, suspend the workspace").click()
    expect(admin.locator("#workspace-status")).to_have_text("Suspended by AeroSpec")
    customer.goto(f"/t/{slug}/")
    expect(customer.get_by_role("status", name="Billing status")).to_contain_text("AeroSpec suspended this workspace")
    screenshot(customer, "customer-suspended")
    admin.get_by_role("link", name="Reactivate…").click()
    admin.get_by_label("Reason (required)").fill("Chargeback withdrawn")
    admin.get_by_role("button", name="Review…").click()
    admin.get_by_role("button", name="Yes, reactivate the workspace").click()
    expect(admin.locator("#workspace-status")).to_have_text("Free trial")
    customer.goto(f"/t/{slug}/")
    expect(customer.get_by_role("status", name="Billing status")).to_have_count(0)

    # The admin audit log shows the walk; the pages read at 360 px too.
    admin.goto("/admin/audit-log")
    log = admin.locator("#audit-results")
    for label in ("Trial extended", "Impersonation started", "Impersonation ended", "Workspace suspended"):
        expect(log).to_contain_text(label)
    screenshot(admin, "admin-audit-log")
    admin.set_viewport_size({"width": 360, "height": 800})
    admin.goto("/admin/tenants?q=" + member_email)
    expect(admin.locator("#tenant-results")).to_contain_text("1 workspace")
    screenshot(admin, "admin-workspaces-narrow")
