"""Catalog pages: fluids (library and the tenant's own), the actuator catalog, admin CSV."""

from __future__ import annotations

import uuid

from flask import Response, abort, flash, g, request, url_for
from flask_login import current_user, login_required

from aerospec.accounts.decorators import platform_admin_required
from aerospec.catalog import bp, seed, units
from aerospec.catalog import services as catalog
from aerospec.catalog.forms import PROPERTY_INPUTS, FluidForm, ImportForm
from aerospec.errors import NotFound, ValidationFailed
from aerospec.extensions import db
from aerospec.pagination import Page, page_arg
from aerospec.tenancy.forms import EmptyForm
from aerospec.tenancy.permissions import can, require_permission
from aerospec.web.client import client_info
from aerospec.web.forms import apply_errors
from aerospec.web.guards import upload_limit
from aerospec.web.htmx import hx_redirect, render

T = "/t/<tenant_slug>"
PER_PAGE = 25
CHANGE_FLUIDS = "add, edit or delete the workspace's fluids (viewers can look them up and use them in the wizard)"


def _page_arg() -> int:
    return page_arg(request.args)


def _vary(response: Response) -> Response:
    response.headers.add("Vary", "HX-Request")
    return response


# ---- fluids


@bp.route(f"{T}/fluids")
@login_required
@require_permission("view_configurations")
def fluids():
    """The fluid library and this workspace's own fluids, searchable and by category."""
    q = (request.args.get("q") or "").strip()[:100]
    category = request.args.get("category") or None
    if category not in catalog.FLUID_CATEGORIES:
        category = None
    rows = catalog.list_fluids(db.session, g.tenant, q=q or None, category=category)
    pages = max(1, -(-len(rows) // PER_PAGE))
    page = min(_page_arg(), pages)
    result = Page(rows[(page - 1) * PER_PAGE : page * PER_PAGE], len(rows), page, PER_PAGE)
    filters = {k: v for k, v in {"q": q, "category": category}.items() if v}
    return _vary(
        render(
            "catalog/fluids.html",
            block="fluid_results",
            result=result,
            filters=filters,
            categories=catalog.FLUID_CATEGORIES,
            is_custom=catalog.is_custom,
            can_edit=can(g.membership.role, "edit_configurations"),
        )
    )


@bp.route(f"{T}/fluids/<uuid:fluid_id>")
@login_required
@require_permission("view_configurations")
def fluid_detail(fluid_id: uuid.UUID):
    """One fluid's properties, each with where its value comes from."""
    fluid = catalog.get_fluid(db.session, g.tenant, fluid_id)
    return render(
        "catalog/fluid_detail.html",
        fluid=fluid,
        custom=catalog.is_custom(fluid),
        inputs=PROPERTY_INPUTS,
        ranges=units.RANGES,
        categories=catalog.FLUID_CATEGORIES,
        can_edit=can(g.membership.role, "edit_configurations"),
    )


def _fluid_form_page(form: FluidForm, fluid=None, status: int = 200) -> Response:
    return render(
        "catalog/fluid_form.html",
        block="fluid_form",
        status=status,
        form=form,
        fluid=fluid,
        inputs=PROPERTY_INPUTS,
    )


def _save_fluid(form: FluidForm, fluid=None):
    """Convert, range-check and save; returns the fluid or None with errors on the form."""
    values, errors, entered = form.converted()
    sources = {prop: f"entered by the user as {text}" for prop, text in entered.items()}
    try:
        if errors:
            # Check the other fields too, so every message shows at once.
            try:
                catalog.validate_fluid_values(values)
            except ValidationFailed as more:
                for name, messages in more.field_errors.items():
                    errors.setdefault(name, messages)
            raise ValidationFailed("Some fields need attention.", field_errors=errors)
        if fluid is None:
            saved = catalog.create_tenant_fluid(db.session, g.tenant, current_user, values, sources=sources)
            catalog.record_fluid_event(db.session, g.tenant, current_user, saved, "fluid.created", client=client_info())
        else:
            before = catalog.fluid_snapshot(fluid)
            saved = catalog.update_tenant_fluid(db.session, g.tenant, current_user, fluid.id, values, sources=sources)
            catalog.record_fluid_event(
                db.session, g.tenant, current_user, saved, "fluid.updated", before=before, client=client_info()
            )
    except ValidationFailed as error:
        db.session.rollback()
        apply_errors(form, error)
        return None
    db.session.commit()
    return saved


@bp.route(f"{T}/fluids/new", methods=["GET", "POST"])
@login_required
@require_permission("edit_configurations", doing=CHANGE_FLUIDS)
def create_fluid():
    """Type in a fluid of your own, in the units you have (converted and range-checked)."""
    form = FluidForm()
    if request.method == "GET":
        source = request.args.get("from")
        if source:
            try:
                original = catalog.get_fluid(db.session, g.tenant, source)
            except NotFound:
                original = None
            if original is not None:
                form.fill_from(original)
                form.name.data = f"{original.name} (copy)"
        return _fluid_form_page(form)
    if form.validate_on_submit():
        saved = _save_fluid(form)
        if saved is not None:
            flash(f"Fluid “{saved.name}” saved.", "success")
            return hx_redirect(url_for("catalog.fluid_detail", fluid_id=saved.id))
    return _fluid_form_page(form, status=422)


@bp.route(f"{T}/fluids/<uuid:fluid_id>/edit", methods=["GET", "POST"])
@login_required
@require_permission("edit_configurations", doing=CHANGE_FLUIDS)
def update_fluid(fluid_id: uuid.UUID):
    """Correct a fluid of your workspace."""
    fluid = catalog.get_fluid(db.session, g.tenant, fluid_id)
    if not catalog.is_custom(fluid):
        raise NotFound("Library fluids cannot be changed; copy it to your fluids instead.")
    form = FluidForm()
    if request.method == "GET":
        form.fill_from(fluid)
        return _fluid_form_page(form, fluid)
    if form.validate_on_submit():
        saved = _save_fluid(form, fluid)
        if saved is not None:
            flash(f"Fluid “{saved.name}” updated.", "success")
            return hx_redirect(url_for("catalog.fluid_detail", fluid_id=saved.id))
    return _fluid_form_page(form, fluid, status=422)


@bp.route(f"{T}/fluids/<uuid:fluid_id>/delete", methods=["GET", "POST"])
@login_required
@require_permission("edit_configurations", doing=CHANGE_FLUIDS)
def delete_fluid(fluid_id: uuid.UUID):
    """Confirm, then delete a fluid of your workspace."""
    fluid = catalog.get_fluid(db.session, g.tenant, fluid_id)
    if not catalog.is_custom(fluid):
        raise NotFound("Library fluids cannot be deleted.")
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        catalog.record_fluid_event(db.session, g.tenant, current_user, fluid, "fluid.deleted", client=client_info())
        name = catalog.delete_tenant_fluid(db.session, g.tenant, current_user, fluid.id)
        db.session.commit()
        flash(f"Fluid “{name}” deleted.", "success")
        return hx_redirect(url_for("catalog.fluids"))
    return render("catalog/fluid_delete.html", fluid=fluid, form=form)


# ---- actuators


def _actuator_filters(args) -> tuple[catalog.ActuatorFilters, dict[str, str]]:
    errors: dict[str, str] = {}

    def number(name: str, prop: str) -> float | None:
        text = (args.get(name) or "").strip()
        if not text:
            return None
        try:
            value = units.parse_number(text)
        except ValueError as error:
            errors[name] = str(error)[:1].upper() + str(error)[1:] + "."
            return None
        if value < 0:
            errors[name] = "Enter a positive number."
            return None
        return value

    f = catalog.ActuatorFilters(
        supplier=args.get("supplier") if args.get("supplier") in seed.SUPPLIERS else None,
        spray_type=args.get("spray_type") if args.get("spray_type") in seed.SPRAY_TYPE_LABELS else None,
        family=args.get("family") if args.get("family") in catalog.FAMILY_LABELS else None,
        orifice_min_mm=number("orifice_min", "orifice_mm"),
        orifice_max_mm=number("orifice_max", "orifice_mm"),
        pressure_min_bar=number("pressure_min", "pressure_bar"),
        viscosity_cp=number("viscosity", "viscosity_cp"),
        body_material=args.get("material") if args.get("material") in seed.BODY_MATERIALS else None,
        in_stock=args.get("in_stock") in ("1", "on", "true"),
    )
    if f.orifice_min_mm is not None and f.orifice_max_mm is not None and f.orifice_min_mm > f.orifice_max_mm:
        errors["orifice_max"] = "The largest orifice must not be below the smallest."
    return f, errors


FILTER_LABELS = {
    "orifice_min": "Orifice from",
    "orifice_max": "Orifice to",
    "pressure_min": "Max pressure at least",
    "viscosity": "Viscosity fits",
}


@bp.route(f"{T}/actuators")
@login_required
@require_permission("view_configurations")
def actuators():
    """Browse the actuator catalog with filters, sorting and pages."""
    filters, errors = _actuator_filters(request.args)
    sort = request.args.get("sort") if request.args.get("sort") in catalog.ACTUATOR_SORTS else "price"
    result = catalog.list_actuators(db.session, filters, sort=sort, page=_page_arg(), per_page=PER_PAGE)
    query = {k: v for k, v in request.args.items() if v and k != "page"}
    return _vary(
        render(
            "catalog/actuators.html",
            block="actuator_results",
            result=result,
            query=query,
            errors=errors,
            filter_labels=FILTER_LABELS,
            summary=catalog.catalog_summary(db.session),
            suppliers=seed.SUPPLIERS,
            spray_types=seed.SPRAY_TYPE_LABELS,
            families=catalog.FAMILY_LABELS,
            materials=seed.BODY_MATERIALS,
            seals=seed.SEAL_MATERIALS,
            sorts=catalog.ACTUATOR_SORTS,
            sort=sort,
        )
    )


@bp.route(f"{T}/actuators/<uuid:actuator_id>")
@login_required
@require_permission("view_configurations")
def actuator_detail(actuator_id: uuid.UUID):
    """One actuator: geometry, ratings, materials, price and stock."""
    actuator = catalog.get_actuator(db.session, actuator_id)
    k = None
    if actuator.swirl_chamber_mm and actuator.inlet_area_mm2:
        k = actuator.inlet_area_mm2 / (actuator.swirl_chamber_mm * actuator.orifice_mm)
    return render(
        "catalog/actuator_detail.html",
        a=actuator,
        atomiser_k=k,
        suppliers=seed.SUPPLIERS,
        spray_types=seed.SPRAY_TYPE_LABELS,
        materials=seed.BODY_MATERIALS,
        seals=seed.SEAL_MATERIALS,
        families=catalog.FAMILY_LABELS,
        facts=catalog.anchor_facts(actuator),
    )


# ---- platform admin: CSV export and import

MAX_CSV_BYTES = 5 * 1024 * 1024


@bp.route("/admin/catalog/actuators.csv")
@platform_admin_required
def export_actuators():
    """Download every actuator with every column as CSV."""
    body = catalog.export_actuators_csv(db.session)
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=actuators.csv"
    return response


@bp.route("/admin/catalog/import", methods=["GET", "POST"])
@upload_limit(MAX_CSV_BYTES + 256 * 1024)
@platform_admin_required
def import_actuators():
    """Upload an actuator CSV: every row is checked; nothing is written while any row fails,
    unless you ask for the valid rows only."""
    form = ImportForm()
    report = None
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        upload = form.file.data
        raw = upload.read(MAX_CSV_BYTES + 1) if upload else b""
        if not raw:
            form.file.errors = ["Choose a CSV file to upload."]
            status = 422
        elif len(raw) > MAX_CSV_BYTES:
            form.file.errors = ["The file is larger than 5 MB; split it into several files."]
            status = 422
        else:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                form.file.errors = ["The file is not UTF-8 text; export it from your spreadsheet as CSV UTF-8."]
                status = 422
            else:
                report = catalog.import_actuators_csv(db.session, text, valid_rows_only=form.valid_rows_only.data)
                if report.written:
                    db.session.commit()
                else:
                    db.session.rollback()
                    status = 422
    return render(
        "catalog/admin_import.html",
        block="import_result",
        status=status,
        form=form,
        report=report,
        summary=catalog.catalog_summary(db.session),
        columns=catalog.CSV_COLUMNS,
    )
