"""Platform-admin plan, limit and feature overrides of one workspace (moved here from billing).

Every page answers 404 to anyone but a platform admin (`platform_admin_required`). Each change is
written to the workspace's own audit log as billing.plan_overridden and to the admin audit log.
"""

from __future__ import annotations

from flask import Response, abort, current_app, flash, request, url_for
from flask_login import current_user

from aerospec.accounts.decorators import platform_admin_required
from aerospec.admin import audit, bp, services
from aerospec.billing import usage
from aerospec.billing.plans import FEATURE_LABELS, FEATURES, LIMIT_LABELS, LIMIT_NAMES, PLANS
from aerospec.errors import ValidationFailed
from aerospec.extensions import db
from aerospec.limits import counters
from aerospec.limits.effective import effective_features, effective_limits
from aerospec.models import utcnow
from aerospec.tenancy.scoping import tenant_scope
from aerospec.web.client import client_info
from aerospec.web.htmx import hx_redirect, render


def _vary(response: Response) -> Response:
    response.headers.add("Vary", "HX-Request")
    return response


def _form_values(tenant) -> dict[str, str]:
    """The form as stored: blank for the plan's default, a number or "unlimited", default/on/off."""
    values = {"plan": tenant.plan}
    for name in LIMIT_NAMES:
        if name in (tenant.limits or {}):
            limit = tenant.limits[name]
            values[f"limit_{name}"] = "unlimited" if limit is None else str(limit)
        else:
            values[f"limit_{name}"] = ""
    for name in FEATURES:
        if name in (tenant.features or {}):
            values[f"feature_{name}"] = "on" if tenant.features[name] else "off"
        else:
            values[f"feature_{name}"] = "default"
    return values


def _render_plan_page(tenant, values: dict, errors: dict, status: int = 200) -> Response:
    with tenant_scope(db.session, tenant.id):
        summary = usage.usage_summary(db.session, tenant, counters.counter_for(current_app), utcnow())
    return _vary(
        render(
            "admin/plan.html",
            block="plan_form",
            status=status,
            tenant=tenant,
            values=values,
            errors=errors,
            plans=PLANS,
            limit_names=LIMIT_NAMES,
            limit_labels=LIMIT_LABELS,
            features=FEATURES,
            feature_labels=FEATURE_LABELS,
            effective_limits=effective_limits(tenant),
            effective_features=effective_features(tenant),
            summary=summary,
        )
    )


@bp.route("/admin/tenants/<tenant_id>/plan", methods=["GET", "POST"])
@platform_admin_required
def workspace_plan(tenant_id: str):
    """Set a workspace's plan and override its limits and features (audited in its log)."""
    tenant = services.get_workspace(db.session, tenant_id)
    if tenant is None:
        abort(404)
    if request.method == "GET":
        return _render_plan_page(tenant, _form_values(tenant), {})
    values = {key: request.form.get(key, "") for key in _form_values(tenant)}
    before = {"plan": tenant.plan, "limits": dict(tenant.limits or {}), "features": dict(tenant.features or {})}
    try:
        plan, limits, features = usage.parse_overrides(request.form)
        changed = usage.override_plan(
            db.session,
            tenant,
            plan=plan,
            limits=limits,
            features=features,
            actor=current_user._get_current_object(),
            client=client_info(),
        )
        if changed:
            audit.record(
                db.session,
                "workspace.plan_overridden",
                admin=current_user._get_current_object(),
                target_type="workspace",
                target_id=tenant.id,
                tenant_id=tenant.id,
                before=before,
                after={"plan": plan, "limits": limits, "features": features},
                client=client_info(),
            )
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_plan_page(tenant, values, exc.field_errors or {"plan": [exc.message]}, status=422)
    db.session.commit()
    if changed:
        flash(f"Saved: {tenant.name} is on {PLANS[plan].name} with the overrides shown.", "success")
    else:
        flash("Nothing changed.", "info")
    return hx_redirect(url_for("admin.workspace_plan", tenant_id=tenant.id))
