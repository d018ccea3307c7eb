"""Actuator catalog API: GET /api/actuators (filters, pages) and GET /api/actuators/<id>, anchors included."""

from __future__ import annotations

import uuid

from flask import Response, g, jsonify, request

from aerospec.api import bp
from aerospec.api.views import bearer_required
from aerospec.catalog import services as catalog
from aerospec.errors import ValidationFailed
from aerospec.extensions import db
from aerospec.pagination import page_param
from aerospec.tenancy.permissions import ensure_permitted

PER_PAGE = 50
#: Query parameter -> (ActuatorFilters field, the accepted values).
CHOICES = {
    "supplier": ("supplier", ("spencer", "coster")),
    "spray_type": ("spray_type", ("hollow_cone", "full_cone", "plain_orifice")),
    "family": ("family", tuple(catalog.FAMILY_LABELS)),
}


@bp.get("/actuators")
@bearer_required
def list_actuators() -> Response:
    """A page of the actuator catalog (supplier, spray_type, family, sort, page), each with its anchors."""
    ensure_permitted(g.membership, "view_configurations")
    args = request.args
    errors: dict[str, list[str]] = {}
    page = page_param(args, errors)
    filters = catalog.ActuatorFilters()
    for name, (attr, allowed) in CHOICES.items():
        value = args.get(name) or None
        if value is not None and value not in allowed:
            errors[name] = [f"Choose one of: {', '.join(allowed)}."]
        setattr(filters, attr, value)
    sort = args.get("sort") or "sku"
    if sort not in catalog.ACTUATOR_SORTS:
        errors["sort"] = [f"Choose one of: {', '.join(catalog.ACTUATOR_SORTS)}."]
    if errors:
        raise ValidationFailed("Check the query parameters listed in errors.", field_errors=errors)
    result = catalog.list_actuators(db.session, filters, sort=sort, page=page, per_page=PER_PAGE)
    return jsonify(result.as_json("actuators", [catalog.actuator_json(a) for a in result.items]))


@bp.get("/actuators/<uuid:actuator_id>")
@bearer_required
def get_actuator(actuator_id: uuid.UUID) -> Response:
    """One catalog actuator with its anchors and which it has and lacks (404 when there is none)."""
    ensure_permitted(g.membership, "view_configurations")
    return jsonify(catalog.actuator_json(catalog.get_actuator(db.session, actuator_id)))
