"""Order payment pages: the Pay button's checkout redirect and the polled payment fragment."""

from __future__ import annotations

import uuid

from flask import current_app, flash, g, render_template, request
from flask_login import login_required

from aerospec.billing.providers import get_provider
from aerospec.errors import Conflict
from aerospec.extensions import db
from aerospec.procurement import bp, payments
from aerospec.procurement.models import Procurement
from aerospec.tenancy.context import get_for_tenant_or_404
from aerospec.tenancy.permissions import require_permission
from aerospec.web.htmx import hx_redirect, is_htmx

ORDER = "/t/<tenant_slug>/procurements/<uuid:procurement_id>"
STOP_POLLING = 286  # htmx stops an `every` trigger on this status


def _order_url(procurement: Procurement, **query: str) -> str:
    """The order page on the host the person is using (so their session cookie comes back with them)."""
    path = payments.order_page_path(g.tenant.slug, procurement.id)
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return request.host_url.rstrip("/") + path + suffix


@bp.app_template_global("payable_problems")
def payable_problems(procurement: Procurement) -> list[str]:
    """What stops the order being paid now (for procurement/_payment.html)."""
    return payments.payable_problems(procurement)


@bp.route(f"{ORDER}/checkout", methods=["POST"])
@login_required
@require_permission("order_samples")
def start_checkout(procurement_id: uuid.UUID):
    """Pay for the order: open a checkout (Stripe, or the offline page) and go there."""
    procurement = get_for_tenant_or_404(Procurement, procurement_id)
    try:
        checkout = payments.start_checkout(
            db.session,
            g.tenant,
            g.membership,
            g.membership.user,
            procurement,
            provider=get_provider(current_app),
            success_url=_order_url(procurement, payment="returned"),
            cancel_url=_order_url(procurement, payment="cancelled"),
        )
    except Conflict as error:
        db.session.rollback()
        flash(error.message, "error")
        return hx_redirect(_order_url(procurement))
    db.session.commit()
    return hx_redirect(checkout.url)


@bp.route(f"{ORDER}/payment")
@login_required
@require_permission("view_procurements")
def payment_status(procurement_id: uuid.UUID):
    """The payment block the order page polls every 2 s while a payment is pending; 286 once settled."""
    procurement = get_for_tenant_or_404(Procurement, procurement_id)
    if not is_htmx():
        return hx_redirect(_order_url(procurement))
    html = render_template("procurement/_payment.html", procurement=procurement)
    if not payments.settled(procurement):
        return html, 200, {"Cache-Control": "no-store"}
    # Settled: stop polling, and tell the order's status region (paying a sample draft submits it).
    return html, STOP_POLLING, {"Cache-Control": "no-store", "HX-Trigger": "procurement-changed"}
