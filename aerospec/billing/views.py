"""Billing endpoints: Stripe's webhook, and the offline provider's local checkout page."""

from __future__ import annotations

from flask import abort, current_app, jsonify, redirect, render_template, request, url_for

from aerospec.billing import bp, webhooks
from aerospec.billing.models import OfflineCheckoutSession
from aerospec.billing.providers import DECLINE_MESSAGE, OfflineProvider, from_minor
from aerospec.extensions import csrf, db

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


def _open_session(session_id: str) -> OfflineCheckoutSession:
    # SECURITY: the unguessable session id is the capability, as with Stripe's hosted page.
    row = db.session.get(OfflineCheckoutSession, session_id) if session_id.startswith("cs_offline_") else None
    if row is None:
        abort(404)
    return row


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
    )
    return html, status, {"Cache-Control": "no-store"}


@bp.get("/billing/offline/checkout/<session_id>")
def offline_checkout(session_id: str):
    """The offline checkout: the order summary, Pay (test card succeeds) and Decline (test card fails)."""
    row = _open_session(session_id)
    return _page(row, declined=request.args.get("declined") == "1")


@bp.post("/billing/offline/checkout/<session_id>")
def complete_offline_checkout(session_id: str):
    """Pay or decline: emit Stripe's events through the webhook's intake, then go where Stripe would."""
    row = _open_session(session_id)
    outcome = request.form.get("outcome")
    if outcome not in ("pay", "decline"):
        abort(400)
    if row.status != "open":
        return redirect(row.success_url if row.status == "complete" else row.cancel_url, 303)
    provider = OfflineProvider(db.session)
    events = provider.complete(row, succeed=outcome == "pay")
    # A subscription is applied here, so the billing page the payer returns to shows it (Stripe's
    # slower webhook is followed there by polling); order payments keep to the webhook's job.
    for event in events:
        webhooks.intake(db.session, event, "offline", process_now=row.mode == "subscription")
    db.session.commit()  # processing jobs run after this commit (inline, or on the billing queue)
    if outcome == "pay":
        return redirect(row.success_url, 303)
    return redirect(url_for("billing.offline_checkout", session_id=row.id, declined="1"), 303)
