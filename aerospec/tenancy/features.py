"""Plan features (msds_parsing, api_access, ...): the check views and services share.

A feature is on when the tenant's plan includes it, unless a platform admin overrode it
for the tenant (aerospec.limits.effective.feature_enabled). When it is off the answer is
402 with a message that names the plans that include it (aerospec.limits.messages.feature_message).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g

from aerospec.billing.plans import FEATURES
from aerospec.errors import DomainError
from aerospec.limits.effective import feature_enabled
from aerospec.limits.messages import feature_message


class FeatureNotInPlan(DomainError):
    """The tenant's plan does not include a feature; the message says how to get it."""

    status = 402
    title = "Upgrade to use this feature"


def ensure_feature(tenant, name: str) -> None:
    """Raise FeatureNotInPlan (402) unless the tenant may use the feature."""
    if not feature_enabled(tenant, name):
        raise FeatureNotInPlan(feature_message(tenant, name))


def require_feature(name: str) -> Callable:
    """View decorator for tenant pages: 402 with an upgrade message unless the feature is on."""
    if name not in FEATURES:
        raise KeyError(f"unknown feature {name!r}")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            ensure_feature(g.tenant, name)
            return view(*args, **kwargs)

        wrapped.required_feature = name
        return wrapped

    return decorator
