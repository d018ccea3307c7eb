"""Lab results pages: the section on a configuration's and an order's page (record, list predicted vs measured),
editing a result, and downloading its instrument file."""

from __future__ import annotations

import contextlib
import uuid

from flask import flash, g, make_response, request, url_for
from flask_login import login_required
from sqlalchemy.exc import IntegrityError

from aerospec.configurations import services as configs
from aerospec.configurations.models import Configuration
from aerospec.errors import NotFound, ValidationFailed
from aerospec.extensions import db
from aerospec.feedback import attachments, bp
from aerospec.feedback import services as feedback
from aerospec.feedback.forms import METHOD_LABELS, STORED_UNITS, LabResultForm
from aerospec.feedback.models import Feedback
from aerospec.pagination import page_arg
from aerospec.procurement import services as procurements
from aerospec.procurement.models import Procurement
from aerospec.tenancy.context import get_for_tenant_or_404
from aerospec.tenancy.permissions import can, ensure_permitted, require_permission
from aerospec.web.forms import apply_errors
from aerospec.web.guards import upload_limit
from aerospec.web.htmx import hx_redirect, is_htmx, render

T = "/t/<tenant_slug>"
PER_PAGE = 10
# Multipart framing around a 1 MB file; attachments.read_upload checks the file's own size exactly.
_UPLOAD_LIMIT = attachments.MAX_FILE_BYTES + 64 * 1024
QUANTITY_WORDS = {
    "flow_ml_min": ("Flow rate", "ml/min"),
    "cone_deg": ("Cone angle", "°"),
    "dv10_um": ("Dv10", "µm"),
    "dv50_um": ("Dv50", "µm"),
    "dv90_um": ("Dv90", "µm"),
    "smd_um": ("SMD", "µm"),
}
TOO_LARGE = "The request is larger than 1 MB: an instrument export may be at most 1 MB. Nothing was stored."


def _sku_choices(config: Configuration | None, procurement: Procurement | None) -> list[tuple[str, str]]:
    """The actuators a result may be for: the order's lines, or the configuration's saved ranking."""
    if procurement is not None:
        seen: dict[str, str] = {}
        for line in procurement.items:
            seen.setdefault(line.sku, f"{line.sku}{' · ' + line.description if line.description else ''} (order line)")
        return list(seen.items())
    entries = (config.compatible_actuators or []) if config is not None else []
    return [
        (e["sku"], f"{e['sku']} · {str(e.get('supplier') or '').title()} · ranked {i}")
        for i, e in enumerate(entries, start=1)
        if isinstance(e, dict) and e.get("sku")
    ]


def _configuration_of(procurement: Procurement) -> Configuration | None:
    if procurement.configuration_id is None:
        return None
    try:
        return configs.get_configuration(db.session, g.tenant, procurement.configuration_id)
    except NotFound:
        return None


def _rows(page) -> list[dict]:
    """Each result on the page with its comparison, file, author and what the viewer may do with it."""
    names = {m.user_id: m.user.name for m in configs.members(db.session, g.tenant)}
    files = attachments.files_for(db.session, g.tenant, [r.id for r in page.items])
    orders: dict[uuid.UUID, Procurement] = {}
    out = []
    for row in page.items:
        if row.procurement_id and row.procurement_id not in orders:
            with contextlib.suppress(NotFound):  # an order deleted since: the result stays, without its link
                orders[row.procurement_id] = procurements.get_procurement(db.session, g.tenant, row.procurement_id)
        out.append(
            {
                "row": row,
                "comparison": feedback.comparison(row),
                "file": files.get(row.id),
                "order": orders.get(row.procurement_id) if row.procurement_id else None,
                "by": names.get(row.created_by_id, "a former member") if row.created_by_id else "a former member",
                "may_edit": can(
                    g.membership.role, "edit_feedback", actor_id=g.membership.user_id, owner_id=row.created_by_id
                ),
            }
        )
    return out


def lab_panel(
    config: Configuration | None = None,
    procurement: Procurement | None = None,
    *,
    form: LabResultForm | None = None,
    page: int = 1,
    saved: str | None = None,
) -> dict | None:
    """The "Lab results" section's state for a configuration or an order page (None: the role cannot read it)."""
    if not can(g.membership.role, "view_feedback"):
        return None
    if procurement is not None:
        config = _configuration_of(procurement)
        result = feedback.list_order_feedback(db.session, g.tenant, procurement.id, page=page, per_page=PER_PAGE)
        post_url = url_for("feedback.record_for_order", procurement_id=procurement.id)
        page_endpoint, page_args = "feedback.order_results", {"procurement_id": procurement.id}
        back_url = url_for("procurement.detail", procurement_id=procurement.id)
    else:
        result = feedback.list_feedback(db.session, g.tenant, config.id, page=page, per_page=PER_PAGE)
        post_url = url_for("feedback.record_for_configuration", config_id=config.id)
        page_endpoint, page_args = "feedback.configuration_results", {"config_id": config.id}
        back_url = url_for("configurations.detail", config_id=config.id)
    choices = _sku_choices(config, procurement)
    if form is None:
        form = LabResultForm(formdata=None)
    form.actuator_sku.choices = [("", "Choose the actuator tested"), *choices]
    return {
        "config": config,
        "procurement": procurement,
        "form": form,
        "result": result,
        "rows": _rows(result),
        "may_record": can(g.membership.role, "record_feedback") and config is not None and bool(choices),
        "post_url": post_url,
        "page_url": lambda n: url_for(page_endpoint, page=n, **page_args),
        "back_url": back_url,
        "saved": saved,
        "quantity_words": QUANTITY_WORDS,
        "method_labels": METHOD_LABELS,
        "stored_units": STORED_UNITS,
        "max_mb": attachments.MAX_FILE_BYTES // (1024 * 1024),
    }


bp.add_app_template_global(lab_panel, "lab_results_panel")


def _section(lab: dict, status: int = 200):
    """The section alone for htmx, else the lab results page around it."""
    response = render("feedback/results.html", block="lab_results", status=status, lab=lab)
    response.headers["Vary"] = "HX-Request"
    return response


def _record(config: Configuration | None, procurement: Procurement | None):
    """Record one result from the section's form (and its instrument file), or show the form with its messages."""
    if (request.content_length or 0) > request.max_content_length:
        # SECURITY: refused unread (web.guards called us without parsing the body, so without CSRF either).
        form = LabResultForm(formdata=None)
        form.form_errors.append(TOO_LARGE)
        form.instrument_file.errors = ["Choose a smaller file: at most 1 MB."]
        return _section(lab_panel(config, procurement, form=form), 422)
    form = LabResultForm()
    lab = lab_panel(config, procurement, form=form)
    config = lab["config"]
    try:
        if config is None:
            raise ValidationFailed(
                "This order's configuration is no longer in the workspace, so a result cannot be compared with a "
                "prediction. Nothing was stored."
            )
        if not form.validate_on_submit():
            raise ValidationFailed("Some fields need attention.", field_errors={})
        data = form.data_for_service()
        if data["actuator_sku"] not in dict(_sku_choices(config, procurement)):
            raise ValidationFailed("", field_errors={"actuator_sku": ["Choose one of the actuators listed."]})
        upload = form.instrument_file.data
        reading = raw = None
        if upload is not None and getattr(upload, "filename", ""):
            raw = upload.read(attachments.MAX_FILE_BYTES + 1)
            reading = attachments.read_upload(upload.filename, raw)
            data = attachments.merge_reading(data, reading)
            attachments.ensure_not_imported(db.session, g.tenant, raw)
        data["configuration_id"] = config.id
        data["procurement_id"] = procurement.id if procurement is not None else None
        row = feedback.record_feedback(db.session, g.tenant, g.membership, data)
        if reading is not None:
            attachments.attach_file(db.session, g.tenant, row, upload.filename, upload.mimetype, raw, reading.summary())
    except IntegrityError:
        # Two uploads of one file at once: the unique index on the file's hash lets one through.
        db.session.rollback()
        form.instrument_file.errors = [
            "This file was imported by someone else a moment ago; the same file twice would count one run as two "
            "results. Nothing was stored."
        ]
        return _section(lab_panel(config, procurement, form=form), 422)
    except ValidationFailed as error:
        db.session.rollback()
        if error.field_errors or error.message not in ("", "Some fields need attention."):
            apply_errors(form, error)
        return _section(lab_panel(config, procurement, form=form), 422)
    saved = f"Recorded {row.actuator_sku} at {row.pressure_bar:.4g} bar" + (
        f", with {reading.summary()} read from {attachments.clean_filename(upload.filename)}." if reading else "."
    )
    db.session.commit()
    if not is_htmx():
        flash(saved, "success")
        return hx_redirect(lab_panel(config, procurement)["back_url"] + "#lab-results")
    fresh = LabResultForm(
        formdata=None,
        measurement_method=form.measurement_method.data,
        measured_by=form.measured_by.data,
        pressure_unit=form.pressure_unit.data,
    )
    response = _section(lab_panel(config, procurement, form=fresh, saved=saved))
    response.headers["HX-Trigger"] = "lab-results-changed"
    return response


@bp.route(f"{T}/configurations/<uuid:config_id>/lab-results", methods=["POST"])
@upload_limit(_UPLOAD_LIMIT, view_answers=True)
@login_required
@require_permission("record_feedback")
def record_for_configuration(config_id: uuid.UUID):
    """Record what the lab measured for one of the configuration's ranked actuators, beside its prediction."""
    return _record(get_for_tenant_or_404(Configuration, config_id), None)


@bp.route(f"{T}/procurements/<uuid:procurement_id>/lab-results", methods=["POST"])
@upload_limit(_UPLOAD_LIMIT, view_answers=True)
@login_required
@require_permission("record_feedback")
def record_for_order(procurement_id: uuid.UUID):
    """Record what the lab measured for one of the order's lines, tied to the order."""
    return _record(None, get_for_tenant_or_404(Procurement, procurement_id))


@bp.route(f"{T}/configurations/<uuid:config_id>/lab-results")
@login_required
@require_permission("view_feedback")
def configuration_results(config_id: uuid.UUID):
    """A page of the configuration's lab results, predicted beside measured."""
    config = get_for_tenant_or_404(Configuration, config_id)
    return _section(lab_panel(config, page=page_arg(request.args)))


@bp.route(f"{T}/procurements/<uuid:procurement_id>/lab-results")
@login_required
@require_permission("view_feedback")
def order_results(procurement_id: uuid.UUID):
    """A page of the lab results recorded against the order, predicted beside measured."""
    procurement = get_for_tenant_or_404(Procurement, procurement_id)
    return _section(lab_panel(procurement=procurement, page=page_arg(request.args)))


@bp.route(f"{T}/lab-results/<uuid:feedback_id>/file")
@login_required
@require_permission("view_feedback")
def download_file(feedback_id: uuid.UUID):
    """Download the instrument export kept with a lab result, as it was uploaded."""
    row = get_for_tenant_or_404(Feedback, feedback_id)
    kept = attachments.get_file(db.session, g.tenant, row)
    response = make_response(kept.content)
    response.mimetype = kept.content_type
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._- ") else "_" for c in kept.filename)
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route(f"{T}/lab-results/<uuid:feedback_id>/edit", methods=["GET", "POST"])
@login_required
@require_permission("record_feedback")
def edit(feedback_id: uuid.UUID):
    """Correct what was measured (users their own results, admins any); the prediction it is compared with stays."""
    row = get_for_tenant_or_404(Feedback, feedback_id)
    ensure_permitted(g.membership, "edit_feedback", owner_id=row.created_by_id)
    form = LabResultForm()
    status = 200
    if request.method == "GET":
        form.fill(row)
    elif form.validate_on_submit():
        try:
            feedback.update_feedback(db.session, g.tenant, row, form.data_for_service(with_identity=False))
        except ValidationFailed as error:
            db.session.rollback()
            row = get_for_tenant_or_404(Feedback, feedback_id)
            apply_errors(form, error)
            status = 422
        else:
            db.session.commit()
            flash(f"Saved the lab result for {row.actuator_sku} at {row.pressure_bar:.4g} bar.", "success")
            target = (
                url_for("procurement.detail", procurement_id=row.procurement_id)
                if request.args.get("from") == "order" and row.procurement_id
                else url_for("configurations.detail", config_id=row.configuration_id)
            )
            return hx_redirect(target + "#lab-results")
    else:
        status = 422
    return render("feedback/edit.html", status=status, form=form, row=row)
