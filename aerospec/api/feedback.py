"""Lab results API at the spec's paths: POST /api/feedback, GET /api/configurations/<id>/feedback,
PUT /api/feedback/<id> (what was measured; not the configuration, SKU or pressure the prediction is for),
GET /api/feedback/aggregates (per actuator × fluid: counts, averages, RMSE)."""

from __future__ import annotations

import uuid

from flask import Response, g, jsonify, request

from aerospec.api import bp
from aerospec.api.schemas import FeedbackBody, FeedbackFields
from aerospec.api.views import bearer_required, parse_body
from aerospec.errors import ValidationFailed
from aerospec.extensions import db
from aerospec.feedback import aggregates
from aerospec.feedback import services as feedback
from aerospec.pagination import page_param
from aerospec.tenancy.permissions import ensure_permitted

MAX_PER_PAGE = 100


def _per_page(errors: dict[str, list[str]]) -> int:
    raw = (request.args.get("per_page") or "").strip()
    if not raw:
        return 25
    if raw.isascii() and raw.isdigit() and 1 <= int(raw[:4]) <= MAX_PER_PAGE and len(raw) <= 3:
        return int(raw)
    errors["per_page"] = [f"Must be a whole number from 1 to {MAX_PER_PAGE}."]
    return 25


@bp.post("/feedback")
@bearer_required
def create_feedback() -> tuple[Response, int]:
    """Record what the lab measured for one of a configuration's ranked actuators, the prediction beside it."""
    ensure_permitted(g.membership, "record_feedback")
    body = parse_body(FeedbackBody)
    row = feedback.record_feedback(db.session, g.tenant, g.membership, body.model_dump())
    answer = feedback.feedback_to_dict(row)
    db.session.commit()
    return jsonify(answer), 201


@bp.get("/configurations/<uuid:config_id>/feedback")
@bearer_required
def list_configuration_feedback(config_id: uuid.UUID) -> Response:
    """A page of a configuration's lab results, newest first: predicted beside measured with the error."""
    ensure_permitted(g.membership, "view_feedback")
    errors: dict[str, list[str]] = {}
    page = page_param(request.args, errors)
    per_page = _per_page(errors)
    if errors:
        raise ValidationFailed("Check the query parameters listed in errors.", field_errors=errors)
    result = feedback.list_feedback(db.session, g.tenant, config_id, page=page, per_page=per_page)
    return jsonify(result.as_json("feedback", [feedback.feedback_to_dict(r) for r in result.items]))


@bp.put("/feedback/<uuid:feedback_id>")
@bearer_required
def update_feedback(feedback_id: uuid.UUID) -> Response:
    """Correct what was measured (users their own results, admins any); the stored prediction stays as it was."""
    ensure_permitted(g.membership, "record_feedback")
    body = parse_body(FeedbackFields)
    data = body.model_dump(exclude_unset=True)
    if not data:
        raise ValidationFailed("Send the fields to change.", field_errors={"body": ["Send the fields to change."]})
    row = feedback.get_feedback(db.session, g.tenant, feedback_id)
    ensure_permitted(g.membership, "edit_feedback", owner_id=row.created_by_id)
    row = feedback.update_feedback(db.session, g.tenant, row, data)
    answer = feedback.feedback_to_dict(row)
    db.session.commit()
    return jsonify(answer)


@bp.get("/feedback/aggregates")
@bearer_required
def list_feedback_aggregates() -> Response:
    """The workspace's lab results summed up per actuator and fluid: counts, pass/fail, averages and RMSE."""
    ensure_permitted(g.membership, "view_feedback")
    errors: dict[str, list[str]] = {}
    page = page_param(request.args, errors)
    per_page = _per_page(errors)
    sku = (request.args.get("sku") or "").strip()
    if len(sku) > 40:
        errors["sku"] = ["A catalog SKU: at most 40 characters."]
    if errors:
        raise ValidationFailed("Check the query parameters listed in errors.", field_errors=errors)
    result = aggregates.list_aggregates(db.session, g.tenant, sku=sku or None, page=page, per_page=per_page)
    return jsonify(result.as_json("aggregates", [aggregates.aggregate_to_dict(r) for r in result.items]))
