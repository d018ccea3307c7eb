"""Wall one: `/t/<tenant_slug>/...` loads the tenant and the member's role, or 404s.

Any blueprint's route with `<tenant_slug>` in its URL passes through here, so every
tenant page gets `g.tenant`, `g.membership` and the tenant in the ORM/RLS context.
"""

from __future__ import annotations

import uuid

from flask import abort, g, has_request_context, request
from flask_login import current_user

from aerospec.extensions import db, login_manager
from aerospec.models import TenantOwned
from aerospec.tenancy import bp
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.scoping import reset_tenant, set_tenant


@bp.app_url_value_preprocessor
def load_tenant(endpoint: str | None, values: dict | None) -> None:
    """Resolve the tenant in the URL; not found and not a member both answer 404."""
    if not values or "tenant_slug" not in values:
        return
    slug = values.pop("tenant_slug")
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    tenant = tenancy.get_tenant_by_slug(db.session, slug)
    if tenant is None:
        abort(404)
    g._tenant_token = set_tenant(db.session, tenant.id)
    membership = tenancy.get_membership(db.session, tenant, current_user)
    if membership is None:
        abort(404)  # SECURITY: a stranger cannot tell an existing tenant from a missing one
    g.tenant = tenant
    g.membership = membership


@bp.app_url_defaults
def add_tenant_slug(endpoint: str, values: dict) -> None:
    """url_for() inside a tenant page fills in the current tenant's slug."""
    if "tenant_slug" in values or not has_request_context() or "tenant" not in g:
        return
    from flask import current_app

    if current_app.url_map.is_endpoint_expecting(endpoint, "tenant_slug"):
        values["tenant_slug"] = g.tenant.slug


@bp.teardown_app_request
def clear_tenant(exc: BaseException | None) -> None:
    """Take the tenant out of context when the request ends."""
    token = g.pop("_tenant_token", None)
    if token is not None:
        reset_tenant(db.session, token)


def get_for_tenant_or_404(model: type[TenantOwned], object_id: uuid.UUID | str):
    """Wall two: the one way a view loads a tenant-owned row by id."""
    if not issubclass(model, TenantOwned):
        raise TypeError(f"{model.__name__} is not tenant-owned")
    if model.id.type.python_type is uuid.UUID:  # a few rows are keyed by a provider's string id (cs_offline_...)
        try:
            object_id = object_id if isinstance(object_id, uuid.UUID) else uuid.UUID(str(object_id))
        except ValueError:
            abort(404)
    from sqlalchemy import select

    row = db.session.scalar(select(model).where(model.id == object_id, model.tenant_id == g.tenant.id))
    if row is None:
        abort(404)
    return row


def current_membership():
    """The member's membership in the tenant of this request, or None."""
    return g.get("membership") if has_request_context() else None


def is_tenant_request() -> bool:
    return has_request_context() and "tenant" in g and request is not None
