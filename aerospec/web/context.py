"""Template helpers: permission checks, the user's workspaces, dates and numbers."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app, g
from markupsafe import Markup, escape

from aerospec.config import simulated_services
from aerospec.tenancy import context as tenancy_context
from aerospec.tenancy.permissions import can
from aerospec.web import bp, dates


@bp.app_context_processor
def inject_helpers() -> dict:
    def trial_days_left():
        if "tenant" not in g:
            return None
        from aerospec.tenancy import services as tenancy

        return tenancy.trial_days_left(g.tenant)

    def trial_now():
        """The shell's trial banner: billing.lifecycle.trial_of (the one reading of a trial), and who to ask."""
        if "tenant" not in g:
            return None
        from types import SimpleNamespace

        from aerospec.billing import lifecycle
        from aerospec.extensions import db
        from aerospec.tenancy import services as tenancy

        tenant = g.tenant
        if tenant.subscription_status != "trialing":
            return None
        trial = lifecycle.trial_of(tenant, None)
        state = "running" if trial is not None else ("ended" if tenant.trial_ends_at is not None else "none")
        admins = ""
        if not can(g.membership.role, "manage_billing"):
            admins = tenancy.admin_names(db.session, tenant)
        return SimpleNamespace(
            state=state,
            days_left=trial.days_left if trial else 0,
            ends_at=trial.ends_at if trial else tenant.trial_ends_at,
            admins=admins,
        )

    simulated = simulated_services(current_app.config)
    return {
        "can": can,
        "my_memberships": tenancy_context.my_memberships,
        "trial_days_left": trial_days_left,
        "trial_now": trial_now,
        # What this deployment only simulates: the test-mode banner names each; quote cards say "Sandbox".
        "test_mode": simulated,
        "sandbox_suppliers": "suppliers" in simulated,
    }


# Dates, one style everywhere: templates use `when` (imported from web/_macros.html) built on these.
bp.add_app_template_filter(dates.relative, "relative")
bp.add_app_template_filter(dates.absolute, "absolute")
bp.add_app_template_filter(dates.absolute_date, "absolute_date")


@bp.app_template_global("when_html")
def when(dt: date | datetime | None, empty: str = "never", now: datetime | None = None) -> Markup:
    """A date for people: the absolute moment in UTC with the relative time beside it, machine-readable
    in `datetime` (or `empty`, muted, when there is none). A list passes one `now` for all its rows."""
    if not dt:
        return Markup(f'<span class="muted">{escape(empty)}</span>')  # noqa: S704 - escaped
    before, after = when_parts(dt)
    return Markup(f"{before}{escape(dates.relative(dt, now))}{after}")  # noqa: S704 - escaped


def when_parts(dt: date | datetime) -> tuple[str, str]:
    """`when`'s markup before and after its relative text, which alone moves with the clock
    (a list that keeps its rows built fills in only that)."""
    # SECURITY: every value is escaped (Markup.format would too, at twice the cost a row).
    return (
        f'<time class="when" datetime="{escape(dt.isoformat())}">{escape(dates.absolute(dt))} '
        '<span class="when-relative">(',
        ")</span></time>",
    )


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


MEASURE_DIGITS = 4  # one rule for a fluid's properties on every page (list, fluid page, wizard, configuration)


@bp.app_template_filter("measure")
def measure(value: float | None) -> str:
    """A measured property as every page writes it: 4 significant figures ('37.78', '870', '1,200')."""
    return significant(value, MEASURE_DIGITS)
