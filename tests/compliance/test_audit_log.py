"""The audit log: what writes entries, and the admin page with filters and pages."""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from aerospec.compliance import services as audit
from aerospec.compliance.models import AuditLog
from aerospec.models import utcnow
from aerospec.tenancy.scoping import tenant_scope
from tests.factories import PASSWORD


@pytest.fixture
def team(factories):
    tenant = factories.TenantFactory()
    return SimpleNamespace(
        tenant=tenant,
        admin=factories.member(tenant, "admin"),
        user=factories.member(tenant, "user"),
        viewer=factories.member(tenant, "viewer"),
    )


COLUMNS = (
    "id",
    "action",
    "actor_id",
    "actor_email",
    "target_type",
    "target_id",
    "target_name",
    "ip_address",
    "details",
    "created_at",
)


def entries(db, tenant, action=None):
    """The tenant's entries as plain values (a later commit cannot expire them)."""
    with tenant_scope(db.session, tenant.id):
        query = select(AuditLog).order_by(AuditLog.created_at)
        if action:
            query = query.where(AuditLog.action == action)
        return [SimpleNamespace(**{c: getattr(e, c) for c in COLUMNS}) for e in db.session.scalars(query)]


def test_signup_writes_tenant_created_and_login(client, db):
    from aerospec.tenancy.models import Tenant

    email = f"founder-{uuid.uuid4().hex[:8]}@example.com"
    company = f"Founders {uuid.uuid4().hex[:6]}"
    response = client.post(
        "/signup",
        data={
            "name": "Fay Founder",
            "company": company,
            "email": email,
            "password": "nebulous cobalt atomiser 9",
        },
    )
    assert response.status_code == 303
    tenant = db.session.scalar(select(Tenant).where(Tenant.name == company))
    actions = [(e.action, e.actor_email) for e in entries(db, tenant)]
    assert ("tenant.created", email) in actions
    assert ("user.login", email) in actions


def test_login_and_failed_login_are_recorded_in_each_of_the_users_tenants(client, db, factories):
    first, second, unrelated = factories.TenantFactory(), factories.TenantFactory(), factories.TenantFactory()
    person = factories.member(first, "admin")
    factories.member(second, "viewer", user=person)
    factories.member(unrelated, "admin")
    db.session.commit()
    bad = client.post("/login", data={"email": person.email, "password": "wrong password entirely"})
    assert bad.status_code == 422
    good = client.post("/login", data={"email": person.email, "password": PASSWORD})
    assert good.status_code == 303
    for tenant in (first, second):
        failed = entries(db, tenant, "user.login_failed")
        assert [(e.actor_id, e.ip_address) for e in failed] == [(person.id, "127.0.0.1")]
        assert [e.actor_id for e in entries(db, tenant, "user.login")] == [person.id]
    assert entries(db, unrelated, "user.login_failed") == []
    assert entries(db, unrelated, "user.login") == []


def test_failed_login_for_an_unknown_email_writes_nothing_anywhere(client, db, factories):
    tenant = factories.TenantFactory()
    factories.member(tenant, "admin")
    db.session.commit()
    assert client.post("/login", data={"email": "nobody@example.com", "password": "whatever it is"}).status_code == 422
    assert entries(db, tenant, "user.login_failed") == []


def test_team_actions_are_recorded_with_actor_and_target(client, db, login, team, tenant_url, factories):
    login(team.admin)
    t = team.tenant
    assert (
        client.post(tenant_url(t, "members/invite"), data={"email": "new@example.com", "role": "user"}).status_code
        == 303
    )
    [sent] = entries(db, t, "invitation.sent")
    assert (sent.actor_id, sent.details) == (team.admin.id, {"email": "new@example.com", "role": "user"})
    assert client.post(tenant_url(t, f"invitations/{sent.target_id}/revoke")).status_code == 303
    [revoked] = entries(db, t, "invitation.revoked")
    assert revoked.target_id == sent.target_id
    assert client.post(tenant_url(t, f"members/{team.user.id}/role"), data={"role": "viewer"}).status_code == 303
    [changed] = entries(db, t, "member.role_changed")
    assert (changed.target_id, changed.details["from"], changed.details["to"]) == (
        str(team.user.id),
        "user",
        "viewer",
    )
    assert client.post(tenant_url(t, f"members/{team.viewer.id}/remove")).status_code == 303
    [removed] = entries(db, t, "member.removed")
    assert removed.target_id == str(team.viewer.id)
    assert (
        client.post(
            tenant_url(t, "settings"), data={"name": "Renamed Lab", "billing_email": t.billing_email}
        ).status_code
        == 303
    )
    [settings] = entries(db, t, "tenant.settings_changed")
    assert settings.details["name"][1] == "Renamed Lab"
    assert "billing_email" not in settings.details  # only what changed
    assert client.post(tenant_url(t, "delete"), data={"confirmation": t.slug}).status_code == 303
    [deleted] = entries(db, t, "tenant.deleted")
    assert deleted.actor_id == team.admin.id


def test_accepting_an_invitation_is_recorded(client, db, factories):
    tenant = factories.TenantFactory()
    factories.member(tenant, "admin")
    _, token = factories.invitation(tenant, "joiner@example.com", role="viewer")
    response = client.post(f"/invitations/{token}", data={"name": "Joiner", "password": "quartz nozzle meridian 77"})
    assert response.status_code == 303
    [accepted] = entries(db, tenant, "invitation.accepted")
    assert accepted.actor_email == "joiner@example.com"
    assert accepted.details == {"email": "joiner@example.com", "role": "viewer"}


def test_failed_actions_leave_no_entry(client, db, login, team, tenant_url):
    login(team.admin)
    response = client.post(tenant_url(team.tenant, f"members/{team.admin.id}/remove"))
    assert response.status_code == 409
    assert entries(db, team.tenant, "member.removed") == []


# ---- the page


def _seed(db, tenant, actor, action, when, n=1):
    with tenant_scope(db.session, tenant.id):
        for _ in range(n):
            entry = audit.record(db.session, tenant.id, action, actor=actor)
            entry.created_at = when
        db.session.flush()
    db.session.commit()


def test_non_admins_get_403_on_the_audit_log(client, login, team, tenant_url):
    from flask import g

    for person in (team.user, team.viewer):
        g.pop("_login_user", None)  # the test's app context outlives each request
        login(person)
        assert client.get(tenant_url(team.tenant, "audit")).status_code == 403


def test_admin_sees_entries_of_own_tenant_only(client, db, login, team, tenant_url, factories):
    other = factories.TenantFactory()
    stranger = factories.member(other, "admin", email="stranger@elsewhere.example")
    _seed(db, other, stranger, "member.removed", utcnow())
    _seed(db, team.tenant, team.admin, "tenant.settings_changed", utcnow())
    login(team.admin)
    page = client.get(tenant_url(team.tenant, "audit")).get_data(as_text=True)
    assert "Settings changed" in page
    assert "stranger@elsewhere.example" not in page


def test_filter_by_action_actor_and_dates(client, db, login, team, tenant_url):
    now = utcnow()
    _seed(db, team.tenant, team.admin, "member.role_changed", now - timedelta(days=10))
    _seed(db, team.tenant, team.user, "user.login", now - timedelta(days=5))
    _seed(db, team.tenant, team.viewer, "user.login", now - timedelta(days=1))
    login(team.admin)
    url = tenant_url(team.tenant, "audit")

    def who(query):
        response = client.get(url, query_string=query)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    page = who({"action": "member.role_changed"})
    assert "1 entry" in page and team.admin.email in page and team.user.email not in page
    page = who({"actor": team.user.email.split("@")[0], "action": "user.login"})
    assert "1 entry" in page and team.user.email in page and team.viewer.email not in page
    day = lambda d: (now - timedelta(days=d)).strftime("%Y-%m-%d")  # noqa: E731
    page = who({"action": "user.login", "since": day(2)})
    assert "1 entry" in page and team.viewer.email in page
    page = who({"action": "user.login", "until": day(5)})  # inclusive of the whole day
    assert "1 entry" in page and team.user.email in page
    page = who({"since": day(6), "until": day(4)})
    assert "1 entry" in page and team.user.email in page
    page = who({"action": "invitation.sent"})
    assert "No entries match these filters" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": "yesterday"}, "From: Use the format YYYY-MM-DD."),
        ({"until": "2026-13-45"}, "To: Use the format YYYY-MM-DD."),
        ({"action": "rockets.launched"}, "Action: Choose an action from the list."),
        ({"page": "many"}, None),
    ],
)
def test_bad_filters_give_a_message_not_a_500(client, login, team, tenant_url, query, message):
    login(team.admin)
    response = client.get(tenant_url(team.tenant, "audit"), query_string=query)
    assert response.status_code == 200
    if message:
        assert message in response.get_data(as_text=True)


def test_pagination_shows_25_per_page(client, db, login, team, tenant_url):
    start = utcnow() - timedelta(days=3)
    with tenant_scope(db.session, team.tenant.id):
        for n in range(30):
            entry = audit.record(
                db.session,
                team.tenant.id,
                "member.role_changed",
                actor=team.admin,
                details={"seq": f"row-{n:02d}"},
            )
            entry.created_at = start + timedelta(minutes=n)
        db.session.flush()
    db.session.commit()
    login(team.admin)
    url = tenant_url(team.tenant, "audit")
    first = client.get(url, query_string={"action": "member.role_changed"}).get_data(as_text=True)
    assert "30 entries, page 1 of 2." in first
    assert first.count("Seq: row-") == 25
    assert "Seq: row-29" in first and "Seq: row-05" in first and "Seq: row-04" not in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = client.get(url, query_string={"action": "member.role_changed", "page": 2}).get_data(as_text=True)
    assert "page 2 of 2" in second
    assert second.count("Seq: row-") == 5
    assert "Seq: row-04" in second and "Seq: row-00" in second and "Seq: row-05" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert "action=member.role_changed" in second  # the filter survives paging


def test_htmx_request_gets_only_the_results_fragment(client, login, team, tenant_url):
    login(team.admin)
    response = client.get(tenant_url(team.tenant, "audit"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="audit-results">')
    assert "<html" not in body
