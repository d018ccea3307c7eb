"""Impersonation (time-limited, read-only unless asked, banner, audited on both sides), the append-only admin
audit log, the admin API with an admin's JWT, the CLI, and 404 for everyone else on every admin route."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy
import time_machine
from sqlalchemy import func, select, text

from aerospec.admin.models import AdminAuditLog, ImmutableAuditEntry, Impersonation
from aerospec.compliance.models import AuditLog
from aerospec.models import utcnow
from aerospec.tenancy.scoping import tenant_scope
from tests.factories import PASSWORD


def _start(client, user, **form):
    data = {"minutes": "15", "reason": "Ticket 4711: cannot see quotes", **form}
    return client.post(f"/admin/users/{user.id}/impersonate", data=data)


def _tenant_entries(db, tenant, action):
    with tenant_scope(db.session, tenant.id):
        db.session.expire_all()
        return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_read_only_impersonation_shows_the_banner_refuses_writes_and_is_audited_on_both_sides(
    client, login, team, platform_admin, db, tenant_url
):
    t = team(name="Imp Sprays")
    login(platform_admin)
    started = _start(client, t.user)
    assert started.status_code == 303 and started.headers["Location"].endswith(f"/t/{t.tenant.slug}/")
    page = client.get(tenant_url(t.tenant)).get_data(as_text=True)
    assert f"You are viewing AeroSpec as {t.user.name} ({t.user.email})" in page
    assert "read-only: changes are refused" in page and "15 minutes left" in page and "End now" in page
    refused = client.post(tenant_url(t.tenant, "configurations/new"), data={"name": "x"})
    assert refused.status_code == 403 and "read-only, so nothing can be changed" in refused.get_data(as_text=True)
    assert client.get("/admin/tenants").status_code == 404  # while impersonating, the admin is the user
    [started_entry] = _tenant_entries(db, t.tenant, "impersonation.started")
    assert started_entry.actor_email == f"AeroSpec support ({platform_admin.email})"
    assert started_entry.details["access"] == "read-only" and started_entry.details["minutes"] == 15
    [admin_entry] = db.session.scalars(select(AdminAuditLog).where(AdminAuditLog.action == "impersonation.started"))
    assert admin_entry.admin_email == platform_admin.email and admin_entry.target_id == str(t.user.id)

    ended = client.post("/impersonation/end")
    assert ended.status_code == 303
    assert "You are viewing AeroSpec as" not in client.get("/admin/tenants").get_data(as_text=True)
    assert client.get("/admin/tenants").status_code == 200  # the admin again
    [end_entry] = _tenant_entries(db, t.tenant, "impersonation.ended")
    assert end_entry.details["how"] == "ended" and "impersonated_by" not in end_entry.details


def test_write_access_needs_its_reason_and_entries_written_meanwhile_name_the_admin(
    client, login, team, platform_admin, db, tenant_url
):
    t = team()
    login(platform_admin)
    refused = _start(client, t.admin, write_access="1")
    assert refused.status_code == 422 and "Say why you need to change things" in refused.get_data(as_text=True)
    assert _start(client, t.admin, write_access="1", write_reason="Fix their role").status_code == 303
    changed = client.post(tenant_url(t.tenant, f"members/{t.viewer.id}/role"), data={"role": "user"})
    assert changed.status_code in (200, 303)
    [entry] = _tenant_entries(db, t.tenant, "member.role_changed")
    assert entry.actor_id == t.admin.id
    assert entry.details["impersonated_by"]["admin_email"] == platform_admin.email


def test_impersonation_bounds_and_platform_admins_cannot_be_impersonated(
    client, login, team, platform_admin, factories, db
):
    t = team()
    other_admin = factories.UserFactory(is_platform_admin=True)
    db.session.commit()
    login(platform_admin)
    for minutes in ("4", "241", "abc"):
        response = _start(client, t.user, minutes=minutes)
        assert response.status_code == 422 and "from 5 to 240" in response.get_data(as_text=True)
    assert _start(client, t.user, reason="").status_code == 422
    refused = _start(client, other_admin)
    assert refused.status_code == 422 and "Platform admins cannot be impersonated" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Impersonation.id)) is None


def test_an_impersonation_ends_by_itself_when_its_time_is_up(client, login, team, platform_admin, db, tenant_url):
    t = team()
    login(platform_admin)
    _start(client, t.user, minutes="5")
    with time_machine.travel(utcnow() + timedelta(minutes=6), tick=False):
        page = client.get("/admin/tenants")
        assert page.status_code == 200 and "You are viewing AeroSpec as" not in page.get_data(as_text=True)
    [end_entry] = _tenant_entries(db, t.tenant, "impersonation.ended")
    assert end_entry.details["how"] == "expired"


def test_admin_audit_entries_cannot_be_changed_or_deleted(db, platform_admin):
    from aerospec.admin import audit

    entry = audit.record(db.session, "admin.granted", admin=platform_admin, target_type="user", target_id="x")
    db.session.commit()
    entry.reason = "rewritten"
    with pytest.raises(ImmutableAuditEntry):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AdminAuditLog, entry.id))
    with pytest.raises(ImmutableAuditEntry):
        db.session.flush()
    db.session.rollback()
    # Under the ORM: the database itself refuses (a trigger on PostgreSQL and on SQLite).
    for statement in ("UPDATE admin_audit_logs SET reason = 'x'", "DELETE FROM admin_audit_logs"):
        savepoint = db.session.begin_nested()
        with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"):
            db.session.execute(text(statement))
        savepoint.rollback()
    assert db.session.get(AdminAuditLog, entry.id).reason is None


def test_audit_log_page_filters_and_exports_csv(client, login, team, platform_admin, db):
    t = team(name="Csv Sprays")
    login(platform_admin)
    client.post(f"/admin/tenants/{t.tenant.id}/suspend", data={"step": "confirm", "reason": "=HYPERLINK(evil)"})
    page = client.get("/admin/audit-log?action=workspace.suspended").get_data(as_text=True)
    assert "Workspace suspended" in page and "=HYPERLINK(evil)" in page and "1 entry" in page
    assert "No entries match" in client.get("/admin/audit-log?action=impersonation.started").get_data(as_text=True)
    bad = client.get("/admin/audit-log?from=yesterday")
    assert bad.status_code == 422 and "Must be a date as YYYY-MM-DD" in bad.get_data(as_text=True)
    csv_body = client.get("/admin/audit-log.csv?action=workspace.suspended").get_data(as_text=True)
    lines = csv_body.strip().splitlines()
    assert lines[0].startswith("created_at,admin_email,action") and len(lines) == 2
    assert "'=HYPERLINK(evil)" in lines[1]  # a formula is written as text


def test_sync_now_sandbox_faults_and_catalog_import_are_in_the_admin_audit_log(
    client, login, platform_admin, db, sandbox
):
    from tests.catalog.test_admin_csv import _csv, _row, _upload

    login(platform_admin)
    client.post("/admin/procurement/sync")
    client.post(
        "/admin/procurement/sandbox/faults/coster", data={"coster-latency_ms": "250", "coster-error_rate": "10"}
    )
    client.post("/admin/procurement/sandbox/faults/clear")
    assert _upload(client, _csv([_row(sku="CV.AUDIT.1")])).status_code == 200
    entries = {e.action: e for e in db.session.scalars(select(AdminAuditLog))}
    assert set(entries) >= {
        "supplier.sync_requested",
        "sandbox.faults_set",
        "sandbox.faults_cleared",
        "catalog.imported",
    }
    assert entries["sandbox.faults_set"].details["after"] == {
        "latency_ms": 250, "error_rate": 0.1, "hang": False, "malformed_json": False,
    }  # fmt: skip
    assert entries["catalog.imported"].details["rows"] == 1 and entries["catalog.imported"].details["created"] == 1
    assert all(e.admin_email == platform_admin.email for e in entries.values())


def _api_login(client, email, password=PASSWORD):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def test_admin_jwt_from_login_opens_the_admin_api_and_actions_need_a_reason(client, team, platform_admin, db):
    t = team(name="Api Sprays")
    answer = _api_login(client, platform_admin.email)
    assert answer.status_code == 200 and answer.json["platform_admin"] is True
    bearer = {"Authorization": f"Bearer {answer.json['access_token']}"}
    listed = client.get("/api/admin/organizations?q=api+sprays", headers=bearer)
    assert listed.status_code == 200 and [o["name"] for o in listed.json["organizations"]] == ["Api Sprays"]
    assert client.get("/api/admin/organizations?plan=gold", headers=bearer).status_code == 422
    detail = client.get(f"/api/admin/organizations/{t.tenant.id}", headers=bearer).json
    assert {m["email"] for m in detail["members"]} == {t.admin.email, t.user.email, t.viewer.email}
    no_reason = client.post(
        f"/api/admin/subscriptions/{t.tenant.id}/extend-trial", json={"days": 5, "reason": ""}, headers=bearer
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.json["errors"]
    extended = client.post(
        f"/api/admin/subscriptions/{t.tenant.id}/extend-trial", json={"days": 5, "reason": "API"}, headers=bearer
    )
    assert extended.status_code == 200 and extended.json["trial_ends_at"] > detail["trial_ends_at"]
    patched = client.patch(
        f"/api/admin/organizations/{t.tenant.id}", json={"name": "Api Sprays Ltd", "reason": "Rename"}, headers=bearer
    )
    assert patched.status_code == 200 and patched.json["name"] == "Api Sprays Ltd"
    imp = client.post(
        f"/api/admin/impersonate/{t.user.id}", json={"minutes": 20, "reason": "Ticket 12"}, headers=bearer
    )
    assert imp.status_code == 201 and imp.json["access"] == "read-only" and imp.json["active"] is True
    logs = client.get("/api/admin/audit-logs?target_type=workspace", headers=bearer).json["entries"]
    assert {e["action"] for e in logs} >= {"workspace.trial_extended", "workspace.updated"}


def _admin_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/admin", "/api/admin")):
            path = re.sub(r"<any\([^)]*'([^']+)'\):\w+>", r"\1", rule.rule)
            path = re.sub(r"<[^>]+>", str(uuid.uuid4()), path)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield method, path


def test_every_admin_page_and_api_route_is_404_for_non_admins(app, client, login, team, db):
    t = team()
    routes = list(_admin_rules(app))
    assert len(routes) > 25
    for who in (None, t.admin):
        if who is not None:
            login(who)
        for method, path in routes:
            if path.startswith("/api/"):
                continue
            assert client.open(path, method=method).status_code == 404, (who, method, path)
    token = _api_login(client, t.admin.email).json["access_token"]
    for method, path in routes:
        if path.startswith("/api/"):
            response = client.open(path, method=method, json={}, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 404, (method, path)


def test_flask_admin_create_grant_and_revoke(app, db, monkeypatch):
    from aerospec.accounts import services as accounts

    runner = app.test_cli_runner()
    monkeypatch.setenv("AEROSPEC_ADMIN_PASSWORD", "a long admin passphrase 77")
    made = runner.invoke(args=["admin", "create", "ops@aerospec.example"])
    assert made.exit_code == 0 and "Platform admin ops@aerospec.example created" in made.output
    user = accounts.get_user_by_email(db.session, "ops@aerospec.example")
    assert user.is_platform_admin and accounts.authenticate(db.session, user.email, "a long admin passphrase 77")
    again = runner.invoke(args=["admin", "create", "ops@aerospec.example"])
    assert again.exit_code != 0 and "flask admin grant" in again.output
    assert "is no longer a platform admin" in runner.invoke(args=["admin", "revoke", user.email]).output
    db.session.refresh(user)
    assert not user.is_platform_admin
    assert "is now a platform admin" in runner.invoke(args=["admin", "grant", user.email]).output
    assert runner.invoke(args=["admin", "grant", "nobody@x.example"]).exit_code != 0
    actions = [a for a in db.session.scalars(select(AdminAuditLog.action).order_by(AdminAuditLog.created_at))]
    assert actions[-3:] == ["admin.created", "admin.revoked", "admin.granted"]


def test_logging_out_while_impersonating_ends_it_and_a_new_one_replaces_the_old(
    client, login, team, platform_admin, db
):
    from aerospec.admin import impersonation

    t = team()
    login(platform_admin)
    _start(client, t.user)
    client.post("/logout")
    [ended] = _tenant_entries(db, t.tenant, "impersonation.ended")
    assert ended.details["how"] == "logged out"
    ask = impersonation.Request(minutes=30, reason="API start", write_access=False, write_reason=None)
    first = impersonation.start(db.session, platform_admin, t.viewer, ask)
    impersonation.start(db.session, platform_admin, t.user, ask)  # one at a time: the first ends
    db.session.commit()
    assert (first.ended_at is not None, first.end_reason) == (True, "replaced")
    assert db.session.scalar(select(func.count(Impersonation.id)).where(Impersonation.ended_at.is_(None))) == 1
