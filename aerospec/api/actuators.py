"""Actuators API: GET /api/actuators (the catalog and the workspace's own, filters, pages), GET /api/actuators/<id>
(anchors included), and the workspace's own actuators: POST /api/actuators, PUT/DELETE /api/actuators/<id>."""

from __future__ import annotations

import uuid

from flask import Response, g, jsonify, request
from pydantic import Field, field_validator

from aerospec.api import bp
from aerospec.api.schemas import Body
from aerospec.api.views import bearer_required, parse_body
from aerospec.catalog import own_actuators as own
from aerospec.catalog import services as catalog
from aerospec.catalog.models import TenantActuator
from aerospec.errors import NotFound, ValidationFailed
from aerospec.extensions import db
from aerospec.pagination import page_param
from aerospec.tenancy.permissions import ensure_permitted
from aerospec.web.client import client_info

PER_PAGE = 50
#: Query parameter -> (ActuatorFilters field, the accepted values).
CHOICES = {
    "supplier": ("supplier", ("spencer", "coster")),
    "spray_type": ("spray_type", ("hollow_cone", "full_cone", "plain_orifice")),
    "family": ("family", tuple(catalog.FAMILY_LABELS)),
}
SOURCES = ("catalog", "own")
CHANGE_OWN = "add, edit or delete the workspace's own actuators"

#: A number in the stored unit (the field's name says it), or text with a unit ("0.3 mm", "45 psi", "1,2 L/min").
Quantity = float | str | None


class OwnActuatorBody(Body):
    """One of the workspace's own actuators. Numbers are in the unit the field's name ends in, or text with its
    unit ("0.3 mm", "0.012 in", "45 psi", "1.2 L/min", "0.12 mm²"); the anchors follow engine v2's rules."""

    model_config = {**Body.model_config, "strict": False}

    sku: str = Field(max_length=200)
    name: str = Field(max_length=500)
    maker: str | None = Field(default=None, max_length=500)
    spray_type: str
    orifice_mm: Quantity = None
    swirl_chamber_mm: Quantity = None
    inlet_area_mm2: Quantity = None
    max_pressure_bar: Quantity = None
    min_viscosity_cp: Quantity = None
    max_viscosity_cp: Quantity = None
    unit_price: Quantity = None
    currency: str | None = None
    body_material: str
    seal_material: str
    family: str | None = None
    rated_flow_ml_min: Quantity = None
    rated_pressure_bar: Quantity = None
    rated_density_kg_m3: Quantity = None
    flow_number_ml_min_sqrtbar: Quantity = None
    flow_exponent: Quantity = None
    angle_table: list[tuple[float, float]] | str | None = Field(
        default=None, description='[[bar, degrees], ...] or "0.7:39,1.5:58".'
    )
    full_cone_insert: str | None = None
    orifice_nominal: bool | None = None
    stem_orifice_mm: Quantity = None
    housing_orifice_mm: Quantity = None
    vapour_tap_mm: Quantity = None
    notes: str | None = Field(default=None, max_length=5000)

    @field_validator(*(name for name, spec in own.NUMBER_FIELDS.items()), mode="before")
    @classmethod
    def _no_booleans(cls, value):
        if isinstance(value, bool):  # JSON true is not 1 mm
            raise ValueError('Must be a number, or text with its unit such as "0.3 mm".')
        return value


def _values(body: OwnActuatorBody) -> dict:
    values = body.model_dump()
    if isinstance(values.get("angle_table"), list):
        values["angle_table"] = tuple(tuple(point) for point in values["angle_table"])
    return values


@bp.get("/actuators")
@bearer_required
def list_actuators() -> Response:
    """A page of the workspace's own actuators (first) and the catalog (source, supplier, spray_type, family, sort,
    page), each with its anchors; own ones carry source "own" and the label "own actuator"."""
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
    source = args.get("source") or None
    if source is not None and source not in SOURCES:
        errors["source"] = [f"Choose one of: {', '.join(SOURCES)}."]
    sort = args.get("sort") or "sku"
    if sort not in catalog.ACTUATOR_SORTS:
        errors["sort"] = [f"Choose one of: {', '.join(catalog.ACTUATOR_SORTS)}."]
    if errors:
        raise ValidationFailed("Check the query parameters listed in errors.", field_errors=errors)
    result = own.list_all_actuators(
        db.session, g.tenant, filters, source=source, sort=sort, page=page, per_page=PER_PAGE
    )
    return jsonify(result.as_json("actuators", [own.any_json(a) for a in result.items]))


@bp.get("/actuators/<uuid:actuator_id>")
@bearer_required
def get_actuator(actuator_id: uuid.UUID) -> Response:
    """One catalog actuator or one of the workspace's own, with its anchors (404 for another workspace's)."""
    ensure_permitted(g.membership, "view_configurations")
    return jsonify(own.any_json(own.get_any_actuator(db.session, g.tenant, actuator_id)))


@bp.post("/actuators")
@bearer_required
def create_actuator() -> Response:
    """Add an actuator of the workspace's own; its SKU may be neither a catalog SKU nor another of its own."""
    ensure_permitted(g.membership, "edit_own_actuators", doing=CHANGE_OWN)
    body = parse_body(OwnActuatorBody)
    row = own.create_own_actuator(db.session, g.tenant, g.get("api_user"), _values(body))
    own.record_event(db.session, g.tenant, g.get("api_user"), "own_actuator.created", sku=row.sku, target_id=row.id,
                     client=client_info())  # fmt: skip
    db.session.commit()
    response = jsonify(own.own_json(row))
    response.status_code = 201
    return response


def _own_or_404(actuator_id: uuid.UUID) -> TenantActuator:
    try:
        return own.get_own_actuator(db.session, g.tenant, actuator_id)
    except NotFound as error:
        raise NotFound("No such actuator of your workspace (catalog actuators cannot be changed).") from error


@bp.put("/actuators/<uuid:actuator_id>")
@bearer_required
def update_actuator(actuator_id: uuid.UUID) -> Response:
    """Replace one of the workspace's own actuators (every field given again); a catalog id is 404."""
    ensure_permitted(g.membership, "edit_own_actuators", doing=CHANGE_OWN)
    body = parse_body(OwnActuatorBody)
    row = _own_or_404(actuator_id)
    row = own.update_own_actuator(db.session, g.tenant, g.get("api_user"), row.id, _values(body))
    own.record_event(db.session, g.tenant, g.get("api_user"), "own_actuator.updated", sku=row.sku, target_id=row.id,
                     client=client_info())  # fmt: skip
    db.session.commit()
    return jsonify(own.own_json(row))


@bp.delete("/actuators/<uuid:actuator_id>")
@bearer_required
def delete_actuator(actuator_id: uuid.UUID) -> Response:
    """Delete one of the workspace's own actuators (lab results recorded for it stay); a catalog id is 404."""
    ensure_permitted(g.membership, "edit_own_actuators", doing=CHANGE_OWN)
    row = _own_or_404(actuator_id)
    row_id = row.id
    sku = own.delete_own_actuator(db.session, g.tenant, g.get("api_user"), row_id)
    own.record_event(db.session, g.tenant, g.get("api_user"), "own_actuator.deleted", sku=sku, target_id=row_id,
                     client=client_info())  # fmt: skip
    db.session.commit()
    return Response(status=204)
