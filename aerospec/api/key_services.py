"""API keys: create (shown once), list, rotate with a grace period, revoke, and authenticate.

A key is `sk_live_` (or `sk_test_` while the deployment runs in test mode) + the workspace id (32 hex) +
48 hex characters of randomness. Only its sha256 is stored. The workspace id in the key lets the lookup
run inside that workspace's scope (row-level security on), like a refresh token's signed tenant claim:
no bypass, and a key whose id part is altered finds nothing. Plain functions; they flush, never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from aerospec.api.models import ApiKey
from aerospec.compliance import services as audit
from aerospec.errors import AuthenticationFailed, PermissionDenied, ValidationFailed
from aerospec.limits.effective import feature_enabled
from aerospec.limits.messages import feature_message
from aerospec.models import get_owned, isoformat, utcnow
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.permissions import KEY_SCOPES, ensure_permitted, expand_scopes
from aerospec.tenancy.scoping import tenant_scope

log = logging.getLogger("aerospec.api.keys")

PREFIXES = {"live": "sk_live_", "test": "sk_test_"}
_KEY = re.compile(r"^sk_(live|test)_([0-9a-f]{32})([0-9a-f]{48})$")
NAME_MAX = 80
EXPIRY_DAYS_MAX = 1095  # three years
GRACE_HOURS_MAX = 168  # a week
KEYS_PER_WORKSPACE = 50

API_NOT_IN_PLAN = "api_access"


class ApiNotInPlan(PermissionDenied):
    title = "The API is not in this workspace's plan"


@dataclass(frozen=True)
class KeyActor:
    """Who a key's request acts as: the workspace with the key's scopes; no person, no role."""

    key: ApiKey
    tenant: Tenant
    api_scopes: frozenset[str] = field(default_factory=frozenset)
    role: None = None
    user: None = None
    user_id: None = None

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.tenant.id


def looks_like_key(token: str) -> bool:
    """Whether a bearer credential is meant as an API key (rather than an access token)."""
    return token.startswith(tuple(PREFIXES.values()))


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def ensure_api_in_plan(tenant: Tenant) -> None:
    """403 naming the plans with the API unless this workspace may use it."""
    if not feature_enabled(tenant, API_NOT_IN_PLAN):
        raise ApiNotInPlan(feature_message(tenant, API_NOT_IN_PLAN))


def status(key: ApiKey, now: datetime | None = None) -> str:
    """active, expiring (rotated, in its grace period), expired or revoked."""
    now = now or utcnow()
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    if key.replaced_by_id is not None:
        return "expiring"
    return "active"


# ---- input, the same rules for the page and the API


def clean_name(name: str | None, errors: dict[str, list[str]]) -> str:
    value = (name or "").strip()
    if not value:
        errors["name"] = ["Give the key a name, e.g. where it is used (“ERP sync”)."]
    elif len(value) > NAME_MAX:
        errors["name"] = [f"Use at most {NAME_MAX} characters."]
    return value


def clean_scopes(scopes: Iterable[str] | None, errors: dict[str, list[str]]) -> list[str]:
    chosen = list(dict.fromkeys(scopes or ()))
    unknown = [s for s in chosen if s not in KEY_SCOPES]
    if unknown:
        errors["scopes"] = [f"Unknown scope {', '.join(unknown)}. Choose from: {', '.join(KEY_SCOPES)}."]
    elif not chosen:
        errors["scopes"] = ["Choose at least one scope: what the key may read or change."]
    return [s for s in KEY_SCOPES if s in chosen]


def clean_expiry_days(days: int | None, errors: dict[str, list[str]], name: str = "expires_in_days") -> int | None:
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= EXPIRY_DAYS_MAX:
        errors[name] = [f"Must be a whole number of days from 1 to {EXPIRY_DAYS_MAX}, or empty for no expiry."]
        return None
    return days


def clean_grace_hours(hours: int | None, errors: dict[str, list[str]], name: str = "grace_period_hours") -> int:
    if hours is None:
        return 24
    if isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours <= GRACE_HOURS_MAX:
        errors[name] = [f"Must be a whole number of hours from 0 (stop at once) to {GRACE_HOURS_MAX} (a week)."]
        return 24
    return hours


# ---- the keys


def _new_secret(tenant: Tenant, mode: str) -> str:
    return f"{PREFIXES[mode]}{tenant.id.hex}{secrets.token_hex(24)}"


def _hint(raw: str, mode: str) -> str:
    return f"{PREFIXES[mode]}…{raw[-4:]}"


def list_keys(session: Session, tenant: Tenant) -> list[ApiKey]:
    """The workspace's keys, newest first (revoked and expired ones too, marked)."""
    return list(
        session.scalars(
            select(ApiKey).where(ApiKey.tenant_id == tenant.id).order_by(ApiKey.created_at.desc(), ApiKey.id)
        )
    )


def get_key(session: Session, tenant: Tenant, key_id) -> ApiKey:
    """One of the workspace's keys (NotFound for another workspace's or none)."""
    return get_owned(session, ApiKey, tenant, key_id, "There is no API key with that id in this workspace.")


def _record(session: Session, actor, key: ApiKey, action: str, client, **details) -> None:
    audit.record(
        session,
        key.tenant_id,
        action,
        actor=getattr(actor, "user", None),
        client=client,
        target_type="api_key",
        target_id=key.id,
        target_name=f"{key.name} ({key.hint})",
        details=details,
    )


def create_key(
    session: Session,
    tenant: Tenant,
    actor,
    *,
    name: str | None,
    scopes: Iterable[str] | None,
    expires_in_days: int | None,
    test_mode: bool,
    client=None,
    now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key with its scopes and expiry: the row and the key itself (shown once, never stored)."""
    ensure_permitted(actor, "manage_api_keys")
    ensure_api_in_plan(tenant)
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    name = clean_name(name, errors)
    chosen = clean_scopes(scopes, errors)
    days = clean_expiry_days(expires_in_days, errors)
    _ensure_room(session, tenant, errors)
    if errors:
        raise ValidationFailed("Check the fields listed in errors.", field_errors=errors)
    # SECURITY: a key cannot hand out what it does not have (a keys:write key minting an all-scopes key).
    held = getattr(actor, "api_scopes", None)
    if held is not None and not set(chosen) <= expand_scopes(held):
        raise PermissionDenied("An API key can only create keys with scopes it has itself.")
    key, raw = _add_key(
        session, tenant, actor, name, chosen, now + timedelta(days=days) if days else None, test_mode=test_mode
    )
    _record(session, actor, key, "api_key.created", client, scopes=chosen, expires_at=isoformat(key.expires_at))
    return key, raw


def _add_key(
    session: Session, tenant: Tenant, actor, name: str, scopes: list[str], expires_at, *, test_mode: bool
) -> tuple[ApiKey, str]:
    """A new key row (flushed) and its secret: the one place a key is minted, for create and rotate."""
    mode = "test" if test_mode else "live"
    raw = _new_secret(tenant, mode)
    key = ApiKey(
        tenant_id=tenant.id,
        name=name,
        mode=mode,
        hint=_hint(raw, mode),
        secret_hash=_hash(raw),
        scopes=scopes,
        expires_at=expires_at,
        created_by_id=getattr(actor, "user_id", None),
    )
    session.add(key)
    session.flush()
    return key, raw


def _ensure_room(session: Session, tenant: Tenant, errors: dict[str, list[str]]) -> None:
    live = [k for k in list_keys(session, tenant) if status(k) in ("active", "expiring")]
    if len(live) >= KEYS_PER_WORKSPACE:
        errors["name"] = [f"A workspace can have {KEYS_PER_WORKSPACE} keys in use. Revoke one you no longer need."]


def rotate_key(
    session: Session,
    tenant: Tenant,
    actor,
    key: ApiKey,
    *,
    grace_period_hours: int | None,
    test_mode: bool,
    client=None,
    now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key with the same name, scopes and expiry; the old one keeps working for the grace period."""
    ensure_permitted(actor, "manage_api_keys")
    ensure_api_in_plan(tenant)
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    hours = clean_grace_hours(grace_period_hours, errors)
    state = status(key, now)
    if state != "active":
        errors["key"] = [
            {
                "expiring": "This key was already rotated; rotate its replacement instead.",
                "expired": "This key has expired; create a new one.",
                "revoked": "This key was revoked; create a new one.",
            }[state]
        ]
    if errors:
        raise ValidationFailed("Check the fields listed in errors.", field_errors=errors)
    new, raw = _add_key(session, tenant, actor, key.name, list(key.scopes), key.expires_at, test_mode=test_mode)
    grace_end = now + timedelta(hours=hours)
    key.expires_at = grace_end if key.expires_at is None else min(key.expires_at, grace_end)
    key.replaced_by_id = new.id
    session.flush()
    _record(
        session, actor, key, "api_key.rotated", client, replaced_by=new.hint, old_key_stops_at=isoformat(key.expires_at)
    )
    return new, raw


def revoke_key(session: Session, tenant: Tenant, actor, key: ApiKey, *, client=None) -> ApiKey:
    """Stop a key at once (a revoked key stays listed as revoked; revoking twice changes nothing)."""
    ensure_permitted(actor, "manage_api_keys")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
        _record(session, actor, key, "api_key.revoked", client)
    return key


def authenticate(session: Session, raw: str, *, now: datetime | None = None) -> ApiKey:
    """The live key `raw` is, looked up in the workspace it names (AuthenticationFailed says why not)."""
    now = now or utcnow()
    match = _KEY.match(raw)
    if match is None:
        raise AuthenticationFailed("That API key is not valid.")
    tenant_id = uuid.UUID(hex=match.group(2))
    digest = _hash(raw)
    # SECURITY: the lookup runs in the scope of the workspace the key names (RLS on): no bypass. A key of
    # tenant A with tenant B's id spliced in is hashed whole, so it matches nothing in B.
    with tenant_scope(session, tenant_id):
        key = session.scalar(select(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.secret_hash == digest))
        tenant = session.get(Tenant, tenant_id) if key is not None else None
    log.info(
        "api key lookup",
        extra={"tenant": str(tenant_id), "api_key": str(key.id) if key else None, "found": key is not None},
    )
    if key is None or not hmac.compare_digest(key.secret_hash, digest):
        raise AuthenticationFailed("That API key is not valid.")
    if tenant is None or tenant.deleted_at is not None:
        raise AuthenticationFailed("That API key's workspace was deleted.")
    state = status(key, now)
    if state == "revoked":
        raise AuthenticationFailed("This API key was revoked. Ask a workspace admin for a new one.")
    if state == "expired":
        raise AuthenticationFailed("This API key has expired. Ask a workspace admin for a new one.")
    return key


def actor_for(key: ApiKey, tenant: Tenant) -> KeyActor:
    """The principal a key's request acts as."""
    return KeyActor(key=key, tenant=tenant, api_scopes=frozenset(key.scopes))


def touch(key: ApiKey, ip_address: str | None, now: datetime | None = None) -> bool:
    """Record when and from where the key was last used (at most once a minute per key): True if changed."""
    now = now or utcnow()
    recent = key.last_used_at is not None and now - key.last_used_at < timedelta(minutes=1)
    if recent and key.last_used_ip == ip_address:
        return False
    key.last_used_at = now
    key.last_used_ip = (ip_address or "")[:45] or None
    return True


def key_to_dict(key: ApiKey, now: datetime | None = None) -> dict:
    """A key as the API shows it (never the secret nor its hash)."""
    return {
        "id": str(key.id),
        "name": key.name,
        "hint": key.hint,
        "mode": key.mode,
        "scopes": list(key.scopes),
        "status": status(key, now),
        "created_at": isoformat(key.created_at),
        "expires_at": isoformat(key.expires_at),
        "revoked_at": isoformat(key.revoked_at),
        "replaced_by_id": str(key.replaced_by_id) if key.replaced_by_id else None,
        "last_used_at": isoformat(key.last_used_at),
        "last_used_ip": key.last_used_ip,
    }
