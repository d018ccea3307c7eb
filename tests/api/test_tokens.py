"""Bearer tokens: expiry, refresh rotation, reuse detection, logout and revocation."""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt
import time_machine
from sqlalchemy import select

from aerospec.accounts.models import RefreshToken, UserSession
from aerospec.compliance.models import AuditLog
from aerospec.models import utcnow
from aerospec.tenancy.scoping import tenant_scope
from tests.api.conftest import assert_problem, auth, claims


def _refresh(client, token: str):
    return client.post("/api/auth/refresh", json={"refresh_token": token})


def test_request_without_token_gets_401_with_bearer_challenge(client, db):
    problem = assert_problem(client.get("/api/tenants/me"), 401)
    assert "Authorization: Bearer" in problem["detail"]
    assert client.get("/api/tenants/me").headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_wrong_scheme_forged_and_garbage_tokens_get_401(client, app, team, tokens):
    t = team()
    good = claims(app, tokens(t.user)["access_token"])
    forged = jwt.encode(good, "another-secret-key-of-sufficient-length", algorithm="HS256")
    for headers in ({"Authorization": "Basic dXNlcjpwYXNz"}, auth(forged), auth("not.a.jwt")):
        response = client.get("/api/tenants/me", headers=headers)
        assert_problem(response, 401)
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_access_token_works_for_15_minutes_then_expires(client, team, tokens):
    t = team()
    start = utcnow()
    with time_machine.travel(start, tick=False):
        issued = tokens(t.user)
    with time_machine.travel(start + timedelta(minutes=14, seconds=59), tick=False):
        assert client.get("/api/tenants/me", headers=auth(issued["access_token"])).status_code == 200
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        response = client.get("/api/tenants/me", headers=auth(issued["access_token"]))
        problem = assert_problem(response, 401)
        assert problem["detail"] == "The access token has expired. Get a new one from /api/auth/refresh."
        # the refresh token still works and gives a fresh access token
        fresh = _refresh(client, issued["refresh_token"])
        assert fresh.status_code == 200, fresh.get_json()
        assert client.get("/api/tenants/me", headers=auth(fresh.get_json()["access_token"])).status_code == 200


def test_refresh_token_expires_after_7_days(client, team, tokens):
    t = team()
    start = utcnow()
    with time_machine.travel(start, tick=False):
        issued = tokens(t.user)
    with time_machine.travel(start + timedelta(days=7, seconds=1), tick=False):
        problem = assert_problem(_refresh(client, issued["refresh_token"]), 401)
        assert problem["detail"] == "The refresh token has expired. Log in again."


def test_refresh_rotates_the_pair_and_marks_the_old_token_used(client, app, db, team, tokens):
    t = team()
    first = tokens(t.admin)
    response = _refresh(client, first["refresh_token"])
    assert response.status_code == 200, response.get_json()
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert claims(app, second["access_token"])["sid"] == claims(app, first["access_token"])["sid"]
    sid = uuid.UUID(claims(app, first["access_token"])["sid"])
    with tenant_scope(db.session, t.tenant.id):  # the token's row is the tenant's
        stored = db.session.scalars(
            select(RefreshToken)
            .where(RefreshToken.session_id == sid)
            .order_by(RefreshToken.issued_at, RefreshToken.used_at)
        ).all()
    assert sorted(t.used_at is None for t in stored) == [False, True]
    assert client.get("/api/tenants/me", headers=auth(second["access_token"])).status_code == 200


def test_refresh_claims_follow_a_role_change(client, app, team, tokens, bearer):
    t = team()
    issued = tokens(t.user)
    changed = client.put(f"/api/tenants/members/{t.user.id}", json={"role": "viewer"}, headers=bearer(t.admin))
    assert changed.status_code == 200, changed.get_json()
    refreshed = _refresh(client, issued["refresh_token"]).get_json()
    assert claims(app, refreshed["access_token"])["role"] == "viewer"


def test_reusing_a_refresh_token_ends_the_whole_session(client, app, db, team, tokens, rows):
    t = team()
    first = tokens(t.user)
    second = _refresh(client, first["refresh_token"]).get_json()
    reuse = _refresh(client, first["refresh_token"])
    problem = assert_problem(reuse, 401)
    assert "already used" in problem["detail"]
    # Everything issued to the session is now dead: the new pair too.
    assert_problem(client.get("/api/tenants/me", headers=auth(second["access_token"])), 401)
    assert "revoked" in assert_problem(_refresh(client, second["refresh_token"]), 401)["detail"]
    login = db.session.get(UserSession, uuid.UUID(claims(app, first["access_token"])["sid"]))
    db.session.refresh(login)
    assert login.end_reason == "refresh_token_reused"
    revoked = rows(t.tenant, AuditLog, AuditLog.action == "session.revoked")
    assert [e.details["reason"] for e in revoked] == ["refresh_token_reused"]


def test_access_and_refresh_tokens_are_not_interchangeable(client, team, tokens):
    t = team()
    issued = tokens(t.user)
    assert (
        "not an access token"
        in assert_problem(client.get("/api/tenants/me", headers=auth(issued["refresh_token"])), 401)["detail"]
    )
    assert "not a refresh token" in assert_problem(_refresh(client, issued["access_token"]), 401)["detail"]


def test_refresh_without_token_names_the_field(client, db):
    problem = assert_problem(client.post("/api/auth/refresh", json={}), 422, fields=("refresh_token",))
    assert problem["errors"]["refresh_token"] == ["This field is required."]


def test_logout_revokes_access_and_refresh_tokens(client, db, team, tokens, rows):
    t = team()
    issued = tokens(t.user)
    other = tokens(t.user)  # another device stays logged in
    response = client.post("/api/auth/logout", headers=auth(issued["access_token"]))
    assert response.status_code == 204
    assert_problem(client.get("/api/tenants/me", headers=auth(issued["access_token"])), 401)
    assert "revoked" in assert_problem(_refresh(client, issued["refresh_token"]), 401)["detail"]
    assert client.get("/api/tenants/me", headers=auth(other["access_token"])).status_code == 200
    assert len(rows(t.tenant, AuditLog, AuditLog.action == "user.logout")) == 1


def test_removed_member_token_and_refresh_are_refused(client, team, tokens, bearer):
    t = team()
    issued = tokens(t.user)
    assert client.delete(f"/api/tenants/members/{t.user.id}", headers=bearer(t.admin)).status_code == 204
    problem = assert_problem(client.get("/api/tenants/me", headers=auth(issued["access_token"])), 401)
    assert "no longer a member" in problem["detail"]
    assert "no longer a member" in assert_problem(_refresh(client, issued["refresh_token"]), 401)["detail"]


def test_a_refresh_token_lives_in_its_workspace_and_is_exchanged_there(client, app, db, team, factories, tokens):
    """Refresh tokens are tenant-owned (row-level security): the exchange finds one only in the workspace
    its signed token names, and a member of two workspaces keeps each login in its own."""
    import hashlib

    first, second = team(), team()
    both = factories.member(second.tenant, "user", user=first.user)
    db.session.commit()
    issued = tokens(both, second.tenant)
    first_id, second_id = first.tenant.id, second.tenant.id
    token_hash = hashlib.sha256(claims(app, issued["refresh_token"])["jti"].encode()).hexdigest()
    db.session.expunge_all()  # read from the database, not the identity map
    for elsewhere in (first_id, uuid.uuid4()):
        with tenant_scope(db.session, elsewhere):
            assert db.session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash)) is None
    with tenant_scope(db.session, second_id):
        assert db.session.scalar(select(RefreshToken.tenant_id).where(RefreshToken.token_hash == token_hash))

    refreshed = _refresh(client, issued["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    assert claims(app, refreshed.get_json()["access_token"])["tenant_id"] == str(second_id)
    assert client.get("/api/tenants/me", headers=auth(refreshed.get_json()["access_token"])).get_json()["id"] == str(
        second_id
    )
