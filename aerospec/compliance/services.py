"""The audit log: write an entry, read a page of entries with filters, show them with names."""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aerospec import search
from aerospec.accounts.models import User
from aerospec.compliance.models import AuditLog
from aerospec.pagination import Page, window

# The platform admin behind the current request while they view the product as a user (set by
# aerospec.admin.impersonation for the request): every entry written then names both.
_impersonator: ContextVar[dict | None] = ContextVar("aerospec_impersonator", default=None)


def set_impersonator(admin_id: uuid.UUID, admin_email: str, impersonation_id: uuid.UUID):
    """Attribute the entries written from now on to this admin too (returns a token for reset_impersonator)."""
    return _impersonator.set(
        {"admin_id": str(admin_id), "admin_email": admin_email, "impersonation_id": str(impersonation_id)}
    )


def reset_impersonator(token) -> None:
    _impersonator.reset(token)


def current_impersonator() -> dict | None:
    return _impersonator.get()


# The API key behind the current request (set by aerospec.api.keys): a key acts as the workspace, never as
# a person, so the entries it causes name the key instead of a user.
_api_key: ContextVar[dict | None] = ContextVar("aerospec_api_key", default=None)


def set_api_key_actor(key_id: uuid.UUID, name: str, hint: str):
    """Attribute the entries written from now on to this API key (returns a token for reset_api_key_actor)."""
    return _api_key.set({"id": str(key_id), "name": name, "hint": hint})


def reset_api_key_actor(token) -> None:
    _api_key.reset(token)


def api_key_label(name: str, hint: str) -> str:
    """How an audit entry names an API key: its name and the end of the key (never the secret)."""
    return f"API key “{name}” ({hint})"


ACTIONS = {
    "tenant.created": "Workspace created (sign-up)",
    "user.login": "Logged in",
    "user.login_failed": "Failed login",
    "user.logout": "Logged out",
    "user.password_changed": "Password changed",
    "user.password_reset": "Password reset",
    "session.revoked": "Session revoked",
    "invitation.sent": "Invitation sent",
    "invitation.resent": "Invitation resent",
    "invitation.accepted": "Invitation accepted",
    "invitation.revoked": "Invitation revoked",
    "member.role_changed": "Role changed",
    "member.removed": "Member removed",
    "tenant.settings_changed": "Settings changed",
    "tenant.deleted": "Workspace deleted",
    "data.exported": "Data exported",
    "billing.checkout_started": "Subscription checkout started",
    "billing.plan_changed": "Plan changed",
    "billing.cancel_requested": "Subscription set to cancel at period end",
    "billing.resumed": "Subscription resumed",
    "procurement.created": "Order created",
    "procurement.updated": "Order edited",
    "procurement.deleted": "Draft order deleted",
    "procurement.draft": "Order returned to draft",
    "procurement.submitted": "Order submitted",
    "procurement.confirmed": "Order confirmed by supplier",
    "procurement.shipped": "Order shipped",
    "procurement.delivered": "Order delivered",
    "procurement.failed": "Order failed",
    "procurement.cancelled": "Order cancelled",
    "webhook.endpoint_created": "Webhook endpoint added",
    "webhook.endpoint_updated": "Webhook endpoint changed",
    "webhook.endpoint_deleted": "Webhook endpoint deleted",
    "webhook.endpoint_enabled": "Webhook endpoint enabled again",
    "webhook.endpoint_disabled": "Webhook endpoint disabled after failures",
    "webhook.secret_rotated": "Webhook signing secret rotated",
    "webhook.test_sent": "Webhook test event sent",
    "webhook.delivery_replayed": "Webhook delivery replayed",
    "procurement.checkout_started": "Order checkout started",
    "procurement.paid": "Order paid",
    "procurement.payment_failed": "Order payment failed",
    "billing.payment_failed": "Subscription payment failed",
    "billing.status_active": "Subscription active",
    "billing.status_past_due": "Payment overdue: grace period started",
    "billing.status_read_only": "Workspace read-only (payment overdue)",
    "billing.status_suspended": "Workspace suspended (payment overdue)",
    "billing.status_expired": "Trial ended: workspace read-only",
    "billing.status_canceled": "Subscription ended: workspace read-only",
    "billing.plan_overridden": "Plan or limits changed by AeroSpec staff",
    "admin.trial_extended": "Trial extended by AeroSpec staff",
    "admin.suspended": "Workspace suspended by AeroSpec staff",
    "admin.reactivated": "Workspace reactivated by AeroSpec staff",
    "impersonation.started": "AeroSpec support started viewing as a member",
    "impersonation.ended": "AeroSpec support stopped viewing as a member",
    "configuration.created": "Configuration created",
    "configuration.updated": "Configuration edited",
    "configuration.status_changed": "Configuration status changed",
    "configuration.version_restored": "Configuration version restored",
    "configuration.shared": "Configuration shared",
    "configuration.unshared": "Configuration no longer shared",
    "configuration.archived": "Configuration archived",
    "configuration.unarchived": "Configuration restored from the archive",
    "fluid.created": "Fluid created",
    "fluid.updated": "Fluid edited",
    "fluid.deleted": "Fluid deleted",
    "own_actuator.created": "Own actuator added",
    "own_actuator.updated": "Own actuator edited",
    "own_actuator.deleted": "Own actuator deleted",
    "own_actuator.imported": "Own actuators imported from a CSV",
    "fluid.sds_confirmed": "Fluid saved from a safety data sheet",
    "api_key.created": "API key created",
    "api_key.rotated": "API key rotated",
    "api_key.revoked": "API key revoked",
}

# Entries whose changes are the object's first values ("Viscosity (cP): 1", not "empty → 1").
CREATIONS = frozenset({"configuration.created", "fluid.created", "fluid.sds_confirmed"})

# Two numbers this close are one value: a number shown with 12 significant digits and
# typed back differs from the stored float by at most 5e-12 of itself.
FLOAT_REL_TOL = 1e-9
FLOAT_ABS_TOL = 1e-12


def same_value(old, new) -> bool:
    """Whether a stored value and a new one are the same (floats within FLOAT_REL_TOL)."""
    numbers = (int, float)
    if (
        isinstance(old, numbers)
        and isinstance(new, numbers)
        and not isinstance(old, bool)
        and not isinstance(new, bool)
    ):
        return math.isclose(old, new, rel_tol=FLOAT_REL_TOL, abs_tol=FLOAT_ABS_TOL)
    return old == new


def changed_fields(before: Mapping, after: Mapping, fields: Iterable[str]) -> dict[str, list]:
    """{field: [before, after]} for the fields whose value really changed, in `fields` order."""
    return {k: [before.get(k), after.get(k)] for k in fields if not same_value(before.get(k), after.get(k))}


def change_list(changes: Mapping[str, list], labels: Mapping[str, str]) -> list[dict]:
    """Field-level changes as audit details: [{field, label, from, to}] (labels carry the unit)."""
    return [
        {"field": name, "label": labels.get(name, name), "from": pair[0], "to": pair[1]}
        for name, pair in changes.items()
    ]


def record(
    session: Session,
    tenant_id: uuid.UUID,
    action: str,
    *,
    actor: User | None = None,
    actor_email: str | None = None,
    client=None,
    target_type: str | None = None,
    target_id: str | uuid.UUID | None = None,
    target_name: str | None = None,
    details: dict | None = None,
) -> AuditLog:
    """Append one audit entry for a tenant (`target_name`: the object's name, kept after it is deleted)."""
    if action not in ACTIONS:
        raise KeyError(f"unknown audit action {action!r}")
    key = _api_key.get()
    extra = {"impersonated_by": _impersonator.get()} if _impersonator.get() else {}
    if key is not None and actor is None:
        actor_email = api_key_label(key["name"], key["hint"])
        extra["api_key"] = key
    entry = AuditLog(
        tenant_id=tenant_id,
        actor_id=actor.id if actor else None,
        actor_email=actor.email if actor else actor_email,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        target_name=(target_name or "")[:200] or None,
        ip_address=getattr(client, "ip_address", None),
        user_agent=(getattr(client, "user_agent", None) or "")[:400] or None,
        details={**(details or {}), **extra},
    )
    session.add(entry)
    # Flush now: on PostgreSQL the row must be written while its tenant is in context.
    session.flush()
    return entry


def list_entries(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 25,
) -> Page:
    """A page of the tenant's audit log, newest first, filtered."""
    query = select(AuditLog).where(AuditLog.tenant_id == tenant_id)
    if action:
        query = query.where(AuditLog.action == action)
    if actor:
        query = query.where(search.contains(AuditLog.actor_email, actor))
    if since:
        query = query.where(AuditLog.created_at >= since)
    if until:
        query = query.where(AuditLog.created_at < until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page, offset = window(total, page, per_page)
    entries = list(
        session.scalars(query.order_by(AuditLog.created_at.desc(), AuditLog.id).offset(offset).limit(per_page))
    )
    return Page(items=entries, total=total, page=page, per_page=per_page)


# ---- showing entries: people by name and email, objects by name with a link


@dataclass(frozen=True)
class TargetKind:
    """How the log names one type of object.

    Either a tenant-owned `model` and its `name_column` (looked up with the tenant filter
    here), or `names(session, tenant_id, ids)` → {id: current name} for anything else.
    """

    label: str
    names: Callable[[Session, uuid.UUID, list[uuid.UUID]], dict[str, str]] | None = None
    endpoint: str | None = None  # the object's page, built with {id_arg: id}
    id_arg: str | None = None
    model: type | None = None
    name_column: str = "name"

    def lookup(self, session: Session, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[str, str]:
        """{id: current name} of the objects of this kind that exist in this tenant."""
        if self.model is None:
            return self.names(session, tenant_id, ids) if self.names else {}
        model = self.model
        # SECURITY: the tenant filter: an id can only ever name this tenant's object.
        rows = session.execute(
            select(model.id, getattr(model, self.name_column)).where(model.tenant_id == tenant_id, model.id.in_(ids))
        )
        return {str(row[0]): row[1] for row in rows}

    @property
    def resolvable(self) -> bool:
        return self.model is not None or self.names is not None


TARGET_KINDS: dict[str, TargetKind] = {}


def register_target_kind(target_type: str, kind: TargetKind) -> None:
    """Let a capability name its objects in the log (called once, when its services module loads)."""
    TARGET_KINDS[target_type] = kind


def _people(session: Session, ids: list[uuid.UUID]) -> dict[str, tuple[str, str]]:
    rows = session.execute(select(User.id, User.name, User.email).where(User.id.in_(ids)))
    return {str(r.id): (r.name, r.email) for r in rows}


def _user_names(session: Session, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[str, str]:
    return {k: person_label(*v) for k, v in _people(session, ids).items()}


def person_label(name: str | None, email: str | None) -> str:
    """How the log shows a person: "Name <email>"."""
    if name and email:
        return f"{name} <{email}>"
    return name or email or "someone"


def _tenant_names(session: Session, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[str, str]:
    from aerospec.tenancy.models import Tenant  # tenancy writes audit entries: import late

    # SECURITY: only the tenant whose log this is can be named.
    rows = session.execute(select(Tenant.id, Tenant.name).where(Tenant.id == tenant_id, Tenant.id.in_(ids)))
    return {str(r.id): r.name for r in rows}


register_target_kind("user", TargetKind("Person", _user_names))
register_target_kind("tenant", TargetKind("Workspace", _tenant_names))
register_target_kind("invitation", TargetKind("Invitation"))
register_target_kind("configurations", TargetKind("All configurations"))


# How a capability's detail values read ("professional" → "Professional"), by action prefix and key; a key
# formatted as None is internal and not shown. Registered once, when the capability's services module loads.
DetailFormat = Callable[[object, Mapping], str | None]  # (value, the entry's details) → what the log shows
DETAIL_FORMATS: dict[str, dict[str, DetailFormat]] = {}


def register_detail_formats(action_prefix: str, formats: Mapping[str, DetailFormat]) -> None:
    """Let a capability say how its entries' detail values read in the log (e.g. a plan key as the plan's name)."""
    DETAIL_FORMATS.setdefault(action_prefix, {}).update(formats)


def shown_details(entry: AuditLog) -> dict:
    """An entry's details as people read them: each value through its capability's format, empty ones left out
    ("Invoice: empty" says nothing), the field-level changes as they are."""
    formats: dict[str, DetailFormat] = {}
    for prefix, table in DETAIL_FORMATS.items():
        if entry.action.startswith(prefix):
            formats.update(table)
    shown = {}
    details = entry.details or {}
    for key, value in details.items():
        if key == "changes":
            shown[key] = value
            continue
        if value is None or key == "api_key":  # the key is the entry's actor: the "Who" column names it
            continue
        if key in formats:
            # An older entry in another shape is shown as it was stored.
            with contextlib.suppress(TypeError, ValueError, ArithmeticError):
                value = formats[key](value, details)
            if value is None:
                continue
        shown[key] = value
    return shown


def labelled(labels: Mapping[str, str]) -> DetailFormat:
    """A format that reads a stored key through `labels` (an unknown key is shown as it is)."""
    return lambda value, _details: labels.get(str(value), str(value))


def hidden(_value: object, _details: Mapping) -> None:
    """A format for an internal detail (an event name): not shown."""
    return None


@dataclass
class EntryView:
    """An entry as the page shows it."""

    entry: AuditLog
    actor_name: str | None
    actor_email: str | None
    target: str | None
    target_kind: str | None
    endpoint: str | None = None
    link_args: dict | None = None
    target_gone: bool = False
    details: dict | None = None


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def describe_entries(session: Session, tenant_id: uuid.UUID, entries: list[AuditLog]) -> list[EntryView]:
    """Entries with their actor's name and email and their object's current name and page.

    One query per kind of object and one for the people, whatever the number of entries;
    every lookup is scoped to `tenant_id`, so an id can only ever name this tenant's object.
    An object that no longer exists shows the name stored in its entry.
    """
    actor_ids = sorted({e.actor_id for e in entries if e.actor_id}, key=str)
    people = _people(session, actor_ids) if actor_ids else {}
    wanted: dict[str, set[uuid.UUID]] = {}
    for e in entries:
        kind = TARGET_KINDS.get(e.target_type or "")
        target_uuid = _uuid_or_none(e.target_id)
        if kind and kind.resolvable and target_uuid:
            wanted.setdefault(e.target_type, set()).add(target_uuid)
    names: dict[str, dict[str, str]] = {
        target_type: TARGET_KINDS[target_type].lookup(session, tenant_id, sorted(ids, key=str))
        for target_type, ids in wanted.items()
    }
    views = []
    for e in entries:
        # A person who still has an account shows their current name and email; else the email kept.
        name, email = people.get(str(e.actor_id), (None, e.actor_email)) if e.actor_id else (None, e.actor_email)
        if e.actor_id and not name and not email:
            name = "A former member"
        if not e.actor_id and email and "@" not in email:  # a system actor ("payment provider"), not an address
            name, email = email[:1].upper() + email[1:], None
        kind = TARGET_KINDS.get(e.target_type or "")
        view = EntryView(e, name, email, target=None, target_kind=kind.label if kind else None)
        view.details = shown_details(e)
        current = names.get(e.target_type or "", {}).get(str(_uuid_or_none(e.target_id)))
        if current is not None:
            view.target = current
            if kind.endpoint:
                view.endpoint = kind.endpoint
                view.link_args = {kind.id_arg: e.target_id} if kind.id_arg else {}
        elif kind and kind.resolvable and e.target_id:
            view.target, view.target_gone = e.target_name or (e.details or {}).get("email"), True
        else:
            details = e.details or {}
            view.target = e.target_name or details.get("reference") or details.get("email")
        views.append(view)
    return views
