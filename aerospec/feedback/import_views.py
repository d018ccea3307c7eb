"""The bulk lab-results import pages: upload a CSV, preview every row beside its prediction, confirm to store all."""

from __future__ import annotations

import base64
import binascii
import uuid

from flask import Response, current_app, flash, g, make_response, redirect, request, url_for
from flask_login import login_required

from aerospec.configurations.models import Configuration
from aerospec.errors import NotFound, ValidationFailed
from aerospec.extensions import db
from aerospec.feedback import bp, bulk
from aerospec.feedback.forms import ConfirmImportForm, ImportForm
from aerospec.procurement import services as procurements
from aerospec.tenancy.context import get_for_tenant_or_404
from aerospec.tenancy.permissions import require_permission
from aerospec.web.guards import upload_limit
from aerospec.web.htmx import render

P = "/t/<tenant_slug>/configurations/<uuid:config_id>/lab-results/import"
DOING = "record lab results (viewers can read them)"


def _limits() -> tuple[int, int]:
    config = current_app.config
    return int(config["FEEDBACK_IMPORT_MAX_ROWS"]), int(config["FEEDBACK_IMPORT_MAX_BYTES"])


def _orders(config: Configuration) -> list:
    return procurements.list_procurements(db.session, g.tenant, configuration_id=config.id, per_page=50).items


def _order_choices(form: ImportForm, config: Configuration) -> None:
    labels = procurements.STATUS_LABELS
    form.order.choices = [("", "Not tied to an order")] + [
        (str(o.id), f"{o.reference} ({labels.get(o.status, o.status)})") for o in _orders(config)
    ]


def _order_id(value: str | None, config: Configuration) -> uuid.UUID | None:
    """The chosen order, one of this configuration's (another's, or another workspace's, is NotFound)."""
    if not value:
        return None
    order = procurements.get_procurement(db.session, g.tenant, value)
    if order.configuration_id != config.id:
        raise NotFound("No such order.")
    return order.id


def _page(config: Configuration, form: ImportForm, status: int = 200, **extra) -> Response:
    max_rows, max_bytes = _limits()
    response = render(
        "feedback/import.html",
        status=status,
        config=config,
        form=form,
        columns=bulk.COLUMNS,
        max_rows=max_rows,
        max_kb=max_bytes // 1024,
        **extra,
    )
    response.headers.add("Vary", "HX-Request")
    return response


@bp.route(P, methods=["GET"])
@login_required
@require_permission("record_feedback", doing=DOING)
def import_results(config_id: uuid.UUID):
    """The import page: the columns, a template to download, and the upload form."""
    config = get_for_tenant_or_404(Configuration, config_id)
    form = ImportForm(formdata=None, order=request.args.get("order", ""))
    _order_choices(form, config)
    if form.order.data not in {value for value, _ in form.order.choices}:
        form.order.data = ""
    return _page(config, form)


@bp.route(f"{P}/template.csv")
@login_required
@require_permission("record_feedback", doing=DOING)
def import_template(config_id: uuid.UUID):
    """A CSV with every column and a row per top-ranked actuator, to fill in."""
    config = get_for_tenant_or_404(Configuration, config_id)
    response = make_response(bulk.template_csv(config))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="lab-results-template.csv"'
    return response


@bp.route(P, methods=["POST"])
@upload_limit(512 * 1024, view_answers=True)
@login_required
@require_permission("record_feedback", doing=DOING)
def preview_import(config_id: uuid.UUID):
    """Check an uploaded CSV and show each row beside its prediction, with every row's problems; stores nothing."""
    config = get_for_tenant_or_404(Configuration, config_id)
    max_rows, max_bytes = _limits()
    form = ImportForm()
    _order_choices(form, config)
    too_large = f"The file is larger than {max_bytes // 1024} KB; split it into several files."
    if request.content_length and request.content_length > request.max_content_length:
        form.file.errors = [too_large]
        return _page(config, form, 422)
    if not form.validate_on_submit():
        return _page(config, form, 422)
    upload = form.file.data
    raw = upload.read(max_bytes + 1) if upload else b""
    if not raw:
        form.file.errors = ["Choose a CSV file to upload."]
        return _page(config, form, 422)
    if len(raw) > max_bytes:
        form.file.errors = [too_large]
        return _page(config, form, 422)
    try:
        text = bulk.decode(raw)
        order_id = _order_id(form.order.data, config)
        checked = bulk.preview(db.session, g.tenant, g.membership, config, text, procurement_id=order_id,
                               max_rows=max_rows)  # fmt: skip
    except ValidationFailed as error:
        form.file.errors = error.field_errors.get("file") or [error.message]
        return _page(config, form, 422)
    finally:
        db.session.rollback()  # SECURITY: a preview writes nothing, whatever it touched
    confirm = ConfirmImportForm(
        formdata=None,
        content=base64.b64encode(checked.text.encode()).decode(),
        token=checked.token,
        filename=(upload.filename or "")[:255],
        order=str(order_id) if order_id else "",
    )
    return _page(config, form, 200 if checked.ready else 422, preview=checked, confirm=confirm,
                 filename=upload.filename)  # fmt: skip


@bp.route(f"{P}/confirm", methods=["POST"])
@upload_limit(1024 * 1024)
@login_required
@require_permission("record_feedback", doing=DOING)
def confirm_import(config_id: uuid.UUID):
    """Store every row of the previewed file in one transaction (all or none); a second confirm adds nothing."""
    config = get_for_tenant_or_404(Configuration, config_id)
    max_rows, _ = _limits()
    form = ConfirmImportForm()
    back = url_for("feedback.import_results", config_id=config.id)
    if not form.validate_on_submit():
        flash("The import form expired; upload the file again.", "error")
        return redirect(back, 303)
    try:
        text = base64.b64decode(form.content.data or "", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        flash("The preview could not be read back; upload the file again.", "error")
        return redirect(back, 303)
    try:
        order_id = _order_id(form.order.data, config)
        record, checked = bulk.confirm(db.session, g.tenant, g.membership, config, text, form.token.data or "",
                                       filename=form.filename.data, procurement_id=order_id,
                                       max_rows=max_rows)  # fmt: skip
    except bulk.AlreadyImported as error:
        db.session.rollback()
        flash(error.message, "warning")
        return redirect(url_for("configurations.detail", config_id=config.id), 303)
    except ValidationFailed as error:
        db.session.rollback()
        flash(f"{error.message} Upload the file again to see why.", "error")
        return redirect(back, 303)
    db.session.commit()
    n = record.row_count
    flash(f"Imported {n} lab result{'s' if n != 1 else ''} from {record.filename or 'the file'}.", "success")
    return redirect(url_for("configurations.detail", config_id=config.id), 303)
