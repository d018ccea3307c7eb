"""The admin audit log: record every platform-admin action; read it with filters; export it as CSV.

Entries are append-only (an ORM guard in admin.models and a database trigger refuse UPDATE and DELETE).
`record` is the one writer: views of any capability call it for the platform-admin actions they serve.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aerospec.accounts.models import User
from aerospec.admin.models import AdminAuditLog
from aerospec.errors import ValidationFailed
from aerospec.pagination import Page, window

ACTIONS = {
    "workspace.updated": "Workspace edited",
    "workspace.plan_overridden": "Plan, limits or features overridden",
    "workspace.trial_extended": "Trial extended",
    "workspace.suspended": "Workspace suspended",
    "workspace.reactivated": "Workspace reactivated",
    "impersonation.started": "Impersonation started",
    "impersonation.ended": "Impersonation ended",
    "admin.granted": "Platform admin granted",
    "admin.revoked": "Platform admin revoked",
    "admin.created": "Platform admin created",
    "supplier.sync_requested": "Supplier sync started (Sync now)",
    "sandbox.faults_set": "Supplier sandbox faults set",
    "sandbox.faults_cleared": "Supplier sandbox faults cleared",
    "sandbox.clock_advanced": "Supplier sandbox clock advanced",
    "catalog.imported": "Actuator catalog imported",
    "catalog.exported": "Actuator catalog exported",
    "correction_model.promoted": "Correction model promoted by hand",
    "correction_model.rolled_back": "Correction model rolled back",
}
TARGET_TYPES = (
    "workspace", "user", "subscription", "supplier", "sandbox", "catalog", "impersonation", "correction_model",
)  # fmt: skip


def record(
    session: Session,
    action: str,
    *,
    admin: User | None,
    admin_email: str | None = None,
    target_type: str,
    target_id: str | uuid.UUID | None = None,
    tenant_id: uuid.UUID | None = None,
    reason: str | None = None,
    before: Mapping | None = None,
    after: Mapping | None = None,
    details: Mapping | None = None,
    client=None,
) -> AdminAuditLog:
    """Append one admin audit entry (before/after go into details); flushed, not committed."""
    if action not in ACTIONS:
        raise KeyError(f"unknown admin audit action {action!r}")
    body = dict(details or {})
    if before is not None:
        body["before"] = dict(before)
    if after is not None:
        body["after"] = dict(after)
    entry = AdminAuditLog(
        admin_id=admin.id if admin is not None else None,
        admin_email=admin.email if admin is not None else (admin_email or "system"),
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        tenant_id=tenant_id,
        reason=(reason or "")[:500] or None,
        details=json.loads(json.dumps(body, default=_plain)),  # datetimes (ISO 8601) and ids as text
        ip_address=getattr(client, "ip_address", None),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditFilters:
    """What the page and the API filter the log by (all optional)."""

    action: str = ""
    admin: str = ""  # an admin's email, or part of it
    target_type: str = ""
    target_id: str = ""
    tenant_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive (the day after the "to" date)

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> AuditFilters:
        """Read ?action=&admin=&target_type=&target_id=&tenant_id=&from=&to= (dates YYYY-MM-DD);
        ValidationFailed names each bad one."""
        errors: dict[str, list[str]] = {}
        action = (args.get("action") or "").strip()
        if action and action not in ACTIONS:
            errors["action"] = [f"Unknown action; choose one of: {', '.join(ACTIONS)}."]
        target_type = (args.get("target_type") or "").strip()
        if target_type and target_type not in TARGET_TYPES:
            errors["target_type"] = [f"Choose one of: {', '.join(TARGET_TYPES)}."]
        tenant_id = None
        if (args.get("tenant_id") or "").strip():
            try:
                tenant_id = uuid.UUID(args["tenant_id"].strip())
            except ValueError:
                errors["tenant_id"] = ["Must be a workspace id (a UUID)."]
        dates = {}
        for name in ("from", "to"):
            raw = (args.get(name) or "").strip()
            if raw:
                try:
                    dates[name] = datetime.combine(datetime.strptime(raw, "%Y-%m-%d").date(), time(), UTC)
                except ValueError:
                    errors[name] = ["Must be a date as YYYY-MM-DD."]
        if errors:
            raise ValidationFailed("Check the filters listed in errors.", field_errors=errors)
        return cls(
            action=action,
            admin=(args.get("admin") or "").strip()[:254],
            target_type=target_type,
            target_id=(args.get("target_id") or "").strip()[:64],
            tenant_id=tenant_id,
            since=dates.get("from"),
            until=dates["to"] + timedelta(days=1) if "to" in dates else None,
        )

    def query_args(self) -> dict[str, str]:
        """The filters as a query string's values (for pagination and the CSV link)."""
        out = {
            "action": self.action,
            "admin": self.admin,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "tenant_id": str(self.tenant_id) if self.tenant_id else "",
            "from": self.since.date().isoformat() if self.since else "",
            "to": (self.until - timedelta(days=1)).date().isoformat() if self.until else "",
        }
        return {k: v for k, v in out.items() if v}


def _query(filters: AuditFilters):
    query = select(AdminAuditLog)
    if filters.action:
        query = query.where(AdminAuditLog.action == filters.action)
    if filters.admin:
        like = "%" + filters.admin.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(func.lower(AdminAuditLog.admin_email).like(like, escape="\\"))
    if filters.target_type:
        query = query.where(AdminAuditLog.target_type == filters.target_type)
    if filters.target_id:
        query = query.where(AdminAuditLog.target_id == filters.target_id)
    if filters.tenant_id:
        query = query.where(AdminAuditLog.tenant_id == filters.tenant_id)
    if filters.since:
        query = query.where(AdminAuditLog.created_at >= filters.since)
    if filters.until:
        query = query.where(AdminAuditLog.created_at < filters.until)
    return query


def list_entries(session: Session, filters: AuditFilters, *, page: int = 1, per_page: int = 50) -> Page:
    """A page of entries, newest first."""
    query = _query(filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page, offset = window(total, page, per_page)
    items = list(
        session.scalars(
            query.order_by(AdminAuditLog.created_at.desc(), AdminAuditLog.id.desc()).offset(offset).limit(per_page)
        )
    )
    return Page(items=items, total=total, page=page, per_page=per_page)


def entry_json(entry: AdminAuditLog) -> dict:
    """An entry as the API and the CSV show it."""
    return {
        "id": str(entry.id),
        "created_at": entry.created_at.isoformat(),
        "admin_id": str(entry.admin_id) if entry.admin_id else None,
        "admin_email": entry.admin_email,
        "action": entry.action,
        "action_label": ACTIONS.get(entry.action, entry.action),
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "tenant_id": str(entry.tenant_id) if entry.tenant_id else None,
        "reason": entry.reason,
        "details": entry.details,
        "ip_address": entry.ip_address,
    }


CSV_COLUMNS = ("created_at", "admin_email", "action", "target_type", "target_id", "tenant_id", "reason", "details")


def export_csv(session: Session, filters: AuditFilters) -> Iterator[str]:
    """Every matching entry as CSV, newest first, read in batches (no page limit)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    query = _query(filters).order_by(AdminAuditLog.created_at.desc(), AdminAuditLog.id.desc())
    for entry in session.scalars(query.execution_options(yield_per=500)):
        buffer.seek(0)
        buffer.truncate()
        row = entry_json(entry)
        row["details"] = json.dumps(row["details"], sort_keys=True)
        # SECURITY: a cell starting with = + - @ is a formula in spreadsheets; quote it as text.
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
        yield buffer.getvalue()


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _plain(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
