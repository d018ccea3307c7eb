"""Invoice pages for tenant admins: the list, one invoice with its lines, and its PDF."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlparse

from flask import Response, g, make_response, redirect, request
from flask_login import login_required

from aerospec.billing import bp
from aerospec.billing import invoices as billing_invoices
from aerospec.billing.models import Invoice
from aerospec.extensions import db
from aerospec.pagination import page_arg
from aerospec.tenancy import context as tenancy_context  # module, not name: tenancy imports billing first
from aerospec.tenancy.permissions import require_permission
from aerospec.web.htmx import render

INVOICES = "/t/<tenant_slug>/billing/invoices"
STATUS_BADGES = {
    "draft": "badge-pending",
    "open": "badge-info",
    "paid": "badge-success",
    "void": "badge-void",  # the neutral badge: no colour of its own
    "uncollectible": "badge-danger",
}


@bp.app_template_filter("minor_money")
def minor_money(minor: int | None, currency: str = "usd") -> str:
    """'USD 1,234.50' from an amount in minor units (cents)."""
    return billing_invoices.format_money(minor, currency)


def _status(invoice: Invoice) -> tuple[str, str]:
    """The badge class and words for an invoice's status (a failed attempt says so)."""
    if invoice.status == "open" and invoice.attempt_count > 0 and invoice.amount_paid < invoice.amount_due:
        return "badge-warning", "Payment failed"
    return STATUS_BADGES.get(invoice.status, "badge-info"), billing_invoices.STATUS_LABELS.get(
        invoice.status, invoice.status
    )


def _page_arg() -> int:
    return page_arg(request.args)


@bp.route(INVOICES)
@login_required
@require_permission("manage_billing")
def list_invoices():
    """The workspace's invoices, newest first, each with its total, status and download."""
    result = billing_invoices.list_invoices(db.session, g.tenant, page=_page_arg())
    return render("billing/invoices/index.html", block="invoice_list", result=result, status_of=_status)


@bp.route(f"{INVOICES}/<uuid:invoice_id>")
@login_required
@require_permission("manage_billing")
def show_invoice(invoice_id: uuid.UUID):
    """One invoice: dates, bill-to, every line, totals and how it was paid."""
    invoice = tenancy_context.get_for_tenant_or_404(Invoice, invoice_id)
    return render(
        "billing/invoices/detail.html", invoice=invoice, status_of=_status, credit_of=billing_invoices.credit_words
    )


@bp.route(f"{INVOICES}/<uuid:invoice_id>.pdf")
@login_required
@require_permission("manage_billing")
def download_invoice(invoice_id: uuid.UUID) -> Response:
    """The invoice's PDF: Stripe's own where it has one, else generated here."""
    invoice = tenancy_context.get_for_tenant_or_404(Invoice, invoice_id)
    return invoice_pdf_response(invoice, g.tenant)


def invoice_pdf_response(invoice: Invoice, tenant) -> Response:
    """Redirect to the provider's PDF, or stream a generated one as an attachment (pages and API)."""
    if invoice.invoice_pdf_url and urlparse(invoice.invoice_pdf_url).scheme == "https":
        # SECURITY: only an https link from the provider's (signature-verified) invoice object is followed.
        return redirect(invoice.invoice_pdf_url, 302)
    body = billing_invoices.render_invoice_pdf(invoice, tenant)
    response = make_response(body)
    response.mimetype = "application/pdf"
    filename = re.sub(r"[^A-Za-z0-9._-]", "", invoice.number or invoice.provider_invoice_id)
    response.headers["Content-Disposition"] = f'attachment; filename="invoice-{filename}.pdf"'
    # SECURITY: an invoice names the customer and their spend: no cache keeps it (as every dynamic answer).
    response.headers["Cache-Control"] = "no-store"
    return response
