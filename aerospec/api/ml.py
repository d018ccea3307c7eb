"""Custom models and the training-data export (issue 12 items 5 and 6).

POST /api/ml/custom-models/train   TrainCustomModelBody → 202 {model_id, status: "training", eta_seconds}
GET  /api/ml/custom-models         ?page= → {models: [CustomModel], page, pages, per_page, total}
GET  /api/ml/custom-models/<id>    → CustomModel (progress, status, message, held-out metrics)
GET  /api/ml/training-data         ?page= (platform admins only; anyone else 404) → {rows, page, pages, per_page, total}

Custom models need the plan feature custom_models (402 naming the plans otherwise); another workspace's
model id answers 404. The training data is anonymised: no tenant, user, configuration, order or result ids,
fluids by their properties, only workspaces whose "share our lab results" setting is on.
"""

from __future__ import annotations

import math
import uuid

from flask import Response, g, jsonify

from aerospec.api import bp
from aerospec.api.admin_procurement import _page, _require_platform_admin
from aerospec.api.views import bearer_required, parse_body
from aerospec.extensions import db
from aerospec.feedback import custom, training_data
from aerospec.feedback.custom import TrainCustomModelBody
from aerospec.tenancy.features import ensure_feature
from aerospec.tenancy.permissions import ensure_permitted

PER_PAGE = 50


def _gate(permission: str) -> None:
    ensure_permitted(g.membership, permission)
    ensure_feature(g.tenant, "custom_models")


@bp.post("/ml/custom-models/train")
@bearer_required
def train_custom_model() -> tuple[Response, int]:
    """Start training a custom model (users and admins): 202, trained by a job on the `ml` queue."""
    ensure_permitted(g.membership, "record_feedback")
    body = parse_body(TrainCustomModelBody)  # a malformed body is 400/422 on every plan, like every JSON route
    ensure_feature(g.tenant, "custom_models")
    row, eta = custom.start(
        db.session, g.tenant, g.membership, name=body.name, model_type=body.model_type, selection=body.selection()
    )
    db.session.commit()
    return jsonify({"model_id": str(row.id), "status": "training", "eta_seconds": eta}), 202


@bp.get("/ml/custom-models")
@bearer_required
def list_custom_models() -> Response:
    _gate("view_feedback")
    page = _page()
    rows, total = custom.list_for(db.session, g.tenant, page=page, per_page=PER_PAGE)
    return jsonify(
        {
            "models": [custom.to_dict(r) for r in rows],
            "page": page,
            "pages": max(1, math.ceil(total / PER_PAGE)),
            "per_page": PER_PAGE,
            "total": total,
        }
    )


@bp.get("/ml/custom-models/<uuid:model_id>")
@bearer_required
def get_custom_model(model_id: uuid.UUID) -> Response:
    _gate("view_feedback")
    return jsonify(custom.to_dict(custom.get(db.session, g.tenant, model_id)))


@bp.get("/ml/training-data")
@bearer_required(require_member=False)
def training_data_export() -> Response:
    """Anonymised lab results of the sharing workspaces (platform admins; anyone else 404)."""
    _require_platform_admin()
    page = _page()
    rows, total = training_data.page(db.session, page=page, per_page=training_data.PER_PAGE)
    return jsonify(
        {
            "rows": rows,
            "page": page,
            "pages": max(1, math.ceil(total / training_data.PER_PAGE)),
            "per_page": training_data.PER_PAGE,
            "total": total,
        }
    )
