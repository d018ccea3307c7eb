"""Billing endpoints: Stripe's webhook, and the offline provider's local checkout page."""

from __future__ import annotations

import uuid

from flask import abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from aerospec.billing import bp, webhooks
from aerospec.billing import offline_checkout as bookkeeping
from aerospec.billing.models import OfflineCheckoutSession
from aerospec.billing.providers import DECLINE_MESSAGE, from_minor
from aerospec.extensions import csrf, db, login_manager
from aerospec.tenancy import services as tenancy
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.permissions import ensure_permitted
from aerospec.tenancy.scoping import tenant_scope, unscoped
from aerospec.web.redirects import safe_next

# ---- Stripe webhook


@bp.post("/api/webhooks/stripe")
@csrf.exempt  # SECURITY: authenticated by Stripe's signature on the raw body, not by a cookie
def stripe_webhook():
    """Receive a Stripe event: verify its signature, store it once by id, process it in a job."""
    payload = request.get_data(cache=False)
    event = webhooks.verify_stripe(
        payload, request.headers.get("Stripe-Signature"), current_app.config.get("STRIPE_WEBHOOK_SECRET")
    )
    stored = webhooks.intake(db.session, event, "stripe")
    db.session.commit()
    return jsonify({"received": True, "duplicate": stored is None, "id": event["id"]})


# ---- the offline provider's checkout page


# Who may pay an offline checkout: the permission that opened it (subscribing, or paying an order).
CHECKOUT_PERMISSIONS = {"subscription": "manage_billing", "payment": "order_samples"}


def _checkout_tenant(session_id: str) -> uuid.UUID:
    """The workspace an offline checkout belongs to, found by its id before any tenant is known (or 404)."""
    if not session_id.startswith("cs_offline_"):
        abort(404)
    # SECURITY: the row is tenant-owned (row-level security); this one logged bypass reads only its tenant.
    with unscoped(db.session, "offline checkout page: find the checkout's workspace by its id"):
        tenant_id = db.session.scalar(
            select(OfflineCheckoutSession.tenant_id).where(OfflineCheckoutSession.id == session_id)
        )
    if tenant_id is None:
        abort(404)
    return tenant_id


def _open_session(session_id: str) -> OfflineCheckoutSession:
    """The checkout, for a member of its workspace who may make that payment; call it in the tenant's scope."""
    # SECURITY: the unguessable session id is the capability, as with Stripe's hosted page...
    row = db.session.get(OfflineCheckoutSession, session_id)
    tenant = db.session.get(Tenant, row.tenant_id) if row is not None else None
    if tenant is None:
        abort(404)
    # SECURITY: ...and, since no card is taken here, only a member of its workspace who may make that
    # payment sees or completes it: a leaked link (or a bot with the page's CSRF token) pays nothing.
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    membership = tenancy.get_membership(db.session, tenant, current_user)
    if membership is None:
        abort(404)  # SECURITY: a stranger cannot tell someone else's checkout from a missing one
    ensure_permitted(membership, CHECKOUT_PERMISSIONS.get(row.mode, "manage_billing"))
    return row


def _return_url(url: str) -> str:
    """Where the payer goes back to: the session's return URL, only when it is a page of this app."""
    origins = (current_app.config["BASE_URL"], request.host_url)
    return safe_next(url, url_for("tenancy.no_workspace"), own_origins=origins)


def _page(row: OfflineCheckoutSession, *, declined: bool = False, status: int = 200):
    html = render_template(
        "billing/offline_checkout.html",
        checkout=row,
        total=from_minor(row.amount_total, row.currency),
        lines=[
            {
                **line,
                "unit": from_minor(line["unit_amount"], row.currency),
                "amount": from_minor(line["unit_amount"] * int(line.get("quantity") or 1), row.currency),
            }
            for line in row.line_items
        ],
        declined=declined,
        decline_message=DECLINE_MESSAGE,
        success_href=_return_url(row.success_url),
        cancel_href=_return_url(row.cancel_url),
    )
    return html, status, {"Cache-Control": "no-store"}


@bp.get("/billing/offline/checkout/<session_id>")
def offline_checkout(session_id: str):
    """The offline checkout: the order summary, Pay (test card succeeds) and Decline (test card fails)."""
    with tenant_scope(db.session, _checkout_tenant(session_id)):
        row = _open_session(session_id)
        return _page(row, declined=request.args.get("declined") == "1")


@bp.post("/billing/offline/checkout/<session_id>")
def complete_offline_checkout(session_id: str):
    """Pay or decline: emit Stripe's events through the webhook's intake, then go where Stripe would."""
    # The checkout's row is written in its tenant's scope (row-level security), commit included.
    with tenant_scope(db.session, _checkout_tenant(session_id)):
        row = _open_session(session_id)
        outcome = request.form.get("outcome")
        if outcome not in ("pay", "decline"):
            abort(400)
        if row.status != "open":
            return redirect(_return_url(row.success_url if row.status == "complete" else row.cancel_url), 303)
        events = bookkeeping.complete(row, succeed=outcome == "pay")
        success_url = row.success_url
        # A subscription is applied here, so the billing page the payer returns to shows it (Stripe's
        # slower webhook is followed there by polling); order payments keep to the webhook's job.
        for event in events:
            webhooks.intake(db.session, event, "offline", process_now=row.mode == "subscription")
        db.session.commit()  # processing jobs run after this commit (inline, or on the billing queue)
    if outcome == "pay":
        return redirect(_return_url(success_url), 303)
    return redirect(url_for("billing.offline_checkout", session_id=session_id, declined="1"), 303)
