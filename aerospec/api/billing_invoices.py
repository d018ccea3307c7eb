"""Invoices API at the seed's paths: GET /api/billing/invoices and GET /api/billing/invoices/<id>.

Amounts are integers in minor units (cents) with the invoice's currency, as Stripe sends them.
`pdf_url` is our download (GET /api/billing/invoices/<id>/pdf with the same bearer token): it
redirects to Stripe's PDF where there is one and streams a generated PDF otherwise.
"""

from __future__ import annotations

import uuid

from flask import Response, current_app, g, jsonify, request, url_for

from aerospec.api import bp
from aerospec.api.views import bearer_required
from aerospec.billing import invoices as billing_invoices
from aerospec.billing.invoice_views import invoice_pdf_response
from aerospec.billing.models import Invoice
from aerospec.errors import ValidationFailed
from aerospec.extensions import db
from aerospec.models import isoformat
from aerospec.pagination import page_param
from aerospec.tenancy.permissions import ensure_permitted


def _absolute(path: str) -> str:
    """A link on BASE_URL, as every link the app hands out (not on the request's Host header)."""
    return current_app.config["BASE_URL"].rstrip("/") + path


def invoice_json(invoice: Invoice) -> dict:
    """An invoice as the API shows it (amounts in minor units)."""
    return {
        "id": str(invoice.id),
        "number": invoice.number,
        "status": invoice.status,
        "currency": invoice.currency,
        "subtotal": invoice.subtotal,
        "tax": invoice.tax,
        "total": invoice.total,
        "amount_paid": invoice.amount_paid,
        "amount_due": invoice.amount_due,
        "attempt_count": invoice.attempt_count,
        "period_start": isoformat(invoice.period_start),
        "period_end": isoformat(invoice.period_end),
        "issued_at": isoformat(invoice.issued_at),
        "paid_at": isoformat(invoice.paid_at),
        "next_payment_attempt": isoformat(invoice.next_payment_attempt),
        "hosted_invoice_url": invoice.hosted_invoice_url,
        "pdf_url": _absolute(url_for("api.download_billing_invoice", invoice_id=invoice.id)),
        "lines": [
            {
                "description": line.get("description"),
                "quantity": line.get("quantity", 1),
                "amount": line.get("amount", 0),
                "kind": line.get("kind"),
                "procurement_id": line.get("ref") if line.get("kind") == billing_invoices.COMMISSION else None,
            }
            for line in invoice.lines or []
        ],
    }


def _query_int(name: str, default: int, high: int | None, errors: dict[str, list[str]]) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
        if value < 1 or (high is not None and value > high):
            raise ValueError
    except ValueError:
        errors[name] = [f"Must be a whole number from 1 to {high}." if high else "Must be a whole number from 1."]
        return default
    return value


@bp.get("/billing/invoices")
@bearer_required
def list_billing_invoices() -> Response:
    """A page of the workspace's invoices, newest first (page, per_page)."""
    ensure_permitted(g.membership, "manage_billing")
    errors: dict[str, list[str]] = {}
    page = page_param(request.args, errors)
    per_page = _query_int("per_page", billing_invoices.PER_PAGE, billing_invoices.MAX_PER_PAGE, errors)
    if errors:
        raise ValidationFailed("Check the query parameters listed in errors.", field_errors=errors)
    result = billing_invoices.list_invoices(db.session, g.tenant, page=page, per_page=per_page)
    return jsonify(result.as_json("invoices", [invoice_json(invoice) for invoice in result.items]))


@bp.get("/billing/invoices/<uuid:invoice_id>")
@bearer_required
def get_billing_invoice(invoice_id: uuid.UUID) -> Response:
    """One invoice with its lines (404 when it is not this workspace's)."""
    ensure_permitted(g.membership, "manage_billing")
    return jsonify(invoice_json(billing_invoices.get_invoice(db.session, g.tenant, invoice_id)))


@bp.get("/billing/invoices/<uuid:invoice_id>/pdf")
@bearer_required
def download_billing_invoice(invoice_id: uuid.UUID) -> Response:
    """The invoice's PDF: a redirect to Stripe's, or one generated here."""
    ensure_permitted(g.membership, "manage_billing")
    invoice = billing_invoices.get_invoice(db.session, g.tenant, invoice_id)
    return invoice_pdf_response(invoice, g.tenant)
