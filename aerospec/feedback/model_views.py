"""The workspace's custom models page: the list with a progress bar while one trains (htmx polling)."""

from __future__ import annotations

from flask import g, request
from flask_login import login_required

from aerospec.extensions import db
from aerospec.feedback import bp, custom
from aerospec.pagination import page_arg
from aerospec.tenancy.features import require_feature
from aerospec.tenancy.permissions import require_permission
from aerospec.web.htmx import is_htmx, render

PER_PAGE = 25


@bp.route("/t/<tenant_slug>/models")
@login_required
@require_permission("view_configurations")
@require_feature("custom_models")
def custom_models():
    """The workspace's custom models, newest first; the list polls while one is training."""
    page = page_arg(request.args)
    rows, total = custom.list_for(db.session, g.tenant, page=page, per_page=PER_PAGE)
    training = any(r.status == "training" for r in rows)
    # 286 tells htmx to stop polling once nothing on the page is training.
    status = 286 if is_htmx() and not training else 200
    return render(
        "feedback/custom_models.html",
        block="models_list",
        status=status,
        models=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        training=training,
    )
