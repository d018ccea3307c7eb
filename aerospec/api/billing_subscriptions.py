"""Subscription API at the seed's paths: POST /api/billing/subscribe, GET /api/billing/subscription,
POST /api/billing/change-plan, DELETE /api/billing/cancel, POST /api/billing/resume,
GET /api/billing/portal-session.

Admins only (manage_billing). Subscribing answers the Checkout URL to send the payer to; the
subscription itself changes only when the provider's events arrive (webhook or offline page).
"""

from __future__ import annotations

from flask import Response, current_app, g, jsonify

from aerospec.api import bp
from aerospec.api.schemas import Body
from aerospec.api.views import bearer_required, parse_body
from aerospec.billing import lifecycle, subscriptions
from aerospec.billing.providers import get_provider
from aerospec.extensions import db
from aerospec.models import isoformat
from aerospec.tenancy.permissions import ensure_permitted
from aerospec.web.client import client_info


class SubscribeBody(Body):
    plan: str
    interval: str = "month"
    extra_seats: int | None = None  # seats beyond the plan's included ones (default: what the team needs)


def _absolute(url: str) -> str:
    # The offline provider answers a path on this app; Stripe answers its own https URL.
    return url if "://" in url else current_app.config["BASE_URL"].rstrip("/") + url


def return_urls(tenant) -> tuple[str, str]:
    """Where the payer comes back to after Checkout: the billing page, saying how it went."""
    page = lifecycle.billing_url(tenant)
    return f"{page}?checkout=success", f"{page}?checkout=cancelled"


@bp.post("/billing/subscribe")
@bearer_required
def billing_subscribe() -> tuple[Response, int]:
    """Open a Checkout Session for a plan and interval: {checkout_url, session_id} to send the payer to."""
    ensure_permitted(g.membership, "manage_billing")
    body = parse_body(SubscribeBody)
    success_url, cancel_url = return_urls(g.tenant)
    checkout = subscriptions.subscribe(
        db.session,
        g.tenant,
        g.api_user,
        body.plan,
        body.interval,
        get_provider(current_app),
        success_url,
        cancel_url,
        extra_seats=body.extra_seats,
        client=client_info(),
    )
    db.session.commit()  # the customer id (and the offline checkout row) with it
    return jsonify({"checkout_url": _absolute(checkout.url), "session_id": checkout.id}), 201


@bp.get("/billing/subscription")
@bearer_required
def get_billing_subscription() -> Response:
    """The workspace's plan, status, access and current subscription (period, seats, cancel at period end)."""
    ensure_permitted(g.membership, "manage_billing")
    response = jsonify(subscriptions.subscription_state(db.session, g.tenant))
    response.headers["Cache-Control"] = "no-store"
    return response


class ChangePlanBody(Body):
    plan: str
    interval: str = "month"
    extra_seats: int | None = None  # default: keep the extra seats (as many as the team needs)
    preview: bool = False  # true: only the proration estimate, nothing changes
    proration_date: int | None = None  # from a preview, so the change bills exactly what was shown


def _estimate_json(estimate: subscriptions.Estimate) -> dict:
    return {
        "amount_due": estimate.amount_due,
        "total": estimate.total,
        "credit_used": estimate.credit_used,
        "credit_added": estimate.credit_added,
        "currency": estimate.currency,
        "lines": estimate.lines,
        "proration_date": estimate.proration_date,
        "source": estimate.source,
        "recurring": {
            "total": estimate.recurring.total_minor,
            "interval": estimate.recurring.interval,
            "extra_seats": estimate.recurring.extra_seats,
        },
        "starts_at": isoformat(estimate.starts_at),
    }


@bp.post("/billing/change-plan")
@bearer_required
def billing_change_plan() -> Response:
    """Preview ({"preview": true}) or make a prorated plan/interval change of the running subscription."""
    ensure_permitted(g.membership, "manage_billing")
    body = parse_body(ChangePlanBody)
    provider = get_provider(current_app)
    if body.preview:
        estimate = subscriptions.preview_change(
            db.session, g.tenant, body.plan, body.interval, provider, extra_seats=body.extra_seats
        )
        return jsonify({"proration": _estimate_json(estimate)})
    subscriptions.change_plan(
        db.session,
        g.tenant,
        g.api_user,
        body.plan,
        body.interval,
        provider,
        extra_seats=body.extra_seats,
        proration_date=body.proration_date,
        client=client_info(),
    )
    db.session.commit()
    return jsonify(subscriptions.subscription_state(db.session, g.tenant))


@bp.delete("/billing/cancel")
@bearer_required
def billing_cancel() -> Response:
    """Cancel the subscription at the end of the paid period (resume with POST /api/billing/resume)."""
    ensure_permitted(g.membership, "manage_billing")
    subscriptions.set_cancel_at_period_end(
        db.session, g.tenant, g.api_user, True, get_provider(current_app), client=client_info()
    )
    db.session.commit()
    return jsonify(subscriptions.subscription_state(db.session, g.tenant))


@bp.post("/billing/resume")
@bearer_required
def billing_resume() -> Response:
    """Undo a cancellation before the period ends."""
    ensure_permitted(g.membership, "manage_billing")
    subscriptions.set_cancel_at_period_end(
        db.session, g.tenant, g.api_user, False, get_provider(current_app), client=client_info()
    )
    db.session.commit()
    return jsonify(subscriptions.subscription_state(db.session, g.tenant))


@bp.get("/billing/portal-session")
@bearer_required
def billing_portal_session() -> Response:
    """A Billing Portal URL for the payment method, invoices and cancellation (Stripe's, or the offline stand-in)."""
    ensure_permitted(g.membership, "manage_billing")
    url = subscriptions.portal_url(db.session, g.tenant, get_provider(current_app), lifecycle.billing_url(g.tenant))
    db.session.commit()  # the customer, if this created it
    response = jsonify({"url": url})
    response.headers["Cache-Control"] = "no-store"
    return response
