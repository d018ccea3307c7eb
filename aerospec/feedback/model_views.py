"""The workspace's custom models page: the training form, and the list with a progress bar while one trains."""

from __future__ import annotations

from flask import g, request, url_for
from flask_login import login_required

from aerospec.errors import ValidationFailed
from aerospec.extensions import db
from aerospec.feedback import bp, custom
from aerospec.feedback.forms import MODEL_TYPE_HELP, TrainModelForm
from aerospec.pagination import page_arg
from aerospec.tenancy.features import require_feature
from aerospec.tenancy.permissions import can, ensure_permitted, require_permission
from aerospec.web.forms import apply_errors
from aerospec.web.htmx import hx_redirect, is_htmx, render

PER_PAGE = 25
TEMPLATE = "feedback/custom_models.html"


def _form_context(form: TrainModelForm | None = None) -> dict:
    """The training form (for those who may train) with its choices and the count of the results it selects."""
    if not can(g.membership.role, "record_feedback"):
        return {"form": None, "selected": None}
    form = form or TrainModelForm(formdata=None)
    choices = custom.selection_choices(db.session, g.tenant)
    form.fluid.choices = [("", "Every fluid"), *((f, f) for f in choices["fluids"])]
    form.sku.choices = [("", "Every actuator"), *((s, s) for s in choices["skus"])]
    return {"form": form, "type_help": MODEL_TYPE_HELP, "selected": _count(form)}


def _count(form: TrainModelForm) -> int | None:
    """How many results the form's selection holds; None while a date in it cannot be read."""
    body = form.body()
    try:
        selection = custom.parse({**body, "name": "count"}).selection()
    except ValidationFailed:
        return None
    return custom.count_selection(db.session, g.tenant, selection)


@bp.route("/t/<tenant_slug>/models")
@login_required
@require_permission("view_configurations")
@require_feature("custom_models")
def custom_models():
    """The workspace's custom models, newest first, and the form to train one; the list polls while one trains."""
    if request.args.get("preview") and is_htmx():
        # The form's live count: the selection as it is typed, read from the query string.
        form = TrainModelForm(formdata=request.args, meta={"csrf": False})
        return render(TEMPLATE, block="selection_count", **_form_context(form))
    listed = _list_context()
    # 286 tells htmx to stop polling once nothing on the page is training.
    status = 286 if is_htmx() and not listed["training"] else 200
    return render(TEMPLATE, block="models_list", status=status, **listed, **_form_context())


def _list_context() -> dict:
    page = page_arg(request.args)
    rows, total = custom.list_for(db.session, g.tenant, page=page, per_page=PER_PAGE)
    return {
        "models": rows,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PER_PAGE)),
        "training": any(r.status == "training" for r in rows),
    }


@bp.route("/t/<tenant_slug>/models", methods=["POST"])
@login_required
@require_feature("custom_models")
def train_model():
    """Start training a custom model from the form (as POST /api/ml/custom-models/train), or show its messages."""
    ensure_permitted(g.membership, "record_feedback")
    form = TrainModelForm()
    try:
        if not form.validate_on_submit():
            raise ValidationFailed("Some fields need attention.", field_errors={})
        body = custom.parse(form.body())
        custom.start(
            db.session, g.tenant, g.membership, name=body.name, model_type=body.model_type, selection=body.selection()
        )
    except ValidationFailed as error:
        db.session.rollback()
        if error.field_errors:
            apply_errors(form, error)
        return render(TEMPLATE, block="train_form", status=422, **_list_context(), **_form_context(form))
    db.session.commit()
    # No #fragment: HX-Redirect to the same URL with only a fragment added would scroll, not reload the list.
    return hx_redirect(url_for("feedback.custom_models"))
