"""The platform console: find workspaces, read one, extend a trial, suspend and reactivate, each with a reason,
a confirmation naming the effect, an email to the admins (real SMTP) and entries in both audit logs."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

from sqlalchemy import select

from aerospec.admin.models import AdminAuditLog
from aerospec.billing.models import BillingNotice
from aerospec.compliance.models import AuditLog
from aerospec.models import utcnow
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.scoping import tenant_scope


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _admin_entries(db, action: str) -> list[AdminAuditLog]:
    return list(db.session.scalars(select(AdminAuditLog).where(AdminAuditLog.action == action)))


def test_search_finds_a_workspace_by_a_members_email_and_not_others(client, login, team, factories, platform_admin, db):
    a = team(name="Acme Sprays")
    team(name="Borealis Labs")
    factories.member(a.tenant, "user", email="zoe.lab@acme-mail.example")
    db.session.commit()
    login(platform_admin)
    body = client.get("/admin/tenants?q=zoe.lab@acme", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Acme Sprays" in body and "Borealis Labs" not in body and "1 workspace " in body


def test_filters_plan_status_trial_ending_past_due_and_over_a_limit(client, login, factories, platform_admin, db):
    now = utcnow()
    soon = factories.TenantFactory(name="F Soon", plan="starter", trial_ends_at=now + timedelta(days=2))
    factories.TenantFactory(name="F Later", plan="starter", trial_ends_at=now + timedelta(days=12))
    factories.TenantFactory(name="F Overdue", subscription_status="past_due", trial_ends_at=None)
    crowded = factories.TenantFactory(name="F Crowded", plan="starter", limits={"seats": 1})
    factories.member(crowded, "admin")
    factories.member(crowded, "user")  # 2 of 1 seat
    roomy = factories.TenantFactory(name="F Roomy", limits={"seats": None})  # unlimited override
    for _ in range(7):
        factories.member(roomy, "user")
    full = factories.TenantFactory(name="F Full Quota")
    with tenant_scope(db.session, full.id):
        stamp = now.strftime("%Y-%m")
        db.session.add(BillingNotice(tenant_id=full.id, kind="limit", key=f"configurations_per_month:{stamp}:100"))
        db.session.flush()  # inside its tenant (row-level security on PostgreSQL)
    db.session.commit()
    login(platform_admin)

    def names(query: str) -> set[str]:
        html = client.get(f"/admin/tenants?q=F+&{query}").get_data(as_text=True)
        return set(re.findall(r">(F [A-Za-z ]+)</a>", html))

    assert names("plan=starter") == {"F Soon", "F Later", "F Crowded"}
    assert names("trial_ending=5") == {"F Soon"}
    assert names("past_due=1") == {"F Overdue"}
    assert names("status=past_due") == {"F Overdue"}
    assert names("over_limit=1") == {"F Crowded", "F Full Quota"}
    html = client.get("/admin/tenants?q=F+&sort=trial_end").get_data(as_text=True)
    order = re.findall(r">(F [A-Za-z ]+)</a>", html)
    assert order.index("F Soon") < order.index("F Later")
    assert soon.name == "F Soon"


def test_detail_page_shows_members_usage_billing_and_audit(client, login, team, platform_admin):
    t = team(name="Detail Sprays")
    login(platform_admin)
    html = _text(client.get(f"/admin/tenants/{t.tenant.id}").get_data(as_text=True))
    for expected in (
        "Members and roles",
        t.admin.email,
        t.viewer.email,
        "Usage against limits",
        "Team seats",
        "Subscription and invoices",
        "No subscription",
        "Orders and commissions",
        "No orders yet",
        "Recent audit entries",
        "Extend the trial…",
        "Suspend…",
    ):
        assert expected in html, expected


def test_extend_trial_asks_a_reason_confirms_the_effect_then_moves_the_end_everywhere(
    client, login, team, platform_admin, db, tenant_url, app, smtp_server, monkeypatch
):
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_server.url)
    t = team(name="Trial Sprays", trial_ends_at=utcnow() + timedelta(days=3))
    old_end = t.tenant.trial_ends_at
    tenant_id = t.tenant.id
    login(platform_admin)
    url = f"/admin/tenants/{tenant_id}/extend-trial"
    missing = client.post(url, data={"step": "review", "days": "7", "reason": ""})
    assert missing.status_code == 422 and "Give a reason" in missing.get_data(as_text=True)
    bad_days = client.post(url, data={"step": "review", "days": "500", "reason": "Pilot running late"})
    assert bad_days.status_code == 422 and "from 1 to 90" in bad_days.get_data(as_text=True)
    review = _text(
        client.post(url, data={"step": "review", "days": "7", "reason": "Pilot running late"}).get_data(as_text=True)
    )
    new_end = old_end + timedelta(days=7)
    assert f"will end on {new_end:%-d %B %Y}" in review and "An email tells" in review and t.admin.email in review
    db.session.refresh(t.tenant)
    assert t.tenant.trial_ends_at == old_end  # the review changes nothing
    assert smtp_server.envelopes == []

    done = client.post(url, data={"step": "confirm", "days": "7", "reason": "Pilot running late"})
    assert done.status_code == 303
    tenant = db.session.get(Tenant, tenant_id)
    db.session.refresh(tenant)
    assert abs(tenant.trial_ends_at - new_end) < timedelta(seconds=2)
    # The customer's billing page and trial banner read the new date.
    login(t.admin)
    billing = _text(client.get(tenant_url(tenant, "billing")).get_data(as_text=True))
    assert f"{new_end:%-d %b %Y}" in billing or f"{new_end:%-d %B %Y}" in billing
    assert "10 days left" in billing or "10 days" in billing
    # Both audit logs, and the email by SMTP to the billing address and the admin.
    [entry] = _admin_entries(db, "workspace.trial_extended")
    assert entry.admin_email == platform_admin.email and entry.reason == "Pilot running late"
    assert entry.details["before"]["trial_ends_at"].startswith(old_end.isoformat()[:16])
    assert entry.details["after"]["trial_ends_at"].startswith(tenant.trial_ends_at.isoformat()[:16])
    with tenant_scope(db.session, tenant_id):
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "admin.trial_extended")) is not None
    rcpts = sorted(r for env in smtp_server.envelopes for r in env.rcpt_tos)
    assert rcpts == sorted([tenant.billing_email, t.admin.email])
    mime = email.message_from_bytes(smtp_server.envelopes[0].original_content, policy=email.policy.default)
    assert "trial now ends on" in mime["Subject"] and "Pilot running late" in mime.get_body(("plain",)).get_content()


def test_an_expired_trial_extended_runs_again_with_full_access(client, login, team, platform_admin, db, tenant_url):
    t = team(subscription_status="expired", trial_ends_at=utcnow() - timedelta(days=2))
    login(platform_admin)
    client.post(
        f"/admin/tenants/{t.tenant.id}/extend-trial", data={"step": "confirm", "days": "5", "reason": "Goodwill"}
    )
    db.session.refresh(t.tenant)
    assert t.tenant.subscription_status == "trialing"
    assert t.tenant.trial_ends_at > utcnow() + timedelta(days=4, hours=23)


def test_an_active_workspace_has_no_trial_to_extend(client, login, team, platform_admin, db):
    t = team(subscription_status="active", trial_ends_at=None)
    login(platform_admin)
    response = client.post(
        f"/admin/tenants/{t.tenant.id}/extend-trial", data={"step": "review", "days": "5", "reason": "x y z"}
    )
    assert response.status_code == 422 and "there is no trial to extend" in response.get_data(as_text=True)
    assert _admin_entries(db, "workspace.trial_extended") == []


def test_suspend_then_reactivate_through_the_existing_enforcement(
    client, login, team, platform_admin, db, tenant_url, outbox
):
    t = team(name="Suspend Sprays")
    tenant_id = t.tenant.id
    login(platform_admin)
    review = _text(
        client.post(f"/admin/tenants/{tenant_id}/suspend", data={"step": "review", "reason": "Fraud check"}).get_data(
            as_text=True
        )
    )
    assert "will be suspended at once" in review and "paying does not lift it" in review
    assert (
        client.post(
            f"/admin/tenants/{tenant_id}/suspend", data={"step": "confirm", "reason": "Fraud check"}
        ).status_code
        == 303
    )
    login(t.user)
    dashboard = _text(client.get(tenant_url(t.tenant)).get_data(as_text=True))
    assert "AeroSpec suspended this workspace" in dashboard and "Contact AeroSpec support" in dashboard
    blocked = client.get(tenant_url(t.tenant, "configurations"))
    assert blocked.status_code == 402 and "AeroSpec suspended it" in blocked.get_data(as_text=True)
    assert any("has been suspended by AeroSpec" in m.subject for m in outbox())

    login(platform_admin)
    assert (
        client.post(f"/admin/tenants/{tenant_id}/reactivate", data={"step": "confirm", "reason": "Cleared"}).status_code
        == 303
    )
    login(t.user)
    assert client.get(tenant_url(t.tenant, "configurations")).status_code == 200
    [s] = _admin_entries(db, "workspace.suspended")
    [r] = _admin_entries(db, "workspace.reactivated")
    assert (s.reason, s.details["after"]["status"]) == ("Fraud check", "suspended_by_admin")
    assert (r.reason, r.details["after"]["status"]) == ("Cleared", "trialing")
