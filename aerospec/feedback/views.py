"""Lab results pages: the section on a configuration's and an order's page (record, list predicted vs measured),
editing a result, and downloading its instrument file."""

from __future__ import annotations

import base64
import contextlib
import uuid

from flask import current_app, flash, g, make_response, request, url_for
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
# Multipart framing around a 1 MB file, or a previewed one coming back in base64 (4/3 of it) with the form;
# attachments.read_upload checks the file's own size exactly.
_PENDING_FIELD = attachments.MAX_FILE_BYTES * 4 // 3 + 1024
_UPLOAD_LIMIT = _PENDING_FIELD + 64 * 1024
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
    pending: dict | None = None,
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
        "pending": pending,
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


def _upload(form: LabResultForm) -> tuple[str, bytes] | None:
    """The file chosen in the form now, if any: (name, at most MAX_FILE_BYTES + 1 bytes of it)."""
    upload = form.instrument_file.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    return upload.filename, upload.read(attachments.MAX_FILE_BYTES + 1)


def _target_id(config: Configuration, procurement: Procurement | None) -> uuid.UUID:
    return procurement.id if procurement is not None else config.id


def _pending(form: LabResultForm, config, procurement) -> tuple[str, bytes] | None:
    """The previewed file the form carries back (signature checked), if any."""
    if not form.pending_content.data:
        return None
    name = form.pending_name.data or ""
    data = attachments.pending_file(current_app.secret_key, g.tenant.id, _target_id(config, procurement), name,
                                    form.pending_content.data, form.pending_token.data or "")  # fmt: skip
    return name, data


def _carry(form: LabResultForm, config, procurement, name: str, data: bytes) -> None:
    """Put a read file in the form's hidden fields, so the next submit (confirm) brings it back."""
    form.pending_name.data = attachments.clean_filename(name)
    form.pending_content.data = base64.b64encode(data).decode()
    form.pending_token.data = attachments.pending_token(
        current_app.secret_key, g.tenant.id, _target_id(config, procurement), name, data
    )


def _drop(form: LabResultForm) -> None:
    form.pending_name.data = form.pending_content.data = form.pending_token.data = ""


def _preview(data: dict, name: str, reading) -> dict:
    """What the preview shows: the file's values beside the prediction the result would be compared with."""
    row = feedback.build_feedback(db.session, g.tenant, g.membership, data)  # every check; nothing is added
    sizes = set(reading.values())
    return {
        "filename": attachments.clean_filename(name),
        "reading": reading,
        "summary": reading.summary(),
        "method": data.get("measurement_method"),
        "method_from_file": reading.method is not None,
        "method_evidence": reading.method_evidence,
        "comparison": [c for c in feedback.comparison(row) if c["quantity"] in sizes],
        "typed": [c for c in feedback.comparison(row) if c["quantity"] not in sizes],
        "sku": row.actuator_sku,
        "pressure_bar": row.pressure_bar,
    }


def _record(config: Configuration | None, procurement: Procurement | None):
    """Record one result from the section's form; a chosen instrument file is first shown for the person to check
    (nothing stored), and stored with the result when they confirm."""
    if (request.content_length or 0) > request.max_content_length:
        # SECURITY: refused unread (web.guards called us without parsing the body, so without CSRF either).
        form = LabResultForm(formdata=None)
        form.form_errors.append(TOO_LARGE)
        form.instrument_file.errors = ["Choose a smaller file: at most 1 MB."]
        return _section(lab_panel(config, procurement, form=form), 422)
    form = LabResultForm()
    lab = lab_panel(config, procurement, form=form)
    config = lab["config"]
    step = request.form.get("step", "")
    if step == "discard" and form.validate_on_submit():
        _drop(form)
        lab = lab_panel(config, procurement, form=form, saved="The file was discarded; nothing was stored.")
        return _section(lab)
    file = None
    try:
        if config is None:
            raise ValidationFailed(
                "This order's configuration is no longer in the workspace, so a result cannot be compared with a "
                "prediction. Nothing was stored."
            )
        if not form.validate_on_submit():
            raise ValidationFailed("Some fields need attention.", field_errors={})
        chosen = _upload(form)
        file = chosen or _pending(form, config, procurement)
        _drop(form)
        reading = None
        if file is not None:
            reading = attachments.read_upload(*file)
            attachments.ensure_not_imported(db.session, g.tenant, file[1])
            _carry(form, config, procurement, *file)  # read and new: it comes back with the form until confirmed
        data = form.data_for_service()
        if data["actuator_sku"] not in dict(_sku_choices(config, procurement)):
            raise ValidationFailed("", field_errors={"actuator_sku": ["Choose one of the actuators listed."]})
        if reading is not None:
            data = attachments.merge_reading(data, reading)
        data["configuration_id"] = config.id
        data["procurement_id"] = procurement.id if procurement is not None else None
        if reading is not None and (chosen is not None or step != "confirm"):
            # SECURITY: a preview stores nothing, whatever it touched.
            preview = _preview(data, file[0], reading)
            db.session.rollback()
            return _section(lab_panel(config, procurement, form=form, pending=preview))
        row = feedback.record_feedback(db.session, g.tenant, g.membership, data)
        if reading is not None:
            attachments.attach_file(db.session, g.tenant, row, file[0], None, file[1], reading.summary())
    except IntegrityError:
        # Two uploads of one file at once: the unique index on the file's hash lets one through.
        db.session.rollback()
        _drop(form)
        form.instrument_file.errors = [
            "This file was imported by someone else a moment ago; the same file twice would count one run as two "
            "results. Nothing was stored."
        ]
        return _section(lab_panel(config, procurement, form=form), 422)
    except ValidationFailed as error:
        db.session.rollback()
        if "instrument_file" in error.field_errors:
            _drop(form)  # the file itself is refused: it is not carried to the next submit
        if error.field_errors or error.message not in ("", "Some fields need attention."):
            apply_errors(form, error)
        return _section(lab_panel(config, procurement, form=form), 422)
    saved = f"Recorded {row.actuator_sku} at {row.pressure_bar:.4g} bar" + (
        f", with {reading.summary()} read from {attachments.clean_filename(file[0])}." if reading else "."
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
@upload_limit(_UPLOAD_LIMIT, view_answers=True, form_field_bytes=_PENDING_FIELD)
@login_required
@require_permission("record_feedback")
def record_for_configuration(config_id: uuid.UUID):
    """Record what the lab measured for one of the configuration's ranked actuators, beside its prediction."""
    return _record(get_for_tenant_or_404(Configuration, config_id), None)


@bp.route(f"{T}/procurements/<uuid:procurement_id>/lab-results", methods=["POST"])
@upload_limit(_UPLOAD_LIMIT, view_answers=True, form_field_bytes=_PENDING_FIELD)
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
@upload_limit(_UPLOAD_LIMIT, view_answers=True)
@login_required
@require_permission("record_feedback")
def edit(feedback_id: uuid.UUID):
    """Correct what was measured, and attach or replace its instrument file (users their own results, admins any);
    the prediction it is compared with stays."""
    row = get_for_tenant_or_404(Feedback, feedback_id)
    ensure_permitted(g.membership, "edit_feedback", owner_id=row.created_by_id)
    if request.method == "POST" and (request.content_length or 0) > request.max_content_length:
        # SECURITY: refused unread (web.guards called us without parsing the body, so without CSRF either).
        form = LabResultForm(formdata=None)
        form.fill(row)
        form.form_errors.append(TOO_LARGE)
        form.instrument_file.errors = ["Choose a smaller file: at most 1 MB."]
        return _edit_page(form, row, 422)
    form = LabResultForm()
    status = 200
    if request.method == "GET":
        form.fill(row)
    elif form.validate_on_submit():
        stored = {name: getattr(row, name) for name in (*attachments.SIZE_FIELDS, "measurement_method")}
        try:
            data = form.data_for_service(with_identity=False)
            file = _upload(form)
            reading = None
            if file is not None:
                reading = attachments.read_upload(*file)
                attachments.ensure_not_imported(db.session, g.tenant, file[1], replacing=row)
                data = attachments.replace_sizes(stored, data, reading)
            feedback.update_feedback(db.session, g.tenant, row, data)
            if reading is not None:
                attachments.replace_file(db.session, g.tenant, row, file[0], file[1], reading.summary())
        except IntegrityError:
            db.session.rollback()
            row = get_for_tenant_or_404(Feedback, feedback_id)
            form.instrument_file.errors = [
                "This file was attached to another result a moment ago; the same file twice would count one run as "
                "two results. Nothing was changed."
            ]
            status = 422
        except ValidationFailed as error:
            db.session.rollback()
            row = get_for_tenant_or_404(Feedback, feedback_id)
            apply_errors(form, error)
            status = 422
        else:
            db.session.commit()
            read = f" {reading.summary()} read from {attachments.clean_filename(file[0])}." if reading else ""
            flash(f"Saved the lab result for {row.actuator_sku} at {row.pressure_bar:.4g} bar.{read}", "success")
            target = (
                url_for("procurement.detail", procurement_id=row.procurement_id)
                if request.args.get("from") == "order" and row.procurement_id
                else url_for("configurations.detail", config_id=row.configuration_id)
            )
            return hx_redirect(target + "#lab-results")
    else:
        status = 422
    return _edit_page(form, row, status)


def _edit_page(form: LabResultForm, row: Feedback, status: int):
    kept = attachments.files_for(db.session, g.tenant, [row.id]).get(row.id)
    return render("feedback/edit.html", status=status, form=form, row=row, kept=kept,
                  max_mb=attachments.MAX_FILE_BYTES // (1024 * 1024))  # fmt: skip
