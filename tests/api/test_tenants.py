"""Tenant administration over the API: settings, deletion, members, invitations."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from aerospec.compliance.models import AuditLog
from aerospec.notifications.models import EmailMessage
from aerospec.tenancy.models import Invitation, Membership
from tests.api.conftest import assert_problem, auth, claims

STRONG = "nebulous cobalt atomiser 9"


# ---- /api/tenants/me


def test_member_reads_their_workspace(client, team, bearer):
    t = team()
    response = client.get("/api/tenants/me", headers=bearer(t.user))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["id"], body["slug"], body["role"]) == (str(t.tenant.id), t.tenant.slug, "user")
    assert body["features"]["api_access"] is True
    assert body["limits"]["seats"] == 5
    assert body["seats"] == {"members": 3, "pending_invitations": 0, "limit": 5}
    assert body["trial_days_left"] == 14


def test_admin_updates_name_and_billing_email(client, team, bearer, rows):
    t = team()
    response = client.put(
        "/api/tenants/me",
        json={"name": "Renamed Ltd", "billing_email": "AP@Renamed.example"},
        headers=bearer(t.admin),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["name"] == "Renamed Ltd"
    assert response.get_json()["billing_email"] == "ap@renamed.example"
    assert t.tenant.name == "Renamed Ltd"
    assert len(rows(t.tenant, AuditLog, AuditLog.action == "tenant.settings_changed")) == 1


def test_updating_only_the_name_keeps_the_billing_email(client, team, bearer):
    t = team()
    before = t.tenant.billing_email
    response = client.put("/api/tenants/me", json={"name": "Just The Name"}, headers=bearer(t.admin))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["billing_email"] == before


def test_update_with_bad_or_no_fields_explains(client, team, bearer):
    t = team()
    headers = bearer(t.admin)
    assert_problem(
        client.put("/api/tenants/me", json={"billing_email": "nope"}, headers=headers),
        422,
        fields=("billing_email",),
    )
    assert_problem(client.put("/api/tenants/me", json={"name": "   "}, headers=headers), 422, fields=("name",))
    assert_problem(client.put("/api/tenants/me", json={}, headers=headers), 422, fields=("name",))


def test_user_cannot_change_settings(client, team, bearer):
    t = team()
    problem = assert_problem(client.put("/api/tenants/me", json={"name": "Mine now"}, headers=bearer(t.user)), 403)
    assert "cannot change workspace settings" in problem["detail"]
    assert t.tenant.name != "Mine now"


def test_delete_needs_the_slug_as_confirmation(client, team, bearer):
    t = team()
    headers = bearer(t.admin)
    assert_problem(client.delete("/api/tenants/me", json={}, headers=headers), 422, fields=("confirmation",))
    wrong = assert_problem(
        client.delete("/api/tenants/me", json={"confirmation": "nope"}, headers=headers),
        422,
        fields=("confirmation",),
    )
    assert t.tenant.slug in wrong["errors"]["confirmation"][0]
    assert t.tenant.deleted_at is None


def test_admin_deletes_the_workspace_and_its_tokens_stop_working(client, team, bearer):
    t = team()
    headers = bearer(t.admin)
    response = client.delete("/api/tenants/me", json={"confirmation": t.tenant.slug}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert "purged in 30 days" in response.get_json()["detail"]
    assert t.tenant.deleted_at is not None
    assert_problem(client.get("/api/tenants/me", headers=headers), 401)


def test_user_cannot_delete_the_workspace(client, team, bearer):
    t = team()
    response = client.delete("/api/tenants/me", json={"confirmation": t.tenant.slug}, headers=bearer(t.user))
    assert_problem(response, 403)
    assert t.tenant.deleted_at is None


# ---- members


def test_members_are_listed_with_roles(client, team, bearer):
    t = team()
    response = client.get("/api/tenants/members", headers=bearer(t.user))
    assert response.status_code == 200
    listed = {m["user_id"]: m["role"] for m in response.get_json()["members"]}
    assert listed == {str(t.admin.id): "admin", str(t.user.id): "user", str(t.viewer.id): "viewer"}


def test_admin_changes_a_role(client, team, bearer, rows):
    t = team()
    response = client.put(f"/api/tenants/members/{t.user.id}", json={"role": "viewer"}, headers=bearer(t.admin))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["role"] == "viewer"
    assert [m.role for m in rows(t.tenant, Membership, Membership.user_id == t.user.id)] == ["viewer"]


def test_role_change_rejects_bad_roles_unknown_people_and_the_last_admin(client, team, bearer):
    t = team()
    headers = bearer(t.admin)
    bad = client.put(f"/api/tenants/members/{t.user.id}", json={"role": "owner"}, headers=headers)
    assert assert_problem(bad, 422, fields=("role",))["errors"]["role"] == ["Choose one of: admin, user, viewer."]
    assert_problem(client.put(f"/api/tenants/members/{uuid.uuid4()}", json={"role": "user"}, headers=headers), 404)
    assert_problem(client.put("/api/tenants/members/not-a-uuid", json={"role": "user"}, headers=headers), 404)
    last = client.put(f"/api/tenants/members/{t.admin.id}", json={"role": "user"}, headers=headers)
    assert "last admin" in assert_problem(last, 409)["detail"]


def test_user_cannot_change_roles_or_remove_members(client, team, bearer):
    t = team()
    headers = bearer(t.user)
    assert_problem(client.put(f"/api/tenants/members/{t.viewer.id}", json={"role": "admin"}, headers=headers), 403)
    assert_problem(client.delete(f"/api/tenants/members/{t.viewer.id}", headers=headers), 403)


def test_admin_removes_a_member(client, team, bearer, rows):
    t = team()
    response = client.delete(f"/api/tenants/members/{t.viewer.id}", headers=bearer(t.admin))
    assert response.status_code == 204
    assert rows(t.tenant, Membership, Membership.user_id == t.viewer.id) == []
    assert len(rows(t.tenant, AuditLog, AuditLog.action == "member.removed")) == 1


def test_member_of_another_tenant_cannot_see_or_touch_these_members(client, team, bearer, rows):
    a, b = team(), team()
    headers = bearer(b.admin)
    listed = {m["user_id"] for m in client.get("/api/tenants/members", headers=headers).get_json()["members"]}
    assert str(a.user.id) not in listed
    assert_problem(client.put(f"/api/tenants/members/{a.user.id}", json={"role": "viewer"}, headers=headers), 404)
    assert_problem(client.delete(f"/api/tenants/members/{a.user.id}", headers=headers), 404)
    assert [m.role for m in rows(a.tenant, Membership, Membership.user_id == a.user.id)] == ["user"]
    assert client.get("/api/tenants/me", headers=headers).get_json()["id"] == str(b.tenant.id)


# ---- invitations


def test_admin_invites_and_the_answer_holds_no_token(client, db, team, bearer, rows):
    t = team()
    response = client.post(
        "/api/tenants/members/invite",
        json={"email": "New@Example.com", "role": "viewer"},
        headers=bearer(t.admin),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["email"], body["role"], body["status"]) == ("new@example.com", "viewer", "pending")
    assert not any("token" in key for key in body)
    [invitation] = rows(t.tenant, Invitation)
    assert body["id"] == str(invitation.id)
    sent = db.session.scalars(select(EmailMessage).where(EmailMessage.to_address == "new@example.com")).all()
    assert [m.template for m in sent] == ["invitation"]


def test_viewer_and_user_cannot_invite(client, team, bearer, rows):
    t = team()
    invite = {"email": "x@example.com", "role": "user"}
    response = client.post("/api/tenants/members/invite", json=invite, headers=bearer(t.user))
    assert "cannot invite team members" in assert_problem(response, 403)["detail"]
    response = client.post("/api/tenants/members/invite", json=invite, headers=bearer(t.viewer))
    assert "viewers use the web app" in assert_problem(response, 403)["detail"]  # no API for viewers at all
    assert rows(t.tenant, Invitation) == []


def test_invite_with_bad_email_role_or_missing_fields_names_them(client, team, bearer):
    t = team()
    headers = bearer(t.admin)
    bad = client.post("/api/tenants/members/invite", json={"email": "nope", "role": "boss"}, headers=headers)
    assert_problem(bad, 422, fields=("email", "role"))
    assert_problem(client.post("/api/tenants/members/invite", json={}, headers=headers), 422, fields=("email", "role"))
    member = client.post("/api/tenants/members/invite", json={"email": t.user.email, "role": "user"}, headers=headers)
    assert "already a member" in assert_problem(member, 422, fields=("email",))["errors"]["email"][0]


def test_invite_beyond_the_seat_limit_is_402(client, team, bearer):
    # One seat, already over by the team's three members (API opened for this starter workspace).
    t = team(plan="starter", limits={"api_calls_per_month": None}, features={"api_access": True})
    response = client.post(
        "/api/tenants/members/invite",
        json={"email": "x@example.com", "role": "user"},
        headers=bearer(t.admin),
    )
    assert "Upgrade" in assert_problem(response, 402)["detail"]


def test_pending_invitations_are_listed_without_tokens(client, team, bearer, factories):
    t = team()
    factories.invitation(t.tenant, "pending@example.com", role="viewer")
    response = client.get("/api/tenants/invitations", headers=bearer(t.user))
    assert response.status_code == 200
    [listed] = response.get_json()["invitations"]
    assert (listed["email"], listed["role"], listed["status"]) == ("pending@example.com", "viewer", "pending")
    assert not any("token" in key for key in listed)


def test_logged_in_user_accepts_an_invitation_and_can_log_in_there(client, app, db, team, bearer, factories, api_login):
    a, b = team(), team()
    _inv, token = factories.invitation(a.tenant, b.user.email, role="viewer")
    db.session.commit()
    response = client.post(f"/api/tenants/invitations/{token}/accept", headers=bearer(b.user))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["tenant"] == {
        **response.get_json()["tenant"],
        "slug": a.tenant.slug,
        "role": "viewer",
    }
    there = api_login(b.user, a.tenant)
    assert claims(app, there["access_token"])["tenant_id"] == str(a.tenant.id)


def test_accepting_someone_elses_invitation_is_refused(client, db, team, bearer, factories):
    a, b = team(), team()
    _inv, token = factories.invitation(a.tenant, "someone@example.com")
    db.session.commit()
    response = client.post(f"/api/tenants/invitations/{token}/accept", headers=bearer(b.user))
    assert "was sent to someone@example.com" in assert_problem(response, 400)["detail"]


def test_new_person_accepts_with_name_and_password_and_gets_tokens(client, app, db, team, factories):
    t = team()
    _inv, token = factories.invitation(t.tenant, "fresh@example.com", role="user")
    db.session.commit()
    missing = client.post(f"/api/tenants/invitations/{token}/accept", json={"name": "Fresh"})
    assert_problem(missing, 422, fields=("password",))
    response = client.post(
        f"/api/tenants/invitations/{token}/accept", json={"name": "Fresh Person", "password": STRONG}
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["user"]["email"] == "fresh@example.com"
    assert claims(app, body["access_token"])["role"] == "user"
    assert client.get("/api/tenants/me", headers=auth(body["access_token"])).get_json()["id"] == str(t.tenant.id)
    again = client.post(f"/api/tenants/invitations/{token}/accept", json={"name": "X", "password": STRONG})
    assert "already been accepted" in assert_problem(again, 400)["detail"]


def test_invitation_for_an_existing_account_needs_its_token(client, db, team, factories):
    a, b = team(), team()
    _inv, token = factories.invitation(a.tenant, b.user.email)
    db.session.commit()
    response = client.post(f"/api/tenants/invitations/{token}/accept", json={"name": "X", "password": STRONG})
    assert "already exists" in assert_problem(response, 409)["detail"]


def test_unknown_invitation_token_is_400(client, db):
    response = client.post("/api/tenants/invitations/no-such-token/accept", json={"name": "X", "password": STRONG})
    assert "not valid" in assert_problem(response, 400)["detail"]


def test_a_starter_workspace_has_no_api_and_a_limit_stops_calls_at_the_monthly_allowance(client, team, bearer):
    starter = team(plan="starter")
    refused = client.get("/api/procurements", headers=bearer(starter.admin))
    assert "Starter" in assert_problem(refused, 402)["detail"]

    capped = team(plan="professional", limits={"api_calls_per_month": 2})
    headers = bearer(capped.admin)
    assert [client.get("/api/procurements", headers=headers).status_code for _ in range(2)] == [200, 200]
    assert "API calls" in assert_problem(client.get("/api/procurements", headers=headers), 402)["detail"]
