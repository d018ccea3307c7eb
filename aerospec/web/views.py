"""Public pages: landing and pricing."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from aerospec.billing.plans import ANNUAL_DISCOUNT, FEATURE_LABELS, FEATURES, LIMIT_LABELS, PLANS
from aerospec.web import bp
from aerospec.web.htmx import render


@bp.route("/")
def landing():
    """What AeroSpec does and for whom, with a start-trial call to action."""
    return render("web/landing.html", user=current_user)


@bp.route("/pricing")
def pricing():
    """The three plans, the feature matrix and FAQ; the interval toggle swaps the price cards."""
    interval = "year" if request.args.get("interval") == "year" else "month"
    return render(
        "web/pricing.html",
        block="plan_cards",
        plans=PLANS,
        interval=interval,
        features=FEATURES,
        feature_labels=FEATURE_LABELS,
        limit_labels=LIMIT_LABELS,
        discount=int(ANNUAL_DISCOUNT * 100),
    )


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
