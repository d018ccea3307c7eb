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
    """Liveness for the router: the app answers and reaches its database."""
    from sqlalchemy import text

    from aerospec.extensions import db

    db.session.execute(text("select 1"))
    return {"status": "ok"}
