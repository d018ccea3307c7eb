"""Template helpers: permission checks, the user's workspaces, relative times."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, g
from flask_login import current_user

from aerospec.config import simulated_services
from aerospec.models import utcnow
from aerospec.tenancy.permissions import can
from aerospec.web import bp


@bp.app_context_processor
def inject_helpers() -> dict:
    def my_memberships():
        if not current_user.is_authenticated:
            return []
        if "_my_memberships" not in g:
            from aerospec.extensions import db
            from aerospec.tenancy import services as tenancy

            g._my_memberships = tenancy.memberships_for_user(db.session, current_user)
        return g._my_memberships

    def trial_days_left():
        if "tenant" not in g:
            return None
        from aerospec.tenancy import services as tenancy

        return tenancy.trial_days_left(g.tenant)

    simulated = simulated_services(current_app.config)
    return {
        "can": can,
        "my_memberships": my_memberships,
        "trial_days_left": trial_days_left,
        # What this deployment only simulates: the test-mode banner names each; quote cards say "Sandbox".
        "test_mode": simulated,
        "sandbox_suppliers": "suppliers" in simulated,
    }


@bp.app_template_filter("relative")
def relative(value: datetime | None, now: datetime | None = None) -> str:
    """'3 minutes ago', 'in 6 days'."""
    if value is None:
        return "never"
    delta = (now or utcnow()) - value
    seconds = int(delta.total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            text = f"{n} {unit}{'s' if n != 1 else ''}"
            return f"in {text}" if future else f"{text} ago"
    return "just now"


@bp.app_template_filter("sig")
def significant(value: float | None, digits: int = 3, signed: bool = False) -> str:
    """A number to `digits` significant figures for people ('1,970', '0.0402', '+7.5'), never in e-notation."""
    if value is None:
        return "—"
    from math import floor, log10

    if value == 0:
        text = "0"
    else:
        decimals = max(0, digits - 1 - floor(log10(abs(value))))
        text = f"{round(value, decimals):,.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    return f"+{text}" if signed and value > 0 else text
