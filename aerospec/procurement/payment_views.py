"""Order payment pages: the Pay button's checkout redirect (the payment block is part of the order
page's live region, procurement.views.status)."""

from __future__ import annotations

import uuid

from flask import current_app, flash, g, request
from flask_login import login_required

from aerospec.billing.providers import get_provider
from aerospec.errors import Conflict
from aerospec.extensions import db
from aerospec.procurement import bp, payments
from aerospec.procurement.models import Procurement
from aerospec.tenancy.context import get_for_tenant_or_404
from aerospec.tenancy.permissions import require_permission
from aerospec.web.client import client_info
from aerospec.web.htmx import hx_redirect

ORDER = "/t/<tenant_slug>/procurements/<uuid:procurement_id>"


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
            client=client_info(),
        )
    except Conflict as error:
        db.session.rollback()
        flash(error.message, "error")
        return hx_redirect(_order_url(procurement))
    db.session.commit()
    return hx_redirect(checkout.url)
