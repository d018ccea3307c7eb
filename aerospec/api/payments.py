"""Order payment API: POST /api/procurements/<id>/checkout, GET /api/procurements/<id>/payment-status."""

from __future__ import annotations

import uuid

from flask import Response, current_app, g, jsonify

from aerospec.api import bp
from aerospec.api.schemas import Body
from aerospec.api.views import bearer_required, parse_body
from aerospec.billing.providers import get_provider
from aerospec.extensions import db
from aerospec.procurement import payments
from aerospec.procurement import services as procurements
from aerospec.tenancy.permissions import ensure_permitted
from aerospec.web.client import client_info


def _order_url(procurement, **query: str) -> str:
    """Where the payer comes back to: the order's page on the app's public address."""
    base = current_app.config["BASE_URL"].rstrip("/")
    path = payments.order_page_path(g.tenant.slug, procurement.id)
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return base + path + suffix


def _absolute(url: str) -> str:
    # The offline provider answers a path on this app; Stripe answers its own https URL.
    return url if "://" in url else current_app.config["BASE_URL"].rstrip("/") + url


@bp.post("/procurements/<uuid:procurement_id>/checkout")
@bearer_required
def start_procurement_checkout(procurement_id: uuid.UUID) -> tuple[Response, int]:
    """Open a Checkout Session for the order's total: {checkout_url, session_id} to send the payer to."""
    parse_body(Body)
    procurement = procurements.get_procurement(db.session, g.tenant, procurement_id)
    checkout = payments.start_checkout(
        db.session,
        g.tenant,
        g.membership,
        g.api_user,
        procurement,
        provider=get_provider(current_app),
        success_url=_order_url(procurement, payment="returned"),
        cancel_url=_order_url(procurement, payment="cancelled"),
        client=client_info(),
    )
    body = {
        "checkout_url": _absolute(checkout.url),
        "session_id": checkout.id,
        **payments.payment_state(procurement),
    }
    db.session.commit()
    return jsonify(body), 201


@bp.get("/procurements/<uuid:procurement_id>/payment-status")
@bearer_required
def get_procurement_payment_status(procurement_id: uuid.UUID) -> Response:
    """The order's payment: {payment_status, paid_at, settled, ...}; poll until settled is true."""
    ensure_permitted(g.membership, "view_procurements")
    procurement = procurements.get_procurement(db.session, g.tenant, procurement_id)
    response = jsonify(payments.payment_state(procurement))
    response.headers["Cache-Control"] = "no-store"
    return response
