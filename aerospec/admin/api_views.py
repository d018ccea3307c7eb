"""The platform-admin API (the spec's paths): workspaces, subscriptions and their actions, impersonation,
the admin audit log. A bearer token of a platform admin (from POST /api/auth/login); anyone else gets 404.

GET   /api/admin/organizations            ?q=&plan=&status=&trial_ending=&past_due=&over_limit=&sort=&page=
GET   /api/admin/organizations/<id>
PATCH /api/admin/organizations/<id>       {name?, billing_email?, reason}
GET   /api/admin/subscriptions            ?status=&page=
POST  /api/admin/subscriptions/<id>/extend-trial   {days, reason}   (<id>: a subscription's or a workspace's)
POST  /api/admin/subscriptions/<id>/suspend        {reason}
POST  /api/admin/subscriptions/<id>/reactivate     {reason}
POST  /api/admin/impersonate/<user_id>    {minutes?, reason, write_access?, write_reason?}
GET   /api/admin/audit-logs               ?action=&admin=&target_type=&target_id=&tenant_id=&from=&to=&page=
"""

from __future__ import annotations

from flask import Response, g, jsonify, request
from pydantic import Field

from aerospec.admin import audit, impersonation, services
from aerospec.api import bp
from aerospec.api.admin_procurement import _page, _require_platform_admin
from aerospec.api.schemas import Body
from aerospec.api.views import bearer_required, member_json, parse_body
from aerospec.compliance import services as tenant_audit
from aerospec.errors import NotFound
from aerospec.extensions import db
from aerospec.models import isoformat, utcnow
from aerospec.web.client import client_info

PER_PAGE = 50


def _page_json(result, key: str, items: list) -> dict:
    return {key: items, "page": result.page, "pages": result.pages, "per_page": result.per_page, "total": result.total}


def _organization(row) -> dict:
    t = row.tenant
    return {
        "id": str(t.id),
        "name": t.name,
        "slug": t.slug,
        "billing_email": t.billing_email,
        "plan": t.plan,
        "subscription_status": t.subscription_status,
        "status": row.status,
        "trial_ends_at": isoformat(t.trial_ends_at),
        "suspended_at": isoformat(t.suspended_at),
        "seats": {"used": row.seats_used, "limit": row.seat_limit},
        "overridden": row.overridden,
        "created_at": isoformat(t.created_at),
    }


@bp.get("/admin/organizations")
@bearer_required(require_member=False)
def admin_list_organizations() -> Response:
    """Workspaces with search, filters, sort and pages (platform admins)."""
    _require_platform_admin()
    filters = services.WorkspaceFilters.parse(request.args, strict=True)
    result = services.list_workspaces(db.session, filters, page=_page(), per_page=PER_PAGE)
    return jsonify(_page_json(result, "organizations", [_organization(r) for r in result.items]))


def _workspace(tenant_id: str):
    tenant = services.get_workspace(db.session, tenant_id)
    if tenant is None:
        raise NotFound("No workspace with that id.")
    return tenant


def _subscription_json(sub, tenant=None) -> dict | None:
    if sub is None:
        return None
    body = {
        "id": str(sub.id),
        "provider": sub.provider,
        "provider_subscription_id": sub.provider_subscription_id,
        "plan": sub.plan,
        "interval": sub.interval,
        "status": sub.status,
        "extra_seats": sub.extra_seats,
        "current_period_end": isoformat(sub.current_period_end),
        "trial_end": isoformat(sub.trial_end),
        "cancel_at_period_end": sub.cancel_at_period_end,
    }
    if tenant is not None:
        body["organization"] = {"id": str(tenant.id), "name": tenant.name, "slug": tenant.slug}
    return body


def _detail_json(tenant) -> dict:
    d = services.workspace_detail(db.session, tenant)
    return {
        "id": str(tenant.id),
        "name": tenant.name,
        "slug": tenant.slug,
        "billing_email": tenant.billing_email,
        "plan": tenant.plan,
        "subscription_status": tenant.subscription_status,
        "status": d.status,
        "trial_ends_at": isoformat(d.trial.ends_at if d.trial else None),
        "suspended_at": isoformat(tenant.suspended_at),
        "suspended_reason": tenant.suspended_reason,
        "limits_overridden": dict(tenant.limits or {}),
        "features_overridden": dict(tenant.features or {}),
        "members": [member_json(m) for m in d.members],
        "usage": [
            {k: (isoformat(v) if k == "resets_at" else v) for k, v in row.items() if k != "period_label"}
            for row in d.usage
        ],
        "subscription": _subscription_json(d.subscription),
        "invoices": [
            {
                "id": str(i.id),
                "number": i.number,
                "status": i.status,
                "currency": i.currency,
                "total": i.total,
                "amount_paid": i.amount_paid,
                "issued_at": isoformat(i.issued_at),
            }
            for i in d.invoices
        ],
        "orders": [
            {
                "id": str(o.id),
                "reference": o.reference,
                "status": o.status,
                "payment_status": o.payment_status,
                "currency": o.currency,
                "total": f"{o.total:.2f}",
                "created_at": isoformat(o.created_at),
            }
            for o in d.orders
        ],
        "commissions": [
            {
                "id": str(c.id),
                "procurement_id": str(c.procurement_id),
                "rate": f"{c.rate}",
                "amount": f"{c.amount:.2f}",
                "currency": c.currency,
                "created_at": isoformat(c.created_at),
            }
            for c in d.commissions
        ],
        "audit": [
            {
                "action": e.entry.action,
                "label": tenant_audit.ACTIONS.get(e.entry.action, e.entry.action),
                "actor_email": e.actor_email or e.entry.actor_email,
                "details": e.entry.details,
                "created_at": isoformat(e.entry.created_at),
            }
            for e in d.audit_entries
        ],
        "admin_audit": [audit.entry_json(e) for e in d.admin_entries],
    }


@bp.get("/admin/organizations/<tenant_id>")
@bearer_required(require_member=False)
def admin_get_organization(tenant_id: str) -> Response:
    """One workspace whole: members, usage against limits, subscription, invoices, orders, audit."""
    _require_platform_admin()
    return jsonify(_detail_json(_workspace(tenant_id)))


class ReasonBody(Body):
    reason: str = Field(max_length=500)


class OrganizationPatch(ReasonBody):
    name: str | None = None
    billing_email: str | None = None


class ExtendTrialBody(ReasonBody):
    days: int


@bp.patch("/admin/organizations/<tenant_id>")
@bearer_required(require_member=False)
def admin_update_organization(tenant_id: str) -> Response:
    """Change a workspace's name or billing email, with a reason (audited before/after)."""
    _require_platform_admin()
    body = parse_body(OrganizationPatch)  # a malformed body is 400 before anything is looked up
    tenant = _workspace(tenant_id)
    reason = services.clean_reason(body.reason)
    changes = {"name": body.name, "billing_email": body.billing_email}
    services.update_workspace(db.session, tenant, changes, reason=reason, admin=g.api_user, client=client_info())
    answer = _detail_json(tenant)
    db.session.commit()
    return jsonify(answer)


@bp.get("/admin/subscriptions")
@bearer_required(require_member=False)
def admin_list_subscriptions() -> Response:
    """Subscriptions across workspaces, newest first (platform admins)."""
    _require_platform_admin()
    status = (request.args.get("status") or "").strip()[:20]
    result = services.list_subscriptions(db.session, status=status, page=_page(), per_page=PER_PAGE)
    return jsonify(_page_json(result, "subscriptions", [_subscription_json(s, t) for s, t in result.items]))


def _target(target_id: str):
    found = services.get_subscription_target(db.session, target_id)
    if found is None:
        raise NotFound("No subscription or workspace with that id.")
    return found[0]


@bp.post("/admin/subscriptions/<target_id>/extend-trial")
@bearer_required(require_member=False)
def admin_extend_trial(target_id: str) -> Response:
    """Extend a trial by N days (1–90) with a reason; emails the workspace's admins."""
    _require_platform_admin()
    body = parse_body(ExtendTrialBody)
    tenant = _target(target_id)
    reason = services.clean_reason(body.reason)
    days = services.parse_days(body.days)
    services.extend_trial(db.session, tenant, days, reason=reason, admin=g.api_user, client=client_info())
    answer = _detail_json(tenant)
    db.session.commit()
    return jsonify(answer)


def _suspension(target_id: str, change) -> Response:
    _require_platform_admin()
    body = parse_body(ReasonBody)
    tenant = _target(target_id)
    reason = services.clean_reason(body.reason)
    change(db.session, tenant, reason=reason, admin=g.api_user, client=client_info())
    answer = _detail_json(tenant)
    db.session.commit()
    return jsonify(answer)


@bp.post("/admin/subscriptions/<target_id>/suspend")
@bearer_required(require_member=False)
def admin_suspend(target_id: str) -> Response:
    """Suspend a workspace with a reason; emails its admins."""
    return _suspension(target_id, services.suspend)


@bp.post("/admin/subscriptions/<target_id>/reactivate")
@bearer_required(require_member=False)
def admin_reactivate(target_id: str) -> Response:
    """Lift a suspension with a reason; emails the workspace's admins."""
    return _suspension(target_id, services.reactivate)


class ImpersonateBody(Body):
    minutes: int = impersonation.DEFAULT_MINUTES
    reason: str = Field(max_length=500)
    write_access: bool = False
    write_reason: str | None = Field(default=None, max_length=500)


@bp.post("/admin/impersonate/<user_id>")
@bearer_required(require_member=False)
def admin_impersonate(user_id: str) -> Response:
    """Start an impersonation (5–240 minutes, read-only unless asked); open `open_url` in the browser."""
    _require_platform_admin()
    body = parse_body(ImpersonateBody)
    user = impersonation.get_user(db.session, user_id)
    if user is None:
        raise NotFound("No user with that id.")
    ask = impersonation.parse_request(body.model_dump())
    imp = impersonation.start(db.session, g.api_user, user, ask, client_info())
    answer = impersonation.impersonation_json(imp, utcnow())
    db.session.commit()
    return jsonify(answer), 201


@bp.get("/admin/audit-logs")
@bearer_required(require_member=False)
def admin_audit_logs() -> Response:
    """The admin audit log with filters, newest first."""
    _require_platform_admin()
    filters = audit.AuditFilters.parse(request.args)
    result = audit.list_entries(db.session, filters, page=_page(), per_page=PER_PAGE)
    return jsonify(_page_json(result, "entries", [audit.entry_json(e) for e in result.items]))
