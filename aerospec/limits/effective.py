"""A tenant's limits and feature flags now: its plan's, with the tenant's overrides applied."""

from __future__ import annotations

from aerospec.billing.plans import FEATURES, LIMIT_NAMES, get_plan
from aerospec.tenancy.models import Tenant


def effective_limits(tenant: Tenant) -> dict[str, int | None]:
    """The plan's limits with the tenant's overrides applied (None = unlimited); seats add the extra
    seats the workspace bought (the seat add-on), where its plan sells them."""
    plan = get_plan(tenant.plan)
    limits = dict(plan.limits)
    limits.update({k: v for k, v in (tenant.limits or {}).items() if k in limits})
    if limits["seats"] is not None and plan.sells_extra_seats:
        limits["seats"] += max(0, tenant.extra_seats or 0)
    return limits


def effective_features(tenant: Tenant) -> dict[str, bool]:
    """Each feature flag for the tenant: the plan's, overridden per tenant."""
    plan_features = get_plan(tenant.plan).features
    flags = {name: name in plan_features for name in FEATURES}
    flags.update({k: bool(v) for k, v in (tenant.features or {}).items() if k in flags})
    return flags


def limit_for(tenant: Tenant, name: str) -> int | None:
    """The tenant's limit `name` (seats, configurations_per_month, ...): plan or override; None = unlimited."""
    if name not in LIMIT_NAMES:
        raise KeyError(f"unknown limit {name!r}")
    return effective_limits(tenant)[name]


def feature_enabled(tenant: Tenant, name: str) -> bool:
    """Whether `tenant` may use feature `name` now."""
    if name not in FEATURES:
        raise KeyError(f"unknown feature {name!r}")
    return bool(effective_features(tenant).get(name))
