"""The plans of DESIGN.md in one place: prices, limits and feature flags.

`None` as a limit means unlimited. Stripe price ids come from the environment, one per
plan and interval: STRIPE_PRICE_<PLAN>_<MONTH|YEAR> (e.g. STRIPE_PRICE_PROFESSIONAL_MONTH),
read through `price_id` and mapped back by `plan_for_price`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

FEATURES = (
    "msds_parsing",
    "api_access",
    "ecommerce",
    "sso",
    "custom_models",
    "webhooks",
    "white_label",
)
LIMIT_NAMES = ("seats", "configurations_per_month", "exports_per_day", "api_calls_per_month")
ANNUAL_DISCOUNT = Decimal("0.10")


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    monthly_price: Decimal | None  # USD; None means "talk to us"
    limits: dict[str, int | None]
    features: frozenset[str] = field(default_factory=frozenset)
    procurement_commission: Decimal = Decimal("0")
    blurb: str = ""

    @property
    def annual_price(self) -> Decimal | None:
        """Price per year with the annual discount."""
        if self.monthly_price is None:
            return None
        return (self.monthly_price * 12 * (1 - ANNUAL_DISCOUNT)).quantize(Decimal("1"))

    @property
    def annual_monthly_equivalent(self) -> Decimal | None:
        """What annual billing costs per month."""
        if self.monthly_price is None:
            return None
        return (self.monthly_price * (1 - ANNUAL_DISCOUNT)).quantize(Decimal("1"))


PLANS: dict[str, Plan] = {
    "starter": Plan(
        key="starter",
        name="Starter",
        monthly_price=Decimal("500"),
        limits={
            "seats": 1,
            "configurations_per_month": 50,
            "exports_per_day": 5,
            "api_calls_per_month": 0,
        },
        features=frozenset({"msds_parsing", "ecommerce"}),
        procurement_commission=Decimal("0.20"),
        blurb="One engineer exploring actuators for a product line.",
    ),
    "professional": Plan(
        key="professional",
        name="Professional",
        monthly_price=Decimal("2000"),
        limits={
            "seats": 5,
            "configurations_per_month": None,
            "exports_per_day": 50,
            "api_calls_per_month": 10_000,
        },
        features=frozenset({"msds_parsing", "api_access", "ecommerce", "webhooks"}),
        procurement_commission=Decimal("0.15"),
        blurb="A formulation and packaging team shipping several products a year.",
    ),
    "enterprise": Plan(
        key="enterprise",
        name="Enterprise",
        monthly_price=None,
        limits={
            "seats": None,
            "configurations_per_month": None,
            "exports_per_day": None,
            "api_calls_per_month": None,
        },
        features=frozenset(FEATURES),
        procurement_commission=Decimal("0.10"),
        blurb="Many teams, your own models, SSO and white-label portals.",
    ),
}

TRIAL_PLAN = "professional"

LIMIT_LABELS = {
    "seats": "Team seats",
    "configurations_per_month": "Configurations per month",
    "exports_per_day": "Exports per day",
    "api_calls_per_month": "API calls per month",
}
FEATURE_LABELS = {
    "msds_parsing": "Safety-data-sheet parsing",
    "api_access": "REST API",
    "ecommerce": "Sample ordering and payment",
    "sso": "Single sign-on (OIDC)",
    "custom_models": "Your own trained correction model",
    "webhooks": "Signed outgoing webhooks",
    "white_label": "White-label branding",
}


def get_plan(key: str) -> Plan:
    """The plan with this key (KeyError for an unknown plan)."""
    return PLANS[key]


BILLING_INTERVALS = ("month", "year")


def price_setting(plan: str, interval: str) -> str:
    """The setting that holds a plan's Stripe price id: STRIPE_PRICE_PROFESSIONAL_MONTH."""
    if plan not in PLANS:
        raise KeyError(f"unknown plan {plan!r}")
    if interval not in BILLING_INTERVALS:
        raise ValueError(f"interval must be month or year, not {interval!r}")
    return f"STRIPE_PRICE_{plan.upper()}_{interval.upper()}"


def price_id(plan: str, interval: str, config: Mapping) -> str | None:
    """The Stripe price id of a plan billed monthly or yearly (None when not configured)."""
    return config.get(price_setting(plan, interval)) or None


def plan_for_price(price: str | None, config: Mapping) -> tuple[str, str] | None:
    """The (plan, interval) a Stripe price id is configured for, or None for an unknown price."""
    if not price:
        return None
    for plan in PLANS:
        for interval in BILLING_INTERVALS:
            if config.get(price_setting(plan, interval)) == price:
                return plan, interval
    return None
