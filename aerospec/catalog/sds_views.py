"""Safety-data-sheet pages: upload, progress while the job reads it, review and save as a fluid."""

from __future__ import annotations

import uuid

from flask import current_app, flash, g, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from aerospec.catalog import bp, sds_services
from aerospec.catalog import services as catalog
from aerospec.catalog.models import SdsDocument, TenantFluid
from aerospec.catalog.sds import PROPERTY_LABELS
from aerospec.catalog.sds_forms import SdsReviewForm, SdsUploadForm
from aerospec.errors import Conflict, ValidationFailed
from aerospec.extensions import db
from aerospec.limits.effective import feature_enabled
from aerospec.tenancy.context import get_for_tenant_or_404
from aerospec.tenancy.features import require_feature
from aerospec.tenancy.permissions import can, require_permission
from aerospec.web.client import client_info
from aerospec.web.forms import apply_errors
from aerospec.web.guards import upload_limit
from aerospec.web.htmx import hx_redirect, is_htmx, render

T = "/t/<tenant_slug>"
SDS_DOING = "upload safety data sheets or save fluids from them (viewers can look fluids up)"
# Multipart framing around a 10 MB file; the service checks the file's own size exactly.
_UPLOAD_SLACK = 256 * 1024
DONE = ("parsed", "failed")


def _too_large_message() -> str:
    return "The file is larger than 10 MB. Upload a smaller PDF (an SDS is usually well under 2 MB)."


def _endpoint_url(endpoint: str, **values) -> str | None:
    """A link to another page of the catalog when that page exists (fluid pages are built alongside)."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except Exception:  # a route with other required arguments
        return None


@bp.app_template_global("sds_upload_url")
def sds_upload_url() -> str | None:
    """The SDS upload page, for a member whose role and plan let them use it; otherwise None."""
    tenant, membership = g.get("tenant"), g.get("membership")
    if tenant is None or membership is None:
        return None
    # The same checks as the upload page's decorators: never link to a 403 or a 402.
    if not can(membership.role, "edit_configurations") or not feature_enabled(tenant, "msds_parsing"):
        return None
    return url_for("catalog.new_sds")


def _new_context(form: SdsUploadForm) -> dict:
    return {
        "form": form,
        "documents": sds_services.list_sds_documents(db.session, g.tenant.id),
    }


@bp.route(f"{T}/fluids/sds/new", methods=["GET", "POST"])
@upload_limit(sds_services.MAX_SDS_BYTES + _UPLOAD_SLACK, view_answers=True)
@login_required
@require_permission("edit_configurations", doing=SDS_DOING)
@require_feature("msds_parsing")
def new_sds():
    """Upload a safety data sheet; its section 9 is read in the background."""
    # SECURITY: the body is bounded (request.max_content_length) by web.guards before anything reads it.
    if request.method == "GET":
        return render("catalog/sds_new.html", block="sds_upload", **_new_context(SdsUploadForm()))
    try:
        if (request.content_length or 0) > request.max_content_length:
            # Refuse before parsing: no spooled temporary file is created for a body we will not use.
            raise RequestEntityTooLarge()
        form = SdsUploadForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        form = SdsUploadForm(formdata=None)
        form.file.errors = [_too_large_message()]
        return render("catalog/sds_new.html", block="sds_upload", status=413, **_new_context(form))
    if valid:
        upload = form.file.data
        try:
            document, reused = sds_services.upload_sds_document(
                db.session, g.tenant.id, current_user.id, upload.filename or "", upload.read()
            )
        except ValidationFailed as error:
            db.session.rollback()
            apply_errors(form, error)
        else:
            new_id = document.id
            db.session.commit()
            if reused:
                flash("You uploaded this file before; here is what we read from it.", "info")
            return hx_redirect(url_for("catalog.sds_document", sds_document_id=new_id))
    return render("catalog/sds_new.html", block="sds_upload", status=422, **_new_context(form))


def _document_context(document: SdsDocument, form: SdsReviewForm | None = None) -> dict:
    if form is None and document.status == "parsed":
        form = SdsReviewForm(formdata=None, data=sds_services.review_defaults(document))
    extracted = {item["property"]: item for item in document.extracted or []}
    fluids = list(
        db.session.scalars(
            select(TenantFluid)
            .where(TenantFluid.tenant_id == g.tenant.id, TenantFluid.sds_document_id == document.id)
            .order_by(TenantFluid.created_at)
        )
    )
    return {
        "document": document,
        "form": form,
        "extracted": extracted,
        "properties": sds_services.REVIEW_PROPERTIES,
        "property_labels": PROPERTY_LABELS,
        "surface_tension_hint": sds_services.SURFACE_TENSION_HINT,
        "needs_25c": sds_services.viscosity_needs_25c,
        "sheet_temperature": sds_services.sheet_temperature,
        "library_url": _endpoint_url("catalog.fluids"),
        "manual_url": _endpoint_url("catalog.create_fluid"),
        "fluids": fluids,
        "fluid_url": lambda fluid: _endpoint_url("catalog.fluid_detail", fluid_id=fluid.id),
    }


@bp.route(f"{T}/fluids/sds/<uuid:sds_document_id>")
@login_required
@require_permission("edit_configurations", doing=SDS_DOING)
@require_feature("msds_parsing")
def sds_document(sds_document_id: uuid.UUID):
    """One uploaded sheet: progress while it is read, then the values to confirm."""
    document = get_for_tenant_or_404(SdsDocument, sds_document_id)
    return render("catalog/sds_document.html", block="sds_body", **_document_context(document))


@bp.route(f"{T}/fluids/sds/<uuid:sds_document_id>/status")
@login_required
@require_permission("edit_configurations", doing=SDS_DOING)
@require_feature("msds_parsing")
def sds_status(sds_document_id: uuid.UUID):
    """The progress fragment htmx polls; 286 (stop polling) with the result once the job is done."""
    document = get_for_tenant_or_404(SdsDocument, sds_document_id)
    if not is_htmx():
        return redirect(url_for("catalog.sds_document", sds_document_id=document.id), 303)
    status = 286 if document.status in DONE else 200
    return render("catalog/sds_document.html", block="sds_body", status=status, **_document_context(document))


@bp.route(f"{T}/fluids/sds/<uuid:sds_document_id>", methods=["POST"])
@login_required
@require_permission("edit_configurations", doing=SDS_DOING)
@require_feature("msds_parsing")
def save_sds_fluid(sds_document_id: uuid.UUID):
    """Save the confirmed (or corrected) values as one of the workspace's fluids."""
    document = get_for_tenant_or_404(SdsDocument, sds_document_id)
    form = SdsReviewForm()
    status = 422
    if document.status != "parsed":
        raise Conflict("This safety data sheet has not been read yet; wait for it to finish, then confirm.")
    if form.validate_on_submit():
        values = {
            prop.key: (form[f"{prop.key}_value"].data or "", form[f"{prop.key}_unit"].data)
            for prop in sds_services.REVIEW_PROPERTIES
        }
        try:
            fluid = sds_services.save_fluid_from_sds(
                db.session,
                g.tenant,
                document,
                current_user,
                name=form.name.data,
                values=values,
                category=form.category.data,
            )
        except ValidationFailed as error:
            db.session.rollback()
            apply_errors(form, error)
        else:
            catalog.record_fluid_event(
                db.session,
                g.tenant,
                current_user,
                fluid,
                "fluid.sds_confirmed",
                client=client_info(),
                sheet=document.filename,
            )
            name = fluid.name
            target = _endpoint_url("catalog.fluid_detail", fluid_id=fluid.id)
            db.session.commit()
            flash(f"Saved “{name}” to your fluids, with the source of each value.", "success")
            return hx_redirect(target or url_for("catalog.sds_document", sds_document_id=sds_document_id))
    document = get_for_tenant_or_404(SdsDocument, sds_document_id)
    return render("catalog/sds_document.html", block="sds_body", status=status, **_document_context(document, form))
