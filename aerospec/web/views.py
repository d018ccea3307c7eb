"""Public pages: landing and pricing."""

from __future__ import annotations

from types import SimpleNamespace

from flask import request, url_for
from flask_login import current_user

from aerospec.billing.plans import (
    ANNUAL_DISCOUNT,
    FEATURE_LABELS,
    FEATURES,
    LIMIT_LABELS,
    PLANS,
    feature_available,
    price_quote,
    unit_price,
)
from aerospec.web import bp
from aerospec.web.htmx import render


@bp.route("/")
def landing():
    """What AeroSpec does and for whom, with a start-trial call to action."""
    return render("web/landing.html", user=current_user)


def _quotes(interval: str) -> dict:
    return {key: price_quote(plan, interval) if plan.monthly_price is not None else None for key, plan in PLANS.items()}


def pricing_cta() -> SimpleNamespace:
    """Where the plans' buttons lead: signup when logged out; logged in, the current workspace's billing page
    for its admins, or whom to ask for everyone else (`?workspace=<slug>` picks one of the user's workspaces)."""
    if not current_user.is_authenticated:
        return SimpleNamespace(kind="anonymous", workspace=None, others=[])
    from aerospec.extensions import db
    from aerospec.tenancy import services as tenancy
    from aerospec.tenancy.permissions import can

    memberships = tenancy.memberships_for_user(db.session, current_user)
    if not memberships:
        return SimpleNamespace(kind="no_workspace", workspace=None, others=[])
    wanted = request.args.get("workspace")
    # SECURITY: only a workspace the user belongs to can be named here.
    chosen = next((m for m in memberships if m.tenant.slug == wanted), memberships[0])
    tenant = chosen.tenant
    others = [m for m in memberships if m is not chosen]
    from aerospec.billing import subscriptions
    from aerospec.tenancy.scoping import tenant_scope

    with tenant_scope(db.session, tenant.id):
        row = subscriptions.live_subscription(db.session, tenant)
        admins = tenancy.admin_names(db.session, tenant)
    # The interval the workspace pays by: an annual subscriber is shown annual prices first.
    subscribed_interval = row.interval if row is not None else None
    if can(chosen.role, "manage_billing"):
        return SimpleNamespace(
            kind="admin",
            workspace=tenant,
            others=others,
            billing_url=url_for("billing.page", tenant_slug=tenant.slug),
            trialing=tenant.subscription_status == "trialing",
            subscribed_interval=subscribed_interval,
        )
    return SimpleNamespace(
        kind="member", workspace=tenant, others=others, admins=admins, subscribed_interval=subscribed_interval
    )


@bp.route("/pricing")
def pricing():
    """The three plans, the feature matrix and FAQ; the interval toggle swaps the price cards."""
    cta = pricing_cta()
    asked = request.args.get("interval")
    if asked not in ("month", "year"):
        asked = getattr(cta, "subscribed_interval", None) or "month"
    interval = asked
    response = render(
        "web/pricing.html",
        block="plan_cards",
        plans=PLANS,
        interval=interval,
        quotes=_quotes(interval),
        annual=_quotes("year"),
        seat_prices={key: unit_price(plan, interval, "seat") for key, plan in PLANS.items()},
        seat_prices_month={key: unit_price(plan, "month", "seat") for key, plan in PLANS.items()},
        seat_prices_year={key: unit_price(plan, "year", "seat") for key, plan in PLANS.items()},
        example=price_quote("professional", "month", 2),
        features=FEATURES,
        available=feature_available,
        feature_labels=FEATURE_LABELS,
        limit_labels=LIMIT_LABELS,
        discount=int(ANNUAL_DISCOUNT * 100),
        cta=cta,
    )
    response.headers["Vary"] = "HX-Request, Cookie"
    return response


@bp.route("/healthz")
def healthz():
    """Health for the router and monitors: the database and Redis each answer (503 names what failed)."""
    import logging

    from flask import current_app
    from sqlalchemy import text

    from aerospec import queueing
    from aerospec.extensions import db

    checks: dict[str, str] = {}
    try:
        db.session.execute(text("select 1"))
        checks["database"] = "ok"
    except Exception as exc:
        db.session.rollback()
        # SECURITY: name the kind of failure only; connection strings and hosts stay in the log.
        checks["database"] = f"error: {type(exc).__name__}"
        logging.getLogger(__name__).error("healthz: database check failed: %s", exc)
    try:
        checks["redis"] = queueing.redis_check(current_app)
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
        logging.getLogger(__name__).error("healthz: redis check failed: %s", exc)
    failed = [name for name, state in checks.items() if state.startswith("error")]
    body = {"status": "error" if failed else "ok", "checks": checks}
    if failed:
        body["failed"] = failed
    return body, 503 if failed else 200, {"Cache-Control": "no-store"}
