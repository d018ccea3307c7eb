"""What every 402 of the plan says (a limit used up, a feature not in the plan, no seat left), the 80 %
warning, and the one call to action that ends them: who can lift the limit, and where."""

from __future__ import annotations

from flask import current_app, g, has_app_context, has_request_context

from aerospec.billing.plans import FEATURE_LABELS, PLANS, get_plan, unit_price
from aerospec.limits.counters import QUOTAS, QuotaUse
from aerospec.tenancy.models import Tenant
from aerospec.tenancy.permissions import can

API_CALLS = "api_calls_per_month"
SEATS = "seats"


def noun(name: str) -> str:
    """What a limit counts, in words: 'seats', 'API calls'."""
    return "seats" if name == SEATS else QUOTAS[name][1]


def _per(name: str) -> str:
    return "" if name == SEATS else f" per {QUOTAS[name][0]}"


def _amount(limit: int | None, name: str) -> str:
    return f"unlimited {noun(name)}" if limit is None else f"{limit:,} {noun(name)}{_per(name)}"


def better_plans(tenant: Tenant, name: str, limit: int | None) -> list[str]:
    """Plans above the tenant's that allow more of `name`, e.g. ["Professional (10,000 API calls per month)"]."""
    keys = list(PLANS)
    current = keys.index(tenant.plan) if tenant.plan in keys else -1
    out = []
    for plan in list(PLANS.values())[current + 1 :]:
        theirs = plan.limits[name]
        if limit is not None and (theirs is None or theirs > limit):
            out.append(f"{plan.name} ({_amount(theirs, name)})")
    return out


def upgrade_prompt(tenant: Tenant) -> str:
    """Who can lift a plan's limit, and where: an admin is sent to the billing page, anyone else to an admin.

    The one wording of the call to action that ends every 402 of the plan (features, metered limits and
    seats, all here); web.errors shows the billing page's link beside it (to admins) and the API adds it as
    `billing_url`. The role is the request's member of this tenant (g.membership); outside a request, or
    for someone not yet a member, the sentence names no one in particular.
    """
    membership = g.get("membership") if has_request_context() else None
    if membership is None or membership.tenant_id != tenant.id:
        return "A workspace admin can upgrade the plan on the billing page."
    if can(membership.role, "manage_billing"):
        return "You can upgrade the plan on the billing page."
    return "Ask a workspace admin to upgrade the plan on the billing page."


def upgrade_message(tenant: Tenant, name: str, limit: int) -> str:
    """What the limit is, that it is used up, which plan allows more, and who can upgrade where."""
    plan = get_plan(tenant.plan)
    better = better_plans(tenant, name, limit)
    upgrade = f"Upgrade to {' or '.join(better)}" if better else "Contact sales for a higher limit"
    prompt = upgrade_prompt(tenant)
    if name == API_CALLS and limit == 0:
        return f"The API is not in your {plan.name} plan. {upgrade} to use it. {prompt}"
    period = QUOTAS[name][0]
    when = "next month" if period == "month" else "tomorrow"
    return (
        f"Your {plan.name} plan includes {_amount(limit, name)}, and all are used. "
        f"{upgrade} for more, or wait until {when}. {prompt}"
    )


def feature_message(tenant: Tenant, name: str) -> str:
    """'Safety-data-sheet parsing is not enabled ...; it comes with ...', and who can upgrade where."""
    label = FEATURE_LABELS.get(name, name)
    with_it = [plan.name for plan in PLANS.values() if name in plan.features]
    plan = PLANS.get(tenant.plan)
    current = plan.name if plan is not None else tenant.plan
    if plan is not None and name in plan.features:
        # Switched off for this workspace by a platform admin: another plan would not bring it back.
        sales = (current_app.config.get("SALES_EMAIL") if has_app_context() else None) or "sales@aerospec.example"
        return (
            f"{label} is not enabled for this workspace (plan: {current}): it was switched off, although the "
            f"plan includes it. Write to {sales} to have it switched back on."
        )
    where = f" It comes with the {', '.join(with_it)} plan{'s' if len(with_it) > 1 else ''}." if with_it else ""
    return f"{label} is not enabled for this workspace (plan: {current}).{where} {upgrade_prompt(tenant)}"


def seat_message(tenant: Tenant, limit: int) -> str:
    """All `limit` seats are taken or invited: what the plan has, how to get a seat, and who can."""
    plan = get_plan(tenant.plan)
    seats = "seat" if limit == 1 else "seats"
    extra = max(0, tenant.extra_seats or 0) if plan.sells_extra_seats else 0
    has = f"includes {limit} {seats}" if not extra else f"has {limit} seats ({limit - extra} included + {extra} extra)"
    if plan.sells_extra_seats:
        price = unit_price(plan, "month", "seat")
        return (
            f"Your {plan.name} plan {has}, and all are taken or invited. Add an extra seat on the billing page "
            f"(USD {price:,.0f} a month each), or remove a member or revoke an invitation first. "
            f"{upgrade_prompt(tenant).replace('upgrade the plan', 'add seats')}"
        )
    upgrade = "Upgrade to Professional for 5 seats or Enterprise for unlimited seats"
    return (
        f"Your {plan.name} plan {has}, and all are taken or invited. "
        f"{upgrade}, or remove a member or revoke an invitation first. {upgrade_prompt(tenant)}"
    )


def warning_message(use: QuotaUse, tenant: Tenant) -> str:
    """The 80 % warning, in words."""
    period, what = QUOTAS[use.name]
    return (
        f"You have used {use.used} of {use.limit} {what} this {period} on the "
        f"{get_plan(tenant.plan).name} plan ({use.remaining} left)."
    )
