"""API routes: auth (signup, login, refresh, logout, password reset) and tenant administration.

Every route parses a JSON body with a pydantic model, calls services and commits
once. Bearer-authenticated routes resolve the tenant from the access token and put
it in the ORM/RLS context, with `g.tenant` and `g.membership`, for the request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import Response, current_app, g, jsonify, request
from pydantic import ValidationError

from aerospec import inputs
from aerospec.accounts import login_policy
from aerospec.accounts import services as accounts
from aerospec.accounts.models import User
from aerospec.api import bp, key_auth, key_services
from aerospec.api import services as api
from aerospec.api.schemas import (
    Body,
    ForgotPasswordBody,
    InviteBody,
    LoginBody,
    NewAccountBody,
    RefreshBody,
    ResetPasswordBody,
    RoleBody,
    SignupBody,
    TenantDeleteBody,
    TenantUpdateBody,
    field_errors,
)
from aerospec.billing import enforcement, usage
from aerospec.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidToken,
    PermissionDenied,
    ValidationFailed,
)
from aerospec.extensions import db, limiter
from aerospec.limits import counters
from aerospec.limits.effective import effective_features, effective_limits
from aerospec.limits.messages import API_CALLS
from aerospec.models import isoformat, utcnow
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.models import Invitation, Membership, Tenant
from aerospec.tenancy.permissions import ensure_permitted, permits
from aerospec.tenancy.scoping import reset_tenant, set_tenant
from aerospec.web.client import client_info
from aerospec.web.errors import problem

# Request floods per client address: generous for people, tight for scripts. Guessing at one account
# from many addresses, and reset bombing, are login_policy's (the same policy as the pages).
AUTH_LIMIT = "10 per minute;50 per hour"


def _begin_attempt(email: str | None) -> login_policy.Attempt:
    """Count a sign-in attempt (TooManyAttempts: 429 problem+json with Retry-After)."""
    return login_policy.policy().begin(
        email=email, ip=client_info().ip_address, device_cookie=request.cookies.get(login_policy.DEVICE_COOKIE)
    )


def _with_device(response: Response, attempt: login_policy.Attempt, email: str | None = None) -> Response:
    """A successful sign-in: clear the account's count and remember this client (if it keeps cookies)."""
    login_policy.set_device_cookie(response, login_policy.policy().succeeded(attempt, email=email))
    return response


B = TypeVar("B", bound=Body)


class MalformedBody(DomainError):
    status = 400
    title = "Malformed request body"


class UnsupportedBody(DomainError):
    status = 415
    title = "Unsupported media type"


# ---- plumbing: bodies, bearer tokens, tenant context, errors


def _settings() -> api.TokenSettings:
    config = current_app.config
    return api.TokenSettings(
        secret=config["SECRET_KEY"],
        access_seconds=int(config["JWT_ACCESS_SECONDS"]),
        refresh_seconds=int(config["JWT_REFRESH_SECONDS"]),
    )


def parse_body(model: type[B]) -> B:
    """The request's JSON object validated by `model`; 400/415/422 problems otherwise."""
    raw = request.get_data(cache=True)
    data: object = {}
    if raw.strip():
        if not request.is_json:
            raise UnsupportedBody("Send the body as JSON with the header Content-Type: application/json.")
        try:
            data = inputs.load_json(raw)
        except inputs.MalformedJson as exc:
            raise MalformedBody(str(exc)) from exc
    if not isinstance(data, dict):
        raise MalformedBody("The request body must be a JSON object.")
    # Before the model sees it: text PostgreSQL refuses, and numbers no column or formula can hold.
    unstorable = inputs.json_problems(data)
    if unstorable:
        raise ValidationFailed("Check the fields listed in errors.", field_errors=unstorable)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("Check the fields listed in errors.", field_errors=field_errors(exc)) from exc


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Send the access token as: Authorization: Bearer <token>.")
    return token.strip()


def _authenticate(token: str, *, require_member: bool = True) -> None:
    """Load the session, tenant and membership of an access token into `g` and the tenant context."""
    login, claims = api.authenticate_access_token(db.session, token, _settings())
    if accounts.touch_session(login, client_info()):
        db.session.commit()
    g._api_tenant_token = set_tenant(db.session, claims["tenant_id"])
    g.api_session = login
    g.api_user = login.user
    membership = api.membership_in(db.session, login.user, claims["tenant_id"])
    if membership is None and require_member:
        raise AuthenticationFailed("You are no longer a member of this workspace. Log in again.")
    g.membership = membership
    g.tenant = membership.tenant if membership else None


API_DENIED = (
    "Your role cannot use the API. It is open to workspace admins, and to users when an admin "
    "allows it in the workspace settings; viewers use the web app."
)


def can_use_api(membership) -> bool:
    """The role matrix's "API access": admins yes, users if the workspace allows it, viewers no; any live key."""
    return permits(membership, "api_access")


def bearer_required(view: Callable | None = None, *, require_member: bool = True) -> Callable:
    """View decorator: a valid access token of an open session (and, by default, a current member)."""

    def decorator(func: Callable) -> Callable:
        @wraps(func)
        def wrapped(*args, **kwargs):
            token = _bearer_token() or key_auth.key_from_query()
            if token is None:
                raise AuthenticationFailed("Send an access token or API key: Authorization: Bearer <token>.")
            if key_services.looks_like_key(token):  # an API key: the workspace with the key's scopes
                key_auth.authenticate_key(token, require_member=require_member)
            else:
                _authenticate(token, require_member=require_member)
                key_auth.count_burst(f"session:{g.api_session.id}")
            blocked = enforcement.check(g.tenant)  # a read-only or suspended workspace: 402 with the reason
            if blocked is not None:
                return blocked
            if require_member and not can_use_api(g.membership):
                raise PermissionDenied(API_DENIED)
            # The plan's API gate and monthly call limit (402 with an upgrade message).
            if require_member:
                counter, now = counters.counter_for(current_app), utcnow()
                wrote = usage.count_api_call(db.session, g.tenant, counter, now)
                # Held until the answer: a call answered 4xx or 5xx gives its unit back (release_failed_api_call).
                g._api_call = (g.tenant.id, counter, now, counters.quota_key(g.tenant, API_CALLS, now))
                if wrote:
                    db.session.commit()  # the month's count (no Redis) or a threshold notice
            return func(*args, **kwargs)

        return wrapped

    return decorator(view) if view is not None else decorator


@bp.after_request
def release_failed_api_call(response: Response) -> Response:
    """A call refused (4xx) or failed (5xx) after it was counted does not use up the month's API calls."""
    held = g.pop("_api_call", None)
    if held is not None and response.status_code >= 400:
        tenant_id, counter, now, key = held
        db.session.rollback()  # whatever the failed call left unwritten stays so
        usage.release_api_call(db.session, tenant_id, counter, now, key)
        db.session.commit()
    return response


@bp.teardown_request
def clear_api_tenant(exc: BaseException | None) -> None:
    """Take the token's tenant out of context when the request ends."""
    token = g.pop("_api_tenant_token", None)
    if token is not None:
        reset_tenant(db.session, token)


@bp.errorhandler(AuthenticationFailed)
def handle_authentication_failed(error: AuthenticationFailed) -> Response:
    """401 problem+json with the WWW-Authenticate challenge bearer clients expect."""
    db.session.rollback()
    challenge = 'Bearer realm="api"'
    if request.headers.get("Authorization"):
        challenge += ', error="invalid_token"'
    return problem(401, error.title, error.message, headers={"WWW-Authenticate": challenge})


def _no_store(response: Response) -> Response:
    # SECURITY: token responses must not be cached by browsers or proxies.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def user_json(user: User) -> dict:
    """A user as the API shows them."""
    return {"id": str(user.id), "email": user.email, "name": user.name}


def tenant_json(tenant: Tenant, membership: Membership | None = None) -> dict:
    """A tenant as the API shows it (with the caller's role when given)."""
    body = {
        "id": str(tenant.id),
        "name": tenant.name,
        "slug": tenant.slug,
        "plan": tenant.plan,
        "subscription_status": tenant.subscription_status,
        "trial_ends_at": isoformat(tenant.trial_ends_at),
    }
    if membership is not None:
        body["role"] = membership.role
    return body


def member_json(membership: Membership) -> dict:
    """A member: the user and their role in the tenant."""
    return {
        **user_json(membership.user),
        "user_id": str(membership.user_id),
        "role": membership.role,
        "joined_at": isoformat(membership.created_at),
    }


def invitation_json(invitation: Invitation) -> dict:
    """An invitation without its secret token."""
    return {
        "id": str(invitation.id),
        "email": invitation.email,
        "role": invitation.role,
        "status": invitation.status,
        "expires_at": isoformat(invitation.expires_at),
        "created_at": isoformat(invitation.created_at),
        "invited_by": user_json(invitation.invited_by) if invitation.invited_by else None,
        "send_count": invitation.send_count,
    }


def tokens_body(pair: api.TokenPair) -> dict:
    """The token pair with the user and tenant it is for (build it before committing:
    on PostgreSQL the membership cannot be reloaded once its tenant leaves the context)."""
    membership = pair.membership
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
        "refresh_expires_in": pair.refresh_expires_in,
        "user": user_json(membership.user),
        "tenant": tenant_json(membership.tenant, membership),
    }


def tokens_response(body: dict, status: int = 200) -> Response:
    """A token answer that nothing may cache."""
    response = jsonify(body)
    response.status_code = status
    return _no_store(response)


# ---- auth


@bp.post("/auth/signup")
@limiter.limit(AUTH_LIMIT)
def signup() -> Response:
    """Start a 14-day trial: account, workspace and admin seat; answers with tokens."""
    body = parse_body(SignupBody)
    user, tenant = tenancy.sign_up(
        db.session,
        email=body.email,
        password=body.password,
        name=body.name,
        company=body.company,
        client=client_info(),
    )
    membership = api.membership_in(db.session, user, tenant.id)
    pair = api.start_api_session(db.session, user, membership, client_info(), _settings())
    tenancy.record_for_user_tenants(db.session, user, "user.login", client_info(), details={"via": "api"})
    body = tokens_body(pair)
    db.session.commit()
    return tokens_response(body, 201)


@bp.post("/auth/login")
@limiter.limit(AUTH_LIMIT)
def login() -> Response:
    """Log in with email and password (and a workspace slug when you belong to several)."""
    body = parse_body(LoginBody)
    attempt = _begin_attempt(body.email)  # SECURITY: before the password, the same for any email
    user = accounts.authenticate(db.session, body.email, body.password)
    if user is None:
        known = accounts.get_user_by_email(db.session, body.email)
        login_policy.policy().failed(attempt, db.session, known, client_info())
        if known is not None:
            tenancy.record_for_user_tenants(
                db.session, known, "user.login_failed", client_info(), details={"via": "api"}
            )
            db.session.commit()
        # SECURITY: the same answer whether or not the email exists.
        raise AuthenticationFailed("That email and password do not match an account.")
    if user.is_platform_admin and not body.tenant and not tenancy.memberships_for_user(db.session, user):
        # A platform admin outside every workspace: a token for the admin API (no workspace to log in to).
        answer = api.start_admin_api_session(db.session, user, client_info(), _settings())
        db.session.commit()
        return _with_device(tokens_response(answer), attempt)
    try:
        membership = api.choose_membership(db.session, user, body.tenant)
    except DomainError:
        login_policy.policy().cancel(attempt)  # the right password, an unknown workspace: not a guess
        raise
    pair = api.start_api_session(db.session, user, membership, client_info(), _settings())
    tenancy.record_for_user_tenants(db.session, user, "user.login", client_info(), details={"via": "api"})
    answer = tokens_body(pair)
    db.session.commit()
    return _with_device(tokens_response(answer), attempt)


@bp.post("/auth/refresh")
@limiter.limit(AUTH_LIMIT)
def refresh() -> Response:
    """Trade a refresh token for a new pair; the old one stops working."""
    body = parse_body(RefreshBody)
    try:
        pair = api.rotate_refresh_token(db.session, body.refresh_token, _settings(), client_info())
    except api.RefreshTokenReused:
        db.session.commit()  # SECURITY: the session must stay ended although the request fails
        raise
    answer = tokens_body(pair)
    db.session.commit()
    return tokens_response(answer)


@bp.post("/auth/logout")
@bearer_required(require_member=False)
def logout() -> Response:
    """End this API session: its access and refresh tokens stop working."""
    api.end_api_session(db.session, g.api_session, "logout")
    tenancy.record_for_user_tenants(db.session, g.api_user, "user.logout", client_info(), details={"via": "api"})
    db.session.commit()
    return Response(status=204)


FORGOT_MESSAGE = (
    "If an account exists for that email, we sent it a link to reset the password. "
    "The link works once, within one hour."
)


@bp.post("/auth/forgot-password")
@limiter.limit(AUTH_LIMIT)
def forgot_password() -> tuple[Response, int]:
    """Email a reset link; the answer is the same whether or not the email exists."""
    body = parse_body(ForgotPasswordBody)
    email = accounts.normalise_email(body.email)
    login_policy.policy().reserve_reset_email(email)  # SECURITY: per address, whether or not it has an account
    accounts.request_password_reset(db.session, email, current_app.config["SECRET_KEY"])
    db.session.commit()
    return jsonify({"detail": FORGOT_MESSAGE}), 202


@bp.post("/auth/reset-password")
@limiter.limit(AUTH_LIMIT)
def reset_password() -> Response:
    """Set a new password from an emailed reset token; every session is logged out."""
    body = parse_body(ResetPasswordBody)
    secret = current_app.config["SECRET_KEY"]
    # The configured lifetime is checked first; reset_password then re-checks with its default.
    max_age = current_app.config["PASSWORD_RESET_MAX_AGE"]
    accounts.user_for_reset_token(db.session, body.token, secret, max_age)
    user = accounts.reset_password(db.session, body.token, body.password, secret)
    tenancy.record_for_user_tenants(db.session, user, "user.password_reset", client_info(), details={"via": "api"})
    db.session.commit()
    return _no_store(
        jsonify({"detail": "Your password was changed and every session was logged out. Log in with the new password."})
    )


# ---- the tenant of the token


@bp.get("/tenants/me")
@bearer_required
def get_tenant() -> Response:
    """Your workspace: plan, trial, features, limits, seats and your role."""
    ensure_permitted(g.membership, "view_configurations")
    usage = tenancy.seat_usage(db.session, g.tenant)
    return jsonify(
        {
            **tenant_json(g.tenant, g.membership),
            "billing_email": g.tenant.billing_email,
            "trial_days_left": tenancy.trial_days_left(g.tenant),
            "features": effective_features(g.tenant),
            "limits": effective_limits(g.tenant),
            "seats": {"members": usage.members, "pending_invitations": usage.pending, "limit": usage.limit},
        }
    )


@bp.put("/tenants/me")
@bearer_required
def update_tenant() -> Response:
    """Change the workspace name and/or billing email (admins)."""
    body = parse_body(TenantUpdateBody)
    if body.name is None and body.billing_email is None:
        raise ValidationFailed(
            "Send name, billing_email or both.", field_errors={"name": ["Send name, billing_email or both."]}
        )
    tenant = tenancy.update_settings(
        db.session,
        g.tenant,
        g.membership,
        name=g.tenant.name if body.name is None else body.name,
        billing_email=g.tenant.billing_email if body.billing_email is None else body.billing_email,
        client=client_info(),
    )
    db.session.commit()
    return jsonify({**tenant_json(tenant, g.membership), "billing_email": tenant.billing_email})


@bp.delete("/tenants/me")
@bearer_required
def delete_tenant() -> Response:
    """Delete the workspace (admins, who confirm by sending its slug); purged after 30 days."""
    body = parse_body(TenantDeleteBody)
    tenant = tenancy.delete_tenant(
        db.session, g.tenant, g.membership, confirmation=body.confirmation, client=client_info()
    )
    db.session.commit()
    return jsonify(
        {
            "detail": f"{tenant.name} was deleted. Its data will be purged in {tenancy.PURGE_AFTER_DAYS} days.",
            "deleted_at": isoformat(tenant.deleted_at),
        }
    )


# ---- members and invitations


@bp.get("/tenants/members")
@bearer_required
def list_members() -> Response:
    """The workspace's members with their roles."""
    ensure_permitted(g.membership, "view_configurations")
    return jsonify({"members": [member_json(m) for m in tenancy.list_members(db.session, g.tenant)]})


@bp.post("/tenants/members/invite")
@bearer_required
def invite_member() -> tuple[Response, int]:
    """Invite someone by email with a role (admins); the link goes by email only."""
    body = parse_body(InviteBody)
    invitation, _token = tenancy.invite(
        db.session, g.tenant, g.membership, email=body.email, role=body.role, client=client_info()
    )
    db.session.commit()
    return jsonify(invitation_json(invitation)), 201


@bp.put("/tenants/members/<uuid:user_id>")
@bearer_required
def change_member_role(user_id: uuid.UUID) -> Response:
    """Give a member another role (admins); the last admin stays an admin."""
    body = parse_body(RoleBody)
    member = tenancy.change_role(db.session, g.tenant, g.membership, user_id, body.role, client_info())
    db.session.commit()
    return jsonify(member_json(member))


@bp.delete("/tenants/members/<uuid:user_id>")
@bearer_required
def remove_member(user_id: uuid.UUID) -> Response:
    """Remove a member from the workspace (admins); the last admin cannot be removed."""
    tenancy.remove_member(db.session, g.tenant, g.membership, user_id, client_info())
    db.session.commit()
    return Response(status=204)


@bp.get("/tenants/invitations")
@bearer_required
def list_invitations() -> Response:
    """The workspace's invitations that are not yet accepted, newest first."""
    ensure_permitted(g.membership, "view_configurations")
    invitations = [i for i in tenancy.list_invitations(db.session, g.tenant) if i.status != "accepted"]
    return jsonify({"invitations": [invitation_json(i) for i in invitations]})


@bp.post("/tenants/invitations/<token>/accept")
@limiter.limit(AUTH_LIMIT)
def accept_invitation(token: str) -> Response | tuple[Response, int]:
    """Join a workspace: with an access token as yourself, or with {name, password} as a new account."""
    bearer = _bearer_token()
    if bearer is not None:
        _authenticate(bearer, require_member=False)
        parse_body(Body)  # no fields expected; rejects stray ones
    # SECURITY: the invitation token is the secret here: wrong ones count against this client address.
    attempt = _begin_attempt(None)
    try:
        invitation = tenancy.invitation_for_token(db.session, token)
    except InvalidToken:
        login_policy.policy().failed(attempt)
        raise
    try:
        if bearer is not None:
            membership = tenancy.accept_invitation(db.session, token, g.api_user, client_info())
            answer = {"tenant": tenant_json(membership.tenant, membership), "user": user_json(g.api_user)}
            db.session.commit()
            login_policy.policy().succeeded(attempt)
            return jsonify(answer), 200
        if accounts.get_user_by_email(db.session, invitation.email) is not None:
            raise Conflict(
                f"An account for {invitation.email} already exists. Log in and accept the invitation "
                "with your access token (Authorization: Bearer <token>)."
            )
        body = parse_body(NewAccountBody)
        user, membership = tenancy.accept_invitation_as_new_user(
            db.session, token, name=body.name, password=body.password, client=client_info()
        )
    except DomainError:
        login_policy.policy().cancel(attempt)  # a valid link, a form problem or a full workspace: not a guess
        raise
    pair = api.start_api_session(db.session, user, membership, client_info(), _settings())
    answer = tokens_body(pair)
    email = user.email
    db.session.commit()
    return _with_device(tokens_response(answer, 201), attempt, email)
