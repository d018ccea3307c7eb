"""Plan features (msds_parsing, api_access, ...): the check views and services share.

A feature is on when the tenant's plan includes it, unless a platform admin overrode it
for the tenant (tenancy.services.effective_features). When it is off the answer is
402 with a message that names the plans that include it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from aerospec.billing.plans import FEATURE_LABELS, FEATURES, PLANS
from aerospec.errors import DomainError


class FeatureNotInPlan(DomainError):
    """The tenant's plan does not include a feature; the message says how to get it."""

    status = 402
    title = "Upgrade to use this feature"


def feature_enabled(tenant, name: str) -> bool:
    """Whether `tenant` may use feature `name` now."""
    from aerospec.tenancy.services import effective_features

    if name not in FEATURES:
        raise KeyError(f"unknown feature {name!r}")
    return bool(effective_features(tenant).get(name))


def upgrade_message(tenant, name: str) -> str:
    """'Safety-data-sheet parsing is not enabled ...; it comes with ...', and who can upgrade where."""
    from flask import current_app, has_app_context

    from aerospec.billing.usage import upgrade_prompt

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


def ensure_feature(tenant, name: str) -> None:
    """Raise FeatureNotInPlan (402) unless the tenant may use the feature."""
    if not feature_enabled(tenant, name):
        raise FeatureNotInPlan(upgrade_message(tenant, name))


def require_feature(name: str) -> Callable:
    """View decorator for tenant pages: 402 with an upgrade message unless the feature is on."""
    if name not in FEATURES:
        raise KeyError(f"unknown feature {name!r}")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            from flask import g

            ensure_feature(g.tenant, name)
            return view(*args, **kwargs)

        wrapped.required_feature = name
        return wrapped

    return decorator
