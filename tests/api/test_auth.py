"""API auth: signup, login, password reset, request bodies and problem+json errors."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import func, select

from aerospec.accounts import services as accounts
from aerospec.accounts.models import RefreshToken, UserSession
from aerospec.compliance.models import AuditLog
from aerospec.notifications.models import EmailMessage
from aerospec.tenancy.scoping import tenant_scope
from tests.api.conftest import assert_problem, auth, claims
from tests.factories import PASSWORD

STRONG = "nebulous cobalt atomiser 9"
SIGNUP = {"email": "ada@acme.example", "password": STRONG, "name": "Ada Lovelace", "company": "Acme Sprays"}


def _emails_to(db, address: str) -> int:
    return db.session.scalar(select(func.count()).select_from(EmailMessage).where(EmailMessage.to_address == address))


# ---- signup


def test_signup_returns_token_pair_user_and_trial_tenant(client, app, db, rows):
    response = client.post("/api/auth/signup", json=SIGNUP)
    assert response.status_code == 201, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    assert body["user"]["email"] == "ada@acme.example"
    assert body["tenant"]["slug"] == "acme-sprays"
    assert body["tenant"]["role"] == "admin"
    assert body["tenant"]["subscription_status"] == "trialing"

    access = claims(app, body["access_token"])
    assert access["type"] == "access"
    assert access["sub"] == body["user"]["id"]
    assert access["tenant_id"] == body["tenant"]["id"]
    assert access["email"] == "ada@acme.example"
    assert access["role"] == "admin"
    assert access["features"]["api_access"] is True
    assert access["features"]["sso"] is False
    assert access["exp"] - access["iat"] == 15 * 60
    refresh = claims(app, body["refresh_token"])
    assert refresh["type"] == "refresh"
    assert refresh["sid"] == access["sid"]
    assert refresh["jti"] != access["jti"]
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600

    login = db.session.get(UserSession, uuid.UUID(access["sid"]))
    assert login.kind == "api" and login.ended_at is None
    with tenant_scope(db.session, uuid.UUID(access["tenant_id"])):  # the token's row is the tenant's
        stored = db.session.scalars(select(RefreshToken).where(RefreshToken.session_id == login.id)).all()
    assert [t.token_hash for t in stored] == [hashlib.sha256(refresh["jti"].encode()).hexdigest()]
    assert _emails_to(db, "ada@acme.example") == 1  # the welcome email


def test_signup_lists_each_bad_field(client, db):
    response = client.post("/api/auth/signup", json={**SIGNUP, "password": "password", "email": "nope"})
    body = assert_problem(response, 422, fields=("password", "email"))
    assert "too easy to guess" in body["errors"]["password"][0] or "at least" in body["errors"]["password"][0]


def test_signup_without_company_says_the_field_is_required(client, db):
    body = {k: v for k, v in SIGNUP.items() if k != "company"}
    problem = assert_problem(client.post("/api/auth/signup", json=body), 422, fields=("company",))
    assert problem["errors"]["company"] == ["This field is required."]


def test_signup_with_taken_email_is_rejected(client, factories):
    factories.UserFactory(email="ada@acme.example")
    problem = assert_problem(client.post("/api/auth/signup", json=SIGNUP), 422, fields=("email",))
    assert "already exists" in problem["errors"]["email"][0]


# ---- request bodies


def test_malformed_json_is_a_400_problem(client, db):
    response = client.post("/api/auth/login", data='{"email": ', content_type="application/json")
    problem = assert_problem(response, 400)
    assert "not valid JSON" in problem["detail"]


def test_json_that_is_not_an_object_is_a_400_problem(client, db):
    problem = assert_problem(client.post("/api/auth/login", json=["a", "b"]), 400)
    assert problem["detail"] == "The request body must be a JSON object."


def test_form_encoded_body_is_refused_with_415(client, db):
    response = client.post("/api/auth/login", data={"email": "a@b.example", "password": "x"})
    problem = assert_problem(response, 415)
    assert "Content-Type: application/json" in problem["detail"]


def test_unknown_and_mistyped_fields_are_named(client, db):
    response = client.post("/api/auth/login", json={"email": 42, "password": "x", "remember": True})
    problem = assert_problem(response, 422, fields=("email", "remember"))
    assert problem["errors"]["email"] == ["Must be a string."]
    assert problem["errors"]["remember"] == ["Unknown field."]


# ---- login


def test_login_returns_tokens_for_the_first_workspace(client, app, factories):
    user = factories.UserFactory()
    first = factories.TenantFactory(name="Alpha")
    factories.member(first, "viewer", user=user)
    factories.member(factories.TenantFactory(name="Beta"), "admin", user=user)
    response = client.post("/api/auth/login", json={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["tenant"]["slug"] == first.slug
    assert claims(app, body["access_token"])["role"] == "viewer"


def test_login_with_tenant_slug_picks_that_workspace(client, app, factories):
    user = factories.UserFactory()
    factories.member(factories.TenantFactory(name="Alpha"), "viewer", user=user)
    beta = factories.TenantFactory(name="Beta")
    factories.member(beta, "admin", user=user)
    response = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD, "tenant": beta.slug})
    assert response.status_code == 200, response.get_json()
    token = claims(app, response.get_json()["access_token"])
    assert token["tenant_id"] == str(beta.id)
    assert token["role"] == "admin"


def test_login_to_a_workspace_you_do_not_belong_to_is_refused(client, factories):
    user = factories.member(factories.TenantFactory(), "user")
    other = factories.TenantFactory()
    response = client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD, "tenant": other.slug})
    assert_problem(response, 422, fields=("tenant",))


def test_login_without_any_workspace_is_forbidden_with_a_reason(client, factories):
    user = factories.UserFactory()
    problem = assert_problem(client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}), 403)
    assert "do not belong to any workspace" in problem["detail"]


def test_wrong_password_and_unknown_email_get_the_same_401(client, factories, rows):
    tenant = factories.TenantFactory()
    user = factories.member(tenant, "user")
    wrong = client.post("/api/auth/login", json={"email": user.email, "password": "not it at all"})
    unknown = client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "not it at all"})
    assert assert_problem(wrong, 401) == assert_problem(unknown, 401)
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    failed = rows(tenant, AuditLog, AuditLog.action == "user.login_failed")
    assert [entry.actor_id for entry in failed] == [user.id]


def test_login_is_audited_in_the_users_tenants(client, factories, rows, api_login):
    tenant = factories.TenantFactory()
    user = factories.member(tenant, "user")
    api_login(user)
    entries = rows(tenant, AuditLog, AuditLog.action == "user.login")
    assert [(e.actor_id, e.details) for e in entries] == [(user.id, {"via": "api"})]


def test_api_is_exempt_from_csrf_and_login_is_throttled(strict_client):
    attempts = [strict_client.post("/api/auth/login", json={"email": "nobody@example.com"}) for _ in range(11)]
    # Without the CSRF exemption these would be 400s; the eleventh hits "10 per minute".
    assert [r.status_code for r in attempts[:10]] == [422] * 10
    problem = assert_problem(attempts[10], 429)
    assert "Too many attempts" in problem["detail"]


# ---- password reset


def test_forgot_password_answers_the_same_for_known_and_unknown_emails(client, db, factories):
    user = factories.UserFactory()
    known = client.post("/api/auth/forgot-password", json={"email": user.email})
    unknown = client.post("/api/auth/forgot-password", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()
    assert _emails_to(db, user.email) == 1
    assert _emails_to(db, "nobody@example.com") == 0


def test_forgot_password_with_a_malformed_email_says_so(client, db):
    assert_problem(client.post("/api/auth/forgot-password", json={"email": "not an email"}), 422, fields=("email",))


def test_reset_password_changes_it_and_ends_api_sessions(client, app, db, factories, tokens):
    user = factories.member(factories.TenantFactory(), "user")
    old = tokens(user)
    token = accounts.make_reset_token(user, app.config["SECRET_KEY"])
    response = client.post("/api/auth/reset-password", json={"token": token, "password": STRONG})
    assert response.status_code == 200, response.get_json()
    assert_problem(client.get("/api/tenants/me", headers=auth(old["access_token"])), 401)
    assert_problem(client.post("/api/auth/refresh", json={"refresh_token": old["refresh_token"]}), 401)
    assert client.post("/api/auth/login", json={"email": user.email, "password": STRONG}).status_code == 200
    again = client.post("/api/auth/reset-password", json={"token": token, "password": STRONG + "x"})
    assert "already been used" in assert_problem(again, 400)["detail"]


def test_reset_password_with_a_bad_token_or_weak_password_is_refused(client, app, db, factories):
    user = factories.UserFactory()
    db.session.commit()  # an API error rolls back the request's work; keep the fixture rows
    assert_problem(client.post("/api/auth/reset-password", json={"token": "forged", "password": STRONG}), 400)
    token = accounts.make_reset_token(user, app.config["SECRET_KEY"])
    weak = client.post("/api/auth/reset-password", json={"token": token, "password": "short"})
    assert_problem(weak, 422, fields=("password",))


def test_failed_signup_creates_no_account(client, db):
    assert_problem(client.post("/api/auth/signup", json={**SIGNUP, "password": "weak"}), 422, fields=("password",))
    assert accounts.get_user_by_email(db.session, SIGNUP["email"]) is None
