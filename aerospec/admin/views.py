"""The platform console's pages: the workspace list and detail, trial/suspension actions, the admin audit log.

Every page answers 404 to anyone but a platform admin. An action is a form with a required reason, then a
page that names its effect and asks for confirmation; only the confirmation changes anything.
"""

from __future__ import annotations

from flask import Response, abort, flash, request, url_for
from flask_login import current_user

from aerospec.accounts.decorators import platform_admin_required
from aerospec.admin import audit, bp, services
from aerospec.billing import lifecycle
from aerospec.billing.plans import PLANS
from aerospec.errors import DomainError, ValidationFailed
from aerospec.extensions import db
from aerospec.models import utcnow
from aerospec.pagination import page_arg
from aerospec.tenancy.models import SUBSCRIPTION_STATUSES
from aerospec.web.client import client_info
from aerospec.web.htmx import hx_redirect, render

PER_PAGE = 25


def _vary(response: Response) -> Response:
    response.headers.add("Vary", "HX-Request")
    return response


@bp.route("/admin/tenants")
@platform_admin_required
def workspaces():
    """Every workspace, searchable by name, slug, billing or member email, filtered, sorted, a page at a time."""
    filters = services.WorkspaceFilters.parse(request.args, strict=False)
    result = services.list_workspaces(db.session, filters, page=page_arg(request.args), per_page=PER_PAGE)
    return _vary(
        render(
            "admin/workspaces.html",
            block="tenant_results",
            result=result,
            filters=filters,
            query=filters.query_args(),
            plans=PLANS,
            statuses=[(s, services.STATUS_LABELS.get(s, s)) for s in (*SUBSCRIPTION_STATUSES, "suspended_by_admin")],
            sorts=services.SORTS,
        )
    )


def _workspace_or_404(tenant_id: str):
    tenant = services.get_workspace(db.session, tenant_id)
    if tenant is None:
        abort(404)
    return tenant


@bp.route("/admin/tenants/<tenant_id>")
@platform_admin_required
def workspace_detail(tenant_id: str):
    """One workspace: members and roles, usage against limits, subscription and invoices, orders, audit."""
    tenant = _workspace_or_404(tenant_id)
    detail = services.workspace_detail(db.session, tenant)
    return render("admin/workspace.html", detail=detail, tenant=tenant, plans=PLANS, actions=ACTIONS)


# ---- actions: form with reason → confirmation naming the effect → done


ACTIONS = {
    "extend-trial": "Extend the trial",
    "suspend": "Suspend the workspace",
    "reactivate": "Reactivate the workspace",
}


def _effect(action: str, tenant, days: int | None) -> str:
    """The sentence the confirmation shows: what will happen, to whom, who is emailed."""
    recipients = ", ".join(lifecycle.recipients(db.session, tenant)) or "nobody (no admins)"
    if action == "extend-trial":
        with_sub = lifecycle.current_subscription(db.session, tenant)
        start = max(
            (with_sub.trial_end if with_sub and with_sub.status == "trialing" and with_sub.trial_end else None)
            or tenant.trial_ends_at
            or utcnow(),
            utcnow(),
        )
        from datetime import timedelta

        new_end = start + timedelta(days=days or 0)
        stripe = (
            " It also moves the trial end of its Stripe subscription (no charge)."
            if (with_sub and with_sub.provider == "stripe" and with_sub.status == "trialing")
            else ""
        )
        return (
            f"The trial of {tenant.name} will end on {new_end:%-d %B %Y, %H:%M} UTC instead of "
            f"{start:%-d %B %Y, %H:%M} UTC ({days} more day{'s' if days != 1 else ''}).{stripe} "
            f"An email tells {recipients}."
        )
    if action == "suspend":
        return (
            f"{tenant.name} will be suspended at once: its members reach only billing, the dashboard and settings "
            f"until you reactivate it; paying does not lift it. An email tells {recipients}."
        )
    return f"{tenant.name} gets back the access its billing status allows. An email tells {recipients}."


@bp.route("/admin/tenants/<tenant_id>/<any('extend-trial', 'suspend', 'reactivate'):action>", methods=["GET", "POST"])
@platform_admin_required
def workspace_action(tenant_id: str, action: str):
    """Extend a trial, suspend or reactivate: the reason first, then a confirmation naming the effect."""
    tenant = _workspace_or_404(tenant_id)
    values = {"reason": request.form.get("reason", ""), "days": request.form.get("days", "7")}
    errors: dict[str, list[str]] = {}
    step = request.form.get("step", "form") if request.method == "POST" else "form"
    if step in ("review", "confirm"):
        try:
            reason = services.clean_reason(values["reason"])
            days = services.parse_days(values["days"]) if action == "extend-trial" else None
            services.check_action(db.session, tenant, action)
            if step == "confirm":
                _perform(action, tenant, reason, days)
                db.session.commit()
                flash(_done_message(action, tenant), "success")
                return hx_redirect(url_for("admin.workspace_detail", tenant_id=tenant.id))
            return render(
                "admin/action.html",
                tenant=tenant,
                action=action,
                title=ACTIONS[action],
                values=values,
                effect=_effect(action, tenant, days),
                confirming=True,
                errors={},
            )
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.field_errors or {"reason": [exc.message]}
        except DomainError as exc:
            db.session.rollback()
            errors = {"form": [exc.message]}
    status = 422 if errors else 200
    return render(
        "admin/action.html",
        status=status,
        tenant=tenant,
        action=action,
        title=ACTIONS[action],
        values=values,
        effect=None,
        confirming=False,
        errors=errors,
    )


def _perform(action: str, tenant, reason: str, days: int | None) -> None:
    admin = current_user._get_current_object()
    if action == "extend-trial":
        services.extend_trial(db.session, tenant, days or 0, reason=reason, admin=admin, client=client_info())
    elif action == "suspend":
        services.suspend(db.session, tenant, reason=reason, admin=admin, client=client_info())
    else:
        services.reactivate(db.session, tenant, reason=reason, admin=admin, client=client_info())


def _done_message(action: str, tenant) -> str:
    if action == "extend-trial":
        ends = f"{tenant.trial_ends_at:%-d %B %Y, %H:%M} UTC"
        return f"The trial of {tenant.name} now ends on {ends}; its admins were emailed."
    if action == "suspend":
        return f"{tenant.name} is suspended; its admins were emailed."
    return f"{tenant.name} is reactivated; its admins were emailed."


# ---- the admin audit log


@bp.route("/admin/audit-log")
@platform_admin_required
def audit_log():
    """Every platform-admin action, newest first, with filters; CSV of the same filters."""
    try:
        filters = audit.AuditFilters.parse(request.args)
        errors = {}
    except ValidationFailed as exc:
        filters, errors = audit.AuditFilters(), exc.field_errors
    result = audit.list_entries(db.session, filters, page=page_arg(request.args), per_page=50)
    return _vary(
        render(
            "admin/audit_log.html",
            block="audit_results",
            status=422 if errors else 200,
            result=result,
            filters=filters,
            errors=errors,
            args=request.args,
            query=filters.query_args(),
            actions=audit.ACTIONS,
            target_types=audit.TARGET_TYPES,
        )
    )


@bp.route("/admin/audit-log.csv")
@platform_admin_required
def audit_log_csv():
    """The admin audit log as CSV, with the page's filters."""
    try:
        filters = audit.AuditFilters.parse(request.args)
    except ValidationFailed as exc:
        lines = [f"{name}: {' '.join(msgs)}" for name, msgs in (exc.field_errors or {}).items()]
        return Response("The CSV was not made: " + "; ".join(lines) + "\n", 422, mimetype="text/plain")
    response = Response("".join(audit.export_csv(db.session, filters)), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=admin-audit-log.csv"
    return response
