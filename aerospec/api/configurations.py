"""Configurations API at the seed's paths, with the seed's column names in bodies; and predict.

GET/POST /api/configurations, GET/PUT/DELETE /api/configurations/<id>,
POST /api/configurations/<id>/duplicate, POST /api/configurations/<id>/share,
DELETE /api/configurations/<id>/shares/<user_id>, POST /api/configurations/predict.
"""

from __future__ import annotations

import math
import uuid

from flask import Response, current_app, g, jsonify, request
from pydantic import Field, field_validator

from aerospec import engine
from aerospec.api import bp
from aerospec.api.schemas import Body, GeometryBody
from aerospec.api.views import bearer_required, parse_body
from aerospec.configurations import services as configs
from aerospec.configurations import wizard
from aerospec.engine import anchors
from aerospec.errors import NotFound, ValidationFailed
from aerospec.extensions import db
from aerospec.feedback import active, custom
from aerospec.limits import counters, messages
from aerospec.pagination import page_param
from aerospec.tenancy.features import ensure_feature
from aerospec.tenancy.permissions import ensure_permitted
from aerospec.web.client import client_info


class ConfigurationBody(Body):
    """A configuration as sent to POST (all required fields) or PUT (any subset)."""

    model_config = {**Body.model_config, "strict": False}

    name: str | None = None
    description: str | None = None
    fluid_name: str | None = None
    fluid_id: str | None = None
    fluid_viscosity_cP: float | None = None  # noqa: N815 - the seed's names
    fluid_density_kg_m3: float | None = None
    fluid_surface_tension_mN_m: float | None = None  # noqa: N815
    fluid_flash_point_C: float | None = None  # noqa: N815
    fluid_vapour_pressure_kPa: float | None = None  # noqa: N815
    fluid_liquefied_propellant: bool | None = None
    target_spray_cone_deg: float | None = None
    target_spray_cone_tol_deg: float | None = None
    target_droplet_size_um: float | None = None
    target_droplet_size_tol_um: float | None = None
    target_flow_rate_ml_min: float | None = None
    target_flow_rate_tol_ml_min: float | None = None
    max_pressure_bar: float | None = None
    status: str | None = None
    tags: list[str] | None = None
    compatible_actuators: list[dict | str] | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _no_numeric_strings(cls, value, info):
        # Numbers must be JSON numbers: "12" is a client bug, not a number.
        annotation = cls.model_fields[info.field_name].annotation
        if isinstance(value, str) and annotation == (float | None):
            raise ValueError("Must be a number.")
        if isinstance(value, bool) and annotation == (float | None):
            raise ValueError("Must be a number.")
        return value


class ShareBody(Body):
    user_id: str
    permission: str


class TargetBody(Body):
    model_config = {**Body.model_config, "strict": False}

    value: float = Field(gt=0)
    tolerance: float | None = Field(default=None, gt=0)


class TargetsBody(Body):
    model_config = {**Body.model_config, "strict": False}

    cone_deg: TargetBody | None = None
    dv50_um: TargetBody | None = None
    flow_ml_min: TargetBody | None = None


class PredictBody(Body):
    model_config = {**Body.model_config, "strict": False}

    # Lower ends below any real fluid (a gas's viscosity is about 0.01 cP): past them the engine's arithmetic
    # overflows (schemathesis found viscosity 1e-300 cP), so they are input errors, not predictions.
    fluid_viscosity_cP: float = Field(ge=0.001, le=1_000_000)  # noqa: N815
    fluid_density_kg_m3: float = Field(ge=0.1, le=25_000)
    fluid_surface_tension_mN_m: float = Field(ge=0.01, le=1_000)  # noqa: N815
    fluid_flash_point_C: float | None = Field(default=None, ge=-273.15, le=1_000)  # noqa: N815
    fluid_vapour_pressure_kPa: float | None = Field(default=None, ge=0, le=100_000)  # noqa: N815
    fluid_liquefied_propellant: bool = False
    pressure_bar: float = Field(ge=0.001, le=1_000)
    geometry: GeometryBody | None = None
    targets: TargetsBody | None = None
    model_id: str | None = Field(default=None, max_length=80)  # a custom model of the workspace (api/ml.py)

    @field_validator("*", mode="before")
    @classmethod
    def _finite(cls, value, info):
        if info.field_name == "model_id":
            return value
        if isinstance(value, str) and not isinstance(value, bool):
            raise ValueError("Must be a number.")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("Must be a finite number.")
        return value


def _model_stack(model_id: str) -> active.Stack:
    """The custom model's stack: 402 without the feature, 404 for an unknown or another workspace's id,
    409 while it is training or when it failed."""
    ensure_feature(g.tenant, "custom_models")
    shown = model_id if len(model_id) <= 80 else model_id[:77] + "..."
    try:
        stack, _ = custom.stack_of(db.session, g.tenant, model_id)
    except NotFound as exc:
        raise NotFound(
            f"No custom model “{shown}” in this workspace. Leave out model_id to predict with AeroSpec's models.",
            field_errors={"model_id": [f"Unknown model “{shown}”."]},
        ) from exc
    return stack


def _counter() -> counters.Counter:
    return counters.counter_for(current_app)


def _with_quota(body: dict, use: counters.QuotaUse) -> dict:
    if use.limit is not None:
        body["quota"] = {"name": use.name, "used": use.used, "limit": use.limit}
        if use.warn:
            body["quota"]["warning"] = messages.warning_message(use, g.tenant)
    return body


def _body_data(body: Body) -> dict:
    return body.model_dump(exclude_unset=True)


@bp.get("/configurations")
@bearer_required
def list_configurations() -> Response:
    """A page of the workspace's configurations (q, status, tag, creator, archived, sort, page)."""
    ensure_permitted(g.membership, "view_configurations")
    args = request.args
    errors: dict[str, list[str]] = {}
    page = page_param(args, errors)
    status = args.get("status") or None
    if status and status not in configs.STATUSES:
        errors["status"] = [f"Choose one of: {', '.join(configs.STATUSES)}."]
    sort = args.get("sort") or "updated"
    if sort not in configs.SORTS:
        errors["sort"] = [f"Choose one of: {', '.join(configs.SORTS)}."]
    creator = args.get("creator") or None
    creator_id = None
    if creator:
        try:
            creator_id = uuid.UUID(creator)
        except ValueError:
            errors["creator"] = ["Must be a user id."]
    if errors:
        raise ValidationFailed("Check the query parameters listed in errors.", field_errors=errors)
    result = configs.list_configurations(
        db.session,
        g.tenant,
        configs.ListFilters(
            q=args.get("q") or None,
            status=status,
            tag=args.get("tag") or None,
            creator_id=creator_id,
            include_archived=args.get("archived") in ("1", "true"),
            sort=sort,
            page=page,
        ),
    )
    return jsonify(result.as_json("configurations", [configs.configuration_json(c) for c in result.items]))


@bp.post("/configurations")
@bearer_required
def create_configuration() -> tuple[Response, int]:
    """Create a configuration, ranked as the wizard ranks unless `compatible_actuators` is given (quota: 402)."""
    body = parse_body(ConfigurationBody)
    config, use = configs.create_configuration(
        db.session, g.tenant, g.membership, _body_data(body), counter=_counter(), client=client_info()
    )
    answer = _with_quota(configs.configuration_json(config), use)
    db.session.commit()
    return jsonify(answer), 201


@bp.get("/configurations/<uuid:config_id>")
@bearer_required
def get_configuration(config_id: uuid.UUID) -> Response:
    """One configuration with its shares and version count."""
    ensure_permitted(g.membership, "view_configurations")
    config = configs.get_configuration(db.session, g.tenant, config_id)
    body = configs.configuration_json(config)
    body["shares"] = [
        {"user_id": str(s.user_id), "name": s.user.name, "permission": s.permission}
        for s in configs.list_shares(db.session, g.tenant, config)
    ]
    return jsonify(body)


@bp.put("/configurations/<uuid:config_id>")
@bearer_required
def update_configuration(config_id: uuid.UUID) -> Response:
    """Change fields (any subset); a real change stores a version with its diff; new targets rank again."""
    body = parse_body(ConfigurationBody)
    config = configs.get_configuration(db.session, g.tenant, config_id)
    config = configs.update_configuration(
        db.session, g.tenant, g.membership, config, _body_data(body), client=client_info()
    )
    answer = configs.configuration_json(config)
    db.session.commit()
    return jsonify(answer)


@bp.delete("/configurations/<uuid:config_id>")
@bearer_required
def archive_configuration(config_id: uuid.UUID) -> Response:
    """Archive (admins any, users their own); restore it from the web page."""
    config = configs.get_configuration(db.session, g.tenant, config_id)
    config = configs.archive_configuration(db.session, g.tenant, g.membership, config, client=client_info())
    answer = configs.configuration_json(config)
    db.session.commit()
    return jsonify(answer)


@bp.post("/configurations/<uuid:config_id>/duplicate")
@bearer_required
def duplicate_configuration(config_id: uuid.UUID) -> tuple[Response, int]:
    """A draft "Copy of …" owned by you, at version 1."""
    parse_body(Body)
    config = configs.get_configuration(db.session, g.tenant, config_id)
    copy, use = configs.duplicate_configuration(
        db.session, g.tenant, g.membership, config, counter=_counter(), client=client_info()
    )
    answer = _with_quota(configs.configuration_json(copy), use)
    db.session.commit()
    return jsonify(answer), 201


@bp.post("/configurations/<uuid:config_id>/share")
@bearer_required
def share_configuration(config_id: uuid.UUID) -> Response:
    """Share with a member: {user_id, permission: view|edit}."""
    body = parse_body(ShareBody)
    config = configs.get_configuration(db.session, g.tenant, config_id)
    share = configs.share_configuration(
        db.session,
        g.tenant,
        g.membership,
        config,
        user_id=body.user_id,
        permission=body.permission,
        client=client_info(),
    )
    answer = {
        "configuration_id": str(config.id),
        "user_id": str(share.user_id),
        "permission": share.permission,
    }
    db.session.commit()
    return jsonify(answer)


@bp.delete("/configurations/<uuid:config_id>/shares/<uuid:user_id>")
@bearer_required
def unshare_configuration(config_id: uuid.UUID, user_id: uuid.UUID) -> Response:
    """Stop sharing with a member (404 when it was not shared)."""
    config = configs.get_configuration(db.session, g.tenant, config_id)
    configs.unshare_configuration(db.session, g.tenant, g.membership, config, user_id, client=client_info())
    db.session.commit()
    return Response(status=204)


@bp.post("/configurations/predict")
@bearer_required
def predict() -> Response:
    """Predict for a typed-in geometry ({"prediction"}), or rank the catalog ({"actuators", "excluded"}).

    `model_id` (query parameter or body field) picks one of the workspace's custom models (ready ones; the
    answer's model_version names it); without it the shared correction stack is used.
    """
    ensure_permitted(g.membership, "view_configurations")
    body = parse_body(PredictBody)
    query_id = request.args.get("model_id") if "model_id" in request.args else None
    if query_id is not None and body.model_id is not None and query_id != body.model_id:
        raise ValidationFailed(
            "Give model_id once.", field_errors={"model_id": ["The query and the body name different models."]}
        )
    model_id = query_id if query_id is not None else body.model_id
    custom_stack = _model_stack(model_id) if model_id is not None else None
    fluid = engine.Fluid(
        viscosity_cp=body.fluid_viscosity_cP,
        density_kg_m3=body.fluid_density_kg_m3,
        surface_tension_mn_m=body.fluid_surface_tension_mN_m,
        flash_point_c=body.fluid_flash_point_C,
        vapour_pressure_kpa=body.fluid_vapour_pressure_kPa,
        liquefied_propellant=body.fluid_liquefied_propellant,
    )
    if body.geometry is not None:
        geo = body.geometry
        if geo.swirl_chamber_mm is not None and geo.swirl_chamber_mm <= geo.orifice_mm:
            raise ValidationFailed(
                "Check the geometry.",
                field_errors={"geometry.swirl_chamber_mm": ["Must be larger than the orifice diameter."]},
            )
        geometry = engine.Geometry(
            spray_type=geo.type,
            orifice_mm=geo.orifice_mm,
            swirl_chamber_mm=geo.swirl_chamber_mm,
            inlet_area_mm2=geo.inlet_area_mm2,
            orifice_length_mm=geo.orifice_length_mm,
            **anchors.check_anchors(geo.anchor_values(), geo.type)[0],
        )
        try:
            prediction = engine.predict(fluid, geometry, body.pressure_bar)
        except ValueError as exc:
            raise ValidationFailed(
                "The engine cannot predict for these inputs.", field_errors={"geometry": [str(exc)]}
            ) from exc
        # A typed-in geometry is no SKU: only the family and global levels of the correction apply to it.
        stack = custom_stack or active.stack_for_current(db.session)
        prediction, applied = active.correct(stack, prediction, [None], [geometry.family], fluid, [geo.orifice_mm])
        item = engine.prediction_item(prediction, 0)
        item["correction"] = applied.item(0)
        return jsonify({"prediction": item, "model_version": item["correction"]["model_version"]})
    made = {}
    if body.targets is not None:
        for key in ("cone_deg", "dv50_um", "flow_ml_min"):
            target = getattr(body.targets, key)
            if target is not None:
                made[key] = engine.Target(target.value, target.tolerance or round(target.value * 0.1, 6))
    targets = engine.Targets(pressure_bar=body.pressure_bar, **made)
    results = wizard.ranked_entries(db.session, fluid, targets, top=50, stack=custom_stack)
    answer: dict = {
        "model_version": (custom_stack or active.stack_for_current(db.session)).version,
        "actuators": [{k: v for k, v in e.items() if k != "index"} for e in results.entries],
        "excluded": results.excluded,
        "excluded_total": results.excluded_total,
        "compatible_total": results.compatible,
    }
    if results.empty:
        answer["empty"] = results.explanation
    return jsonify(answer)
