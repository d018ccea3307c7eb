"""Outgoing webhooks by API: endpoints, test events, secret rotation, the delivery log and replays.

Admins' access tokens (the `manage_webhooks` row of the permission matrix) and plans with the
`webhooks` feature. `_authorize` is the one gate: an API key (issue 14, part 1) is checked there by
its `webhooks` scope instead of a role.
"""

from __future__ import annotations

import uuid

from flask import Response, current_app, g, jsonify, request

from aerospec.api import bp
from aerospec.api.schemas import Body, RotateSecretBody, WebhookEndpointBody, WebhookEndpointUpdateBody
from aerospec.api.views import bearer_required, parse_body
from aerospec.errors import PermissionDenied, ValidationFailed
from aerospec.extensions import db
from aerospec.pagination import page_param
from aerospec.tenancy.features import ensure_feature
from aerospec.tenancy.permissions import ensure_permitted, expand_scopes
from aerospec.web.client import client_info
from aerospec.webhooks import services as webhooks

MAX_PER_PAGE = 100


def _authorize(write: bool) -> None:
    """Admins, or an API key with the webhooks scope; the plan must include webhooks."""
    scopes = getattr(g.membership, "api_scopes", None)
    if scopes is not None:  # SECURITY: a key acts by its scopes, never by a role
        scope = "webhooks:write" if write else "webhooks:read"
        if scope not in expand_scopes(scopes):
            raise PermissionDenied(f"This API key does not have the {scope} scope, which it needs here.")
    else:
        ensure_permitted(g.membership, webhooks.PERMISSION, doing="manage the workspace's webhooks")
    ensure_feature(g.tenant, webhooks.FEATURE)


def _settings() -> webhooks.Settings:
    return webhooks.Settings.from_config(current_app.config)


def _per_page(errors: dict[str, list[str]]) -> int:
    raw = (request.args.get("per_page") or "").strip()
    if not raw:
        return 25
    if raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= MAX_PER_PAGE:
        return int(raw)
    errors["per_page"] = [f"Must be a whole number from 1 to {MAX_PER_PAGE}."]
    return 25


@bp.get("/webhooks/endpoints")
@bearer_required
def list_webhook_endpoints() -> Response:
    """The workspace's webhook endpoints with their signing secrets, and the events one can subscribe to."""
    _authorize(write=False)
    from aerospec.webhooks.events import EVENTS

    rows = webhooks.list_endpoints(db.session, g.tenant)
    return jsonify(
        {
            "endpoints": [webhooks.endpoint_json(e) for e in rows],
            "event_types": [{"type": e.name, "version": e.version, "description": e.label} for e in EVENTS.values()],
        }
    )


@bp.post("/webhooks/endpoints")
@bearer_required
def create_webhook_endpoint() -> tuple[Response, int]:
    """Add an endpoint (HTTPS URL, events); the answer carries its new signing secret."""
    _authorize(write=True)
    body = parse_body(WebhookEndpointBody)
    endpoint = webhooks.create_endpoint(
        db.session, g.tenant, g.membership, body.model_dump(), _settings(), client=client_info()
    )
    answer = webhooks.endpoint_json(endpoint)
    db.session.commit()
    return jsonify(answer), 201


@bp.get("/webhooks/endpoints/<uuid:endpoint_id>")
@bearer_required
def get_webhook_endpoint(endpoint_id: uuid.UUID) -> Response:
    """One endpoint with its secret (404 for another workspace's id)."""
    _authorize(write=False)
    return jsonify(webhooks.endpoint_json(webhooks.get_endpoint(db.session, g.tenant, endpoint_id)))


@bp.put("/webhooks/endpoints/<uuid:endpoint_id>")
@bearer_required
def update_webhook_endpoint(endpoint_id: uuid.UUID) -> Response:
    """Change the URL, events, description or enabled flag (enabling clears the failure run)."""
    _authorize(write=True)
    body = parse_body(WebhookEndpointUpdateBody)
    data = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    if not data:
        raise ValidationFailed("Send the fields to change.", field_errors={"body": ["Send the fields to change."]})
    endpoint = webhooks.get_endpoint(db.session, g.tenant, endpoint_id)
    webhooks.update_endpoint(db.session, g.tenant, g.membership, endpoint, data, _settings(), client=client_info())
    answer = webhooks.endpoint_json(endpoint)
    db.session.commit()
    return jsonify(answer)


@bp.delete("/webhooks/endpoints/<uuid:endpoint_id>")
@bearer_required
def delete_webhook_endpoint(endpoint_id: uuid.UUID) -> Response:
    """Delete an endpoint and its delivery log."""
    _authorize(write=True)
    endpoint = webhooks.get_endpoint(db.session, g.tenant, endpoint_id)
    webhooks.delete_endpoint(db.session, g.tenant, g.membership, endpoint, client=client_info())
    db.session.commit()
    return Response(status=204)


@bp.post("/webhooks/endpoints/<uuid:endpoint_id>/test")
@bearer_required
def test_webhook_endpoint(endpoint_id: uuid.UUID) -> tuple[Response, int]:
    """Send a `webhook.test` event to the endpoint (202: follow it in its deliveries)."""
    _authorize(write=True)
    parse_body(Body)  # no fields expected; rejects stray ones
    endpoint = webhooks.get_endpoint(db.session, g.tenant, endpoint_id)
    row = webhooks.send_test(db.session, g.tenant, g.membership, endpoint, client=client_info())
    answer = webhooks.delivery_json(row)
    db.session.commit()
    return jsonify(answer), 202


@bp.post("/webhooks/endpoints/<uuid:endpoint_id>/rotate-secret")
@bearer_required
def rotate_webhook_secret(endpoint_id: uuid.UUID) -> Response:
    """A new signing secret; the old one keeps signing for `grace_hours` (default 24, at most 168)."""
    _authorize(write=True)
    body = parse_body(RotateSecretBody)
    endpoint = webhooks.get_endpoint(db.session, g.tenant, endpoint_id)
    webhooks.rotate_secret(db.session, g.tenant, g.membership, endpoint, body.grace_hours, client=client_info())
    answer = webhooks.endpoint_json(endpoint)
    db.session.commit()
    return jsonify(answer)


@bp.get("/webhooks/endpoints/<uuid:endpoint_id>/deliveries")
@bearer_required
def list_webhook_deliveries(endpoint_id: uuid.UUID) -> Response:
    """A page of the endpoint's deliveries, newest first, each with its attempts."""
    _authorize(write=False)
    errors: dict[str, list[str]] = {}
    page = page_param(request.args, errors)
    per_page = _per_page(errors)
    if errors:
        raise ValidationFailed("Check the query parameters listed in errors.", field_errors=errors)
    endpoint = webhooks.get_endpoint(db.session, g.tenant, endpoint_id)
    result = webhooks.list_deliveries(db.session, g.tenant, endpoint, page=page, per_page=per_page)
    attempts = webhooks.attempts_of(db.session, g.tenant, result.items)
    return jsonify(result.as_json("deliveries", [webhooks.delivery_json(d, attempts[d.id]) for d in result.items]))


@bp.post("/webhooks/deliveries/<uuid:delivery_id>/replay")
@bearer_required
def replay_webhook_delivery(delivery_id: uuid.UUID) -> tuple[Response, int]:
    """Send a delivery again (same body and webhook-id, signed now): 202 with the new delivery."""
    _authorize(write=True)
    parse_body(Body)  # no fields expected
    original = webhooks.get_delivery(db.session, g.tenant, delivery_id)
    row = webhooks.replay(db.session, g.tenant, g.membership, original, client=client_info())
    answer = webhooks.delivery_json(row)
    db.session.commit()
    return jsonify(answer), 202
