"""Accounts: sign-up, passwords, login sessions, password reset.

Plain functions with explicit arguments; they flush but never commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from aerospec.accounts.models import User, UserSession
from aerospec.errors import InvalidToken, NotFound, ValidationFailed
from aerospec.models import utcnow

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a miss costs as much as a hit.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")

PASSWORD_MIN_LENGTH = 10
# Long passphrases are welcome. argon2 (unlike bcrypt, which ignores bytes past 72) hashes every byte
# of the password, so all 256 characters (up to 1,024 bytes of UTF-8) count at login.
PASSWORD_MAX_LENGTH = 256
# zxcvbn refuses longer inputs (ValueError); the strength verdict is read on this prefix.
ZXCVBN_MAX_LENGTH = 72
PASSWORD_MIN_SCORE = 3
RESET_MAX_AGE = 3600
ACTIVITY_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from; recorded on sessions and in the audit log."""

    ip_address: str | None = None
    user_agent: str | None = None


def normalise_email(raw: str) -> str:
    """Validate an email's syntax and return it lower-cased (ValidationFailed otherwise)."""
    raw = (raw or "").strip()
    if not raw:
        raise ValidationFailed("Enter an email address.", field_errors={"email": ["Enter an email address."]})
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        message = f"That is not a valid email address: {exc}"
        raise ValidationFailed(message, field_errors={"email": [message]}) from exc
    return result.normalized.lower()


def password_problems(password: str, user_inputs: list[str] | tuple = ()) -> list[str]:
    """Why a new password is not acceptable (empty list when it is)."""
    if not password:
        return ["Choose a password."]
    if len(password) < PASSWORD_MIN_LENGTH:
        return [f"Use at least {PASSWORD_MIN_LENGTH} characters."]
    if len(password) > PASSWORD_MAX_LENGTH:
        return [f"Use at most {PASSWORD_MAX_LENGTH} characters."]
    inputs = [value for value in user_inputs if value]
    # zxcvbn raises on more than 72 characters: judge the first 72 (a passphrase weak there is
    # weak, and a strong start stays strong however it goes on).
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=inputs)
    if result["score"] < PASSWORD_MIN_SCORE:
        feedback = result.get("feedback") or {}
        hint = feedback.get("warning") or ""
        suggestions = " ".join(feedback.get("suggestions") or [])
        detail = " ".join(part for part in (hint, suggestions) if part).strip()
        message = "This password is too easy to guess."
        return [f"{message} {detail}".strip()]
    return []


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Check a password in constant-ish time; rehash when argon2 parameters changed."""
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def get_user_by_email(session: Session, email: str) -> User | None:
    """The user with this email (case-insensitive), or None."""
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def validate_name(name: str, field: str = "name", label: str = "your name") -> str:
    """A trimmed, non-empty display name of sensible length."""
    name = re.sub(r"\s+", " ", (name or "").strip())
    if not name:
        raise ValidationFailed(field_errors={field: [f"Enter {label}."]})
    if len(name) > 120:
        raise ValidationFailed(field_errors={field: ["Use at most 120 characters."]})
    return name


def create_user(session: Session, *, email: str, password: str, name: str) -> User:
    """Create a user after validating every field; a taken email is reported plainly."""
    errors: dict[str, list[str]] = {}
    try:
        email = normalise_email(email)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    try:
        name = validate_name(name)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    problems = password_problems(password or "", [email, name])
    if problems:
        errors["password"] = problems
    if "email" not in errors and get_user_by_email(session, email):
        errors["email"] = ["An account with this email already exists. Log in instead, or reset your password."]
    if errors:
        raise ValidationFailed(field_errors=errors)
    user = User(email=email, name=name, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user for these credentials, or None (same cost whether or not the email exists)."""
    user = get_user_by_email(session, email or "")
    if verify_password(user, password or ""):
        return user
    return None


def start_session(
    session: Session, user: User, client: ClientInfo, *, kind: str = "web", remember: bool = False
) -> UserSession:
    """Record a new login session for the user."""
    now = utcnow()
    login = UserSession(
        user_id=user.id,
        kind=kind,
        ip_address=client.ip_address,
        user_agent=(client.user_agent or "")[:400] or None,
        remember=remember,
        started_at=now,
        last_activity_at=now,
    )
    session.add(login)
    user.last_login_at = now
    session.flush()
    return login


def load_active_session(session: Session, session_id: str | uuid.UUID) -> UserSession | None:
    """The login session with this id if it has not ended."""
    try:
        sid = session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(str(session_id))
    except ValueError:
        return None
    login = session.get(UserSession, sid)
    if login is None or login.ended_at is not None:
        return None
    return login


def touch_session(login: UserSession, client: ClientInfo) -> bool:
    """Note activity (at most once a minute, to spare writes); True if it changed."""
    now = utcnow()
    if now - login.last_activity_at < ACTIVITY_RESOLUTION:
        return False
    login.last_activity_at = now
    if client.ip_address:
        login.ip_address = client.ip_address
    return True


def end_session(login: UserSession, reason: str) -> None:
    """End a login session (logout, revoked, password changed)."""
    if login.ended_at is None:
        login.ended_at = utcnow()
        login.end_reason = reason


def list_sessions(session: Session, user: User, *, include_ended: bool = False) -> list[UserSession]:
    """The user's login sessions, newest first."""
    query = select(UserSession).where(UserSession.user_id == user.id)
    if not include_ended:
        query = query.where(UserSession.ended_at.is_(None))
    return list(session.scalars(query.order_by(UserSession.started_at.desc()).limit(100)))


def revoke_session(session: Session, user: User, session_id: uuid.UUID) -> UserSession:
    """End one of the user's own sessions (NotFound for anyone else's)."""
    login = session.get(UserSession, session_id)
    if login is None or login.user_id != user.id:
        raise NotFound("That session does not exist.")
    end_session(login, "revoked")
    revoke_refresh_tokens(session, [login.id])
    return login


def revoke_other_sessions(session: Session, user: User, keep: uuid.UUID | None, reason: str) -> int:
    """End every active session of the user except `keep`; returns how many ended."""
    ended = []
    for login in list_sessions(session, user):
        if login.id != keep:
            end_session(login, reason)
            ended.append(login.id)
    revoke_refresh_tokens(session, ended)
    return len(ended)


def revoke_refresh_tokens(session: Session, session_ids: list[uuid.UUID]) -> int:
    """Revoke every unrevoked refresh token of these login sessions, in whichever workspace; returns how many."""
    from aerospec.accounts.models import RefreshToken
    from aerospec.tenancy.scoping import unscoped

    if not session_ids:
        return 0
    now = utcnow()
    # SECURITY: a user's sessions span workspaces; the bypass reads only the tokens of these sessions,
    # and the flush stays inside it (on PostgreSQL the UPDATE must see the rows it revokes).
    with unscoped(session, "revoke the refresh tokens of ended login sessions"):
        tokens = list(
            session.scalars(
                select(RefreshToken).where(RefreshToken.session_id.in_(session_ids), RefreshToken.revoked_at.is_(None))
            )
        )
        for token in tokens:
            token.revoked_at = now
        session.flush()
    return len(tokens)


def set_password(session: Session, user: User, new_password: str) -> None:
    """Validate and set a new password."""
    problems = password_problems(new_password or "", [user.email, user.name])
    if problems:
        raise ValidationFailed(field_errors={"password": problems})
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()


def change_password(session: Session, user: User, current: str, new: str, keep_session: uuid.UUID | None) -> int:
    """Change the password (the current one is required) and end the other sessions."""
    if not verify_password(user, current or ""):
        raise ValidationFailed(field_errors={"current_password": ["That is not your current password."]})
    if current == new:
        raise ValidationFailed(field_errors={"password": ["Choose a password different from the current one."]})
    set_password(session, user, new)
    return revoke_other_sessions(session, user, keep_session, "password_changed")


# ---- password reset: a signed token bound to the current password hash, so it is
# single-use (the hash changes when it is used) and dies with any other password change.


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="aerospec.password-reset")


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_reset_token(user: User, secret_key: str) -> str:
    """A signed, single-use password reset token."""
    return _serializer(secret_key).dumps({"u": str(user.id), "f": _fingerprint(user)})


def request_password_reset(session: Session, email: str, secret_key: str) -> bool:
    """Queue a reset email if the address has an account; silently nothing otherwise."""
    from aerospec.notifications import services as notifications

    user = get_user_by_email(session, email or "")
    if user is None:
        return False
    token = make_reset_token(user, secret_key)
    notifications.queue_email(session, user.email, "password_reset", user_name=user.name, token=token)
    return True


def user_for_reset_token(session: Session, token: str, secret_key: str, max_age: int = RESET_MAX_AGE) -> User:
    """The user a reset token belongs to; InvalidToken with a clear reason otherwise."""
    try:
        data = _serializer(secret_key).loads(token or "", max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidToken("This reset link has expired (links last one hour). Ask for a new one.") from exc
    except BadSignature as exc:
        raise InvalidToken("This reset link is not valid. Ask for a new one.") from exc
    try:
        user = session.get(User, uuid.UUID(data["u"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidToken("This reset link is not valid. Ask for a new one.") from exc
    if user is None or data.get("f") != _fingerprint(user):
        raise InvalidToken("This reset link has already been used. Ask for a new one if you still need it.")
    return user


def reset_password(session: Session, token: str, new_password: str, secret_key: str) -> User:
    """Set a new password from a reset token, and end every session of the user."""
    user = user_for_reset_token(session, token, secret_key)
    set_password(session, user, new_password)
    revoke_other_sessions(session, user, None, "password_reset")
    return user
