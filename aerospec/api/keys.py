"""API keys over the API: GET/POST /api/keys, POST /api/keys/<id>/rotate, DELETE /api/keys/<id>.

Workspace admins (their access token) or a key with the `keys` scope (read to list, write to change).
The key itself is in the answer that creates it (or its replacement) and nowhere else.
"""

from __future__ import annotations

import uuid

from flask import Response, g, jsonify

from aerospec.api import bp
from aerospec.api import key_services as keys
from aerospec.api.key_auth import test_mode
from aerospec.api.schemas import ApiKeyCreateBody, ApiKeyOut, ApiKeyRotateBody
from aerospec.api.views import bearer_required, parse_body
from aerospec.extensions import db
from aerospec.tenancy.permissions import ensure_permitted
from aerospec.web.client import client_info


def _out(key, raw: str | None = None) -> dict:
    return ApiKeyOut(**keys.key_to_dict(key), key=raw).model_dump(exclude={"key"} if raw is None else set())


def _no_store(response: Response) -> Response:
    # SECURITY: an answer carrying a key must not be cached by browsers or proxies.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/keys")
@bearer_required
def list_api_keys() -> Response:
    """The workspace's API keys, newest first, with when and from where each was last used."""
    ensure_permitted(g.membership, "view_api_keys")
    keys.ensure_api_in_plan(g.tenant)
    return jsonify({"keys": [_out(k) for k in keys.list_keys(db.session, g.tenant)]})


@bp.post("/keys")
@bearer_required
def create_api_key() -> tuple[Response, int]:
    """Create a key with a name, scopes and an optional expiry; the answer shows the key once."""
    ensure_permitted(g.membership, "manage_api_keys")
    body = parse_body(ApiKeyCreateBody)
    key, raw = keys.create_key(
        db.session,
        g.tenant,
        g.membership,
        name=body.name,
        scopes=body.scopes,
        expires_in_days=body.expires_in_days,
        test_mode=test_mode(),
        client=client_info(),
    )
    answer = _out(key, raw)
    db.session.commit()
    return _no_store(jsonify(answer)), 201


@bp.post("/keys/<uuid:key_id>/rotate")
@bearer_required
def rotate_api_key(key_id: uuid.UUID) -> tuple[Response, int]:
    """Replace a key: the answer shows the new key once; the old one works for the grace period chosen."""
    ensure_permitted(g.membership, "manage_api_keys")
    body = parse_body(ApiKeyRotateBody)
    old = keys.get_key(db.session, g.tenant, key_id)
    new, raw = keys.rotate_key(
        db.session,
        g.tenant,
        g.membership,
        old,
        grace_period_hours=body.grace_period_hours,
        test_mode=test_mode(),
        client=client_info(),
    )
    answer = {**_out(new, raw), "replaces": _out(old)}
    db.session.commit()
    return _no_store(jsonify(answer)), 201


@bp.delete("/keys/<uuid:key_id>")
@bearer_required
def revoke_api_key(key_id: uuid.UUID) -> Response:
    """Revoke a key: it stops working at once (204; revoking a revoked key again also answers 204)."""
    ensure_permitted(g.membership, "manage_api_keys")
    key = keys.get_key(db.session, g.tenant, key_id)
    keys.revoke_key(db.session, g.tenant, g.membership, key, client=client_info())
    db.session.commit()
    return Response(status=204)
