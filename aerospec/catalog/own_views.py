"""Pages of the workspace's own actuators: the list, one actuator, add and edit (numbers typed with units), delete
with confirmation, and a CSV upload with a preview that imports every row or none."""

from __future__ import annotations

import uuid

from flask import Response, abort, flash, g, request, url_for
from flask_login import current_user, login_required

from aerospec.catalog import bp, seed
from aerospec.catalog import own_actuators as own
from aerospec.catalog import services as catalog
from aerospec.catalog.forms import OwnActuatorForm, OwnImportConfirmForm, OwnImportForm
from aerospec.errors import ValidationFailed
from aerospec.extensions import db
from aerospec.pagination import page_arg
from aerospec.tenancy.forms import EmptyForm
from aerospec.tenancy.permissions import can, require_permission
from aerospec.web.client import client_info
from aerospec.web.forms import apply_errors
from aerospec.web.guards import upload_limit
from aerospec.web.htmx import hx_redirect, render

T = "/t/<tenant_slug>"
PER_PAGE = 25
CHANGE_OWN = "add, edit or delete the workspace's own actuators (viewers can look them up and rank them)"
MAX_CSV_BYTES = 1024 * 1024


def _context(**extra) -> dict:
    return {
        "spray_types": seed.SPRAY_TYPE_LABELS,
        "families": catalog.FAMILY_LABELS,
        "materials": seed.BODY_MATERIALS,
        "seals": seed.SEAL_MATERIALS,
        "number_fields": own.NUMBER_FIELDS,
        **extra,
    }


@bp.route(f"{T}/actuators/own")
@login_required
@require_permission("view_configurations")
def own_actuators():
    """The workspace's own actuators (in-house inserts, other makers' nozzles), ranked beside the catalog."""
    result = own.list_all_actuators(
        db.session, g.tenant, catalog.ActuatorFilters(), source="own", page=page_arg(request.args), per_page=PER_PAGE
    )
    response = render(
        "catalog/own_actuators.html",
        block="own_results",
        result=result,
        can_edit=can(g.membership.role, "edit_own_actuators"),
        **_context(),
    )
    response.headers.add("Vary", "HX-Request")
    return response


@bp.route(f"{T}/actuators/own/<uuid:own_actuator_id>")
@login_required
@require_permission("view_configurations")
def own_actuator_detail(own_actuator_id: uuid.UUID):
    """One of the workspace's own actuators: geometry, ratings, materials and the makers' figures it has."""
    row = own.get_own_actuator(db.session, g.tenant, own_actuator_id)
    return render(
        "catalog/own_actuator_detail.html",
        a=row,
        facts=catalog.anchor_facts(row),
        can_edit=can(g.membership.role, "edit_own_actuators"),
        **_context(),
    )


def _form_page(form: OwnActuatorForm, row=None, status: int = 200) -> Response:
    return render("catalog/own_actuator_form.html", block="own_form", status=status, form=form, a=row, **_context())


def _save(form: OwnActuatorForm, row=None):
    values, chosen = form.raw_values()
    try:
        if row is None:
            saved = own.create_own_actuator(db.session, g.tenant, current_user, values, chosen)
        else:
            saved = own.update_own_actuator(db.session, g.tenant, current_user, row.id, values, chosen)
        action = "own_actuator.created" if row is None else "own_actuator.updated"
        own.record_event(db.session, g.tenant, current_user, action, sku=saved.sku, target_id=saved.id,
                         client=client_info())  # fmt: skip
    except ValidationFailed as error:
        db.session.rollback()
        apply_errors(form, error)
        return None
    db.session.commit()
    return saved


@bp.route(f"{T}/actuators/own/new", methods=["GET", "POST"])
@login_required
@require_permission("edit_own_actuators", doing=CHANGE_OWN)
def create_own_actuator():
    """Add an actuator the catalog does not have, with its geometry and the makers' figures you know."""
    form = OwnActuatorForm()
    if request.method == "GET":
        return _form_page(form)
    if form.validate_on_submit():
        saved = _save(form)
        if saved is not None:
            flash(f"Own actuator {saved.sku} saved: it is ranked beside the catalog for {g.tenant.name}.", "success")
            return hx_redirect(url_for("catalog.own_actuator_detail", own_actuator_id=saved.id))
    return _form_page(form, status=422)


@bp.route(f"{T}/actuators/own/<uuid:own_actuator_id>/edit", methods=["GET", "POST"])
@login_required
@require_permission("edit_own_actuators", doing=CHANGE_OWN)
def update_own_actuator(own_actuator_id: uuid.UUID):
    """Correct one of the workspace's own actuators."""
    row = own.get_own_actuator(db.session, g.tenant, own_actuator_id)
    form = OwnActuatorForm()
    if request.method == "GET":
        form.fill_from(row)
        return _form_page(form, row)
    if form.validate_on_submit():
        saved = _save(form, row)
        if saved is not None:
            flash(f"Own actuator {saved.sku} updated.", "success")
            return hx_redirect(url_for("catalog.own_actuator_detail", own_actuator_id=saved.id))
    return _form_page(form, row, status=422)


@bp.route(f"{T}/actuators/own/<uuid:own_actuator_id>/delete", methods=["GET", "POST"])
@login_required
@require_permission("edit_own_actuators", doing=CHANGE_OWN)
def delete_own_actuator(own_actuator_id: uuid.UUID):
    """Confirm, then delete one of the workspace's own actuators."""
    row = own.get_own_actuator(db.session, g.tenant, own_actuator_id)
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        row_id = row.id
        sku = own.delete_own_actuator(db.session, g.tenant, current_user, row_id)
        own.record_event(
            db.session, g.tenant, current_user, "own_actuator.deleted", sku=sku, target_id=row_id, client=client_info()
        )
        db.session.commit()
        flash(f"Own actuator {sku} deleted.", "success")
        return hx_redirect(url_for("catalog.own_actuators"))
    return render("catalog/own_actuator_delete.html", a=row, form=form)


@bp.route(f"{T}/actuators/own/template.csv")
@login_required
@require_permission("view_configurations")
def own_actuators_template():
    """A CSV header with one example row, to start a file of your own actuators."""
    response = Response(own.csv_template(), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=own-actuators-template.csv"
    return response


def _read_upload(form: OwnImportForm) -> str | None:
    upload = form.file.data
    raw = upload.read(MAX_CSV_BYTES + 1) if upload else b""
    if not raw:
        form.file.errors = ["Choose a CSV file to upload."]
    elif len(raw) > MAX_CSV_BYTES:
        form.file.errors = ["The file is larger than 1 MB; split it into several files."]
    else:
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            form.file.errors = ["The file is not UTF-8 text; export it from your spreadsheet as CSV UTF-8."]
    return None


@bp.route(f"{T}/actuators/own/import", methods=["GET", "POST"])
@upload_limit(MAX_CSV_BYTES + 256 * 1024)
@login_required
@require_permission("edit_own_actuators", doing=CHANGE_OWN)
def import_own_actuators():
    """Upload a CSV of your actuators: every row is checked and shown; confirm to add them all (or none)."""
    form, confirm = OwnImportForm(), OwnImportConfirmForm()
    report, text, status, filename = None, None, 200, None
    if request.method == "POST":
        if request.form.get("step") == "confirm":
            if not confirm.validate_on_submit():
                abort(400)
            text, filename = confirm.csv_text.data or "", confirm.filename.data
            try:
                rows = own.import_csv(db.session, g.tenant, current_user, text)
            except ValidationFailed:
                db.session.rollback()
                report, status = own.check_csv(db.session, g.tenant, text), 422
            else:
                own.record_event(db.session, g.tenant, current_user, "own_actuator.imported", sku=rows[0].sku,
                                 client=client_info(), rows=len(rows), file=(filename or "")[:200])  # fmt: skip
                db.session.commit()
                flash(
                    f"{len(rows)} own actuator{'s' * (len(rows) != 1)} imported from {filename or 'the file'}.",
                    "success",
                )
                return hx_redirect(url_for("catalog.own_actuators"))
        elif not form.validate_on_submit():
            abort(400)
        else:
            text = _read_upload(form)
            filename = form.file.data.filename if form.file.data else None
            if text is None:
                status = 422
            else:
                report = own.check_csv(db.session, g.tenant, text)
                status = 200 if report.ok else 422
    if report is not None and text is not None:
        confirm.csv_text.data, confirm.filename.data = text, (filename or "")[:255]
    return render(
        "catalog/own_import.html",
        block="import_result",
        status=status,
        form=form,
        confirm=confirm,
        report=report,
        already=own.already_message(report.already) if report is not None and report.already is not None else None,
        columns=own.CSV_COLUMNS,
        required=own.CSV_REQUIRED,
        units=own.UNIT_CHOICES,
    )
