"""The audit log page for tenant admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import g, request
from flask_login import login_required

from aerospec.compliance import bp
from aerospec.compliance import services as audit
from aerospec.extensions import db
from aerospec.pagination import page_arg
from aerospec.tenancy.permissions import require_permission
from aerospec.web.htmx import render


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


@bp.route("/t/<tenant_slug>/audit")
@login_required
@require_permission("view_audit_log")
def audit_log():
    """Who did what in this workspace, filterable by action, person and date."""
    args = request.args
    errors = {}
    since = _parse_date(args.get("since"))
    until = _parse_date(args.get("until"))
    if args.get("since") and since is None:
        errors["since"] = "Use the format YYYY-MM-DD."
    if args.get("until") and until is None:
        errors["until"] = "Use the format YYYY-MM-DD."
    action = args.get("action") or None
    if action and action not in audit.ACTIONS:
        errors["action"] = "Choose an action from the list."
        action = None
    page = page_arg(args)
    result = audit.list_entries(
        db.session,
        g.tenant.id,
        action=action,
        actor=args.get("actor") or None,
        since=since,
        until=until + timedelta(days=1) if until else None,
        page=page,
        per_page=25,
    )
    return render(
        "compliance/audit_log.html",
        block="audit_results",
        result=result,
        rows=audit.describe_entries(db.session, g.tenant.id, result.items),
        creations=audit.CREATIONS,
        actions=audit.ACTIONS,
        filters=args,
        errors=errors,
    )
