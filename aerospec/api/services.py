"""API tokens: JWT access/refresh pairs bound to a recorded login session.

An access token lives JWT_ACCESS_SECONDS and is accepted only while its session is
open and its user is still a member of its tenant. A refresh token lives
JWT_REFRESH_SECONDS, is stored as the sha256 of its jti, and is single-use: using it
marks it used and issues a new pair; presenting a used one again ends the whole
session (reuse detection). Plain functions; they flush but never commit.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aerospec.accounts import services as accounts
from aerospec.accounts.models import RefreshToken, User, UserSession
from aerospec.errors import AuthenticationFailed, PermissionDenied, ValidationFailed
from aerospec.limits.effective import effective_features
from aerospec.models import utcnow
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.models import Membership, Tenant
from aerospec.tenancy.scoping import tenant_scope

ALGORITHM = "HS256"
ACCESS = "access"
REFRESH = "refresh"
REQUIRED_CLAIMS = ["sub", "tenant_id", "sid", "type", "jti", "iat", "exp"]


class RefreshTokenReused(AuthenticationFailed):
    """A used refresh token came back: the session was ended (the caller must commit that)."""


@dataclass(frozen=True)
class TokenSettings:
    """The signing key and lifetimes (from SECRET_KEY, JWT_ACCESS_SECONDS, JWT_REFRESH_SECONDS)."""

    secret: str
    access_seconds: int
    refresh_seconds: int


@dataclass(frozen=True)
class TokenPair:
    """What a client receives after login, signup or refresh."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    membership: Membership


def _hash(jti: str) -> str:
    return hashlib.sha256(jti.encode()).hexdigest()


def _encode(claims: dict, settings: TokenSettings) -> str:
    return jwt.encode(claims, settings.secret, algorithm=ALGORITHM)


def membership_in(session: Session, user: User, tenant_id: uuid.UUID) -> Membership | None:
    """The user's membership in a live tenant, or None (deleted tenant or not a member)."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or tenant.deleted_at is not None:
        return None
    with tenant_scope(session, tenant.id):
        return tenancy.get_membership(session, tenant, user)


def choose_membership(session: Session, user: User, tenant_slug: str | None) -> Membership:
    """The tenant a login is for: the one named by slug, else the user's first workspace."""
    memberships = tenancy.memberships_for_user(session, user)
    if tenant_slug:
        for membership in memberships:
            if membership.tenant.slug == tenant_slug.strip().lower():
                return membership
        raise ValidationFailed(
            field_errors={
                "tenant": [
                    "You are not a member of a workspace with that address. "
                    "Leave it out to log in to your first workspace."
                ]
            }
        )
    if not memberships:
        raise PermissionDenied("You do not belong to any workspace yet. Accept an invitation or sign up.")
    return memberships[0]


def issue_tokens(session: Session, login: UserSession, membership: Membership, settings: TokenSettings) -> TokenPair:
    """Sign a new access/refresh pair for the session and record the refresh token."""
    now = utcnow()
    iat = int(now.timestamp())
    base = {
        "sub": str(login.user_id),
        "tenant_id": str(membership.tenant_id),
        "email": membership.user.email,
        "role": membership.role,
        "features": effective_features(membership.tenant),
        "sid": str(login.id),
        "iat": iat,
    }
    access = _encode(
        {**base, "type": ACCESS, "jti": secrets.token_urlsafe(16), "exp": iat + settings.access_seconds},
        settings,
    )
    refresh_jti = secrets.token_urlsafe(32)
    refresh = _encode({**base, "type": REFRESH, "jti": refresh_jti, "exp": iat + settings.refresh_seconds}, settings)
    # The row is the tenant's (row-level security): written with that tenant in context.
    with tenant_scope(session, membership.tenant_id):
        session.add(
            RefreshToken(
                session_id=login.id,
                user_id=login.user_id,
                tenant_id=membership.tenant_id,
                token_hash=_hash(refresh_jti),
                issued_at=now,
                expires_at=datetime.fromtimestamp(iat + settings.refresh_seconds, now.tzinfo),
            )
        )
        session.flush()
    return TokenPair(access, refresh, settings.access_seconds, settings.refresh_seconds, membership)


# The tenant claim of a platform admin's token when the admin belongs to no workspace: no tenant at all.
NO_TENANT = uuid.UUID(int=0)


def start_admin_api_session(session: Session, user: User, client, settings: TokenSettings) -> dict:
    """An API session for a platform admin outside every workspace: an access token for the admin API
    (no refresh token: those are a workspace's rows; log in again when it expires)."""
    login = accounts.start_session(session, user, client, kind="api")
    now = utcnow()
    iat = int(now.timestamp())
    access = _encode(
        {
            "sub": str(user.id),
            "tenant_id": str(NO_TENANT),
            "email": user.email,
            "role": "platform_admin",
            "sid": str(login.id),
            "iat": iat,
            "type": ACCESS,
            "jti": secrets.token_urlsafe(16),
            "exp": iat + settings.access_seconds,
        },
        settings,
    )
    return {
        "access_token": access,
        "refresh_token": None,
        "token_type": "Bearer",
        "expires_in": settings.access_seconds,
        "user": {"id": str(user.id), "email": user.email, "name": user.name},
        "tenant": None,
        "platform_admin": True,
    }


def start_api_session(
    session: Session, user: User, membership: Membership, client, settings: TokenSettings
) -> TokenPair:
    """Record an API login session for the user in the membership's tenant and issue tokens."""
    login = accounts.start_session(session, user, client, kind="api")
    return issue_tokens(session, login, membership, settings)


def decode_token(token: str, expected_type: str, settings: TokenSettings) -> dict:
    """The verified claims of a token of the expected type; AuthenticationFailed says why not."""
    label = "access token" if expected_type == ACCESS else "refresh token"
    try:
        claims = jwt.decode(token, settings.secret, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError as exc:
        hint = "Get a new one from /api/auth/refresh." if expected_type == ACCESS else "Log in again."
        raise AuthenticationFailed(f"The {label} has expired. {hint}") from exc
    except jwt.InvalidTokenError as exc:
        raise AuthenticationFailed(f"The {label} is not valid.") from exc
    if claims.get("type") != expected_type:
        raise AuthenticationFailed(f"That is not an {label}." if expected_type == ACCESS else f"That is not a {label}.")
    try:
        claims["sid"] = uuid.UUID(str(claims["sid"]))
        claims["tenant_id"] = uuid.UUID(str(claims["tenant_id"]))
        claims["sub"] = uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise AuthenticationFailed(f"The {label} is not valid.") from exc
    return claims


def authenticate_access_token(session: Session, token: str, settings: TokenSettings) -> tuple[UserSession, dict]:
    """The open API session an access token belongs to, with its claims."""
    claims = decode_token(token, ACCESS, settings)
    login = accounts.load_active_session(session, claims["sid"])
    # SECURITY: logout, revocation and password changes end the session, which kills its access tokens.
    if login is None or login.kind != "api" or login.user_id != claims["sub"]:
        raise AuthenticationFailed("This session has ended (logged out or revoked). Log in again.")
    return login, claims


def end_api_session(session: Session, login: UserSession, reason: str) -> None:
    """End an API session and revoke its refresh tokens (its access tokens die with it)."""
    accounts.end_session(login, reason)
    accounts.revoke_refresh_tokens(session, [login.id])


def rotate_refresh_token(session: Session, token: str, settings: TokenSettings, client) -> TokenPair:
    """Trade a refresh token for a new pair; a reused token ends its whole session."""
    claims = decode_token(token, REFRESH, settings)
    # SECURITY: the token is looked up only in the workspace its verified signature names (its row is
    # that tenant's, under row-level security): no bypass, and a token of one tenant finds nothing in another.
    with tenant_scope(session, claims["tenant_id"]):
        return _rotate(session, claims, settings, client)


def _rotate(session: Session, claims: dict, settings: TokenSettings, client) -> TokenPair:
    token_hash = _hash(str(claims["jti"]))
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
    if row is None or row.session_id != claims["sid"] or row.user_id != claims["sub"]:
        raise AuthenticationFailed("The refresh token is not valid.")
    if row.revoked_at is not None:
        raise AuthenticationFailed("This refresh token was revoked (logged out or session ended). Log in again.")
    login = session.get(UserSession, row.session_id)
    # SECURITY: mark used with a conditional update so two concurrent uses cannot both succeed.
    marked = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(row)
    if marked != 1:
        _end_for_reuse(session, login, client)
    if login is None or login.ended_at is not None:
        raise AuthenticationFailed("This session has ended (logged out or revoked). Log in again.")
    membership = membership_in(session, login.user, row.tenant_id)
    if membership is None:
        raise AuthenticationFailed("You are no longer a member of this workspace. Log in again.")
    return issue_tokens(session, login, membership, settings)


def _end_for_reuse(session: Session, login: UserSession | None, client) -> None:
    if login is not None:
        end_api_session(session, login, "refresh_token_reused")
        tenancy.record_for_user_tenants(
            session,
            login.user,
            "session.revoked",
            client,
            details={"session_id": str(login.id), "reason": "refresh_token_reused"},
        )
    raise RefreshTokenReused(
        "This refresh token was already used, so the session was ended to protect your account. Log in again."
    )
