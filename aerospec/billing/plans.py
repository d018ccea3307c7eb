"""The plans of DESIGN.md in one place: prices, limits, the seat add-on and feature flags.

The price list: a plan's price is per workspace (not per seat) and includes the plan's seats
(starter 1, professional 5, enterprise unlimited and custom-priced). Where a plan allows more
seats than it includes (professional), extra seats are an add-on with their own per-seat price
(`Plan.extra_seat_monthly_price`); starter has no add-on (upgrade instead), and enterprise is
arranged with sales, never bought at a checkout. Annual billing is 12 × the monthly price × 0.9,
for the plan and the add-on alike. `price_quote` is the one function that does this arithmetic:
the pricing page, the billing page, both checkouts, Stripe's subscription items and the offline
invoices all read their amounts from it.

`None` as a limit means unlimited. Stripe price ids come from the environment, one per plan and
interval for the workspace price (quantity 1): STRIPE_PRICE_<PLAN>_<MONTH|YEAR>, and one per plan
and interval for the seat add-on (quantity = extra seats): STRIPE_PRICE_<PLAN>_SEAT_<MONTH|YEAR>;
read through `price_id` and mapped back by `plan_for_price`. Without configured ids (the offline
provider) the same items carry stable offline ids (`price_offline_<plan>[_seat]_<interval>`).

Feature flags are per plan (and overridable per tenant), but only the ones in AVAILABLE_FEATURES
run today; the others are "coming soon" and are never shown as included (`feature_available`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

FEATURES = (
    "msds_parsing",
    "api_access",
    "ecommerce",
    "sso",
    "custom_models",
    "webhooks",
    "white_label",
)
# What runs today. The rest are flags a plan (or a platform admin) can already switch on for later,
# but nothing implements them yet: pages say "coming soon" and never count them as included.
AVAILABLE_FEATURES = frozenset({"msds_parsing", "api_access", "ecommerce", "webhooks", "custom_models"})
COMING_SOON_FEATURES = tuple(f for f in FEATURES if f not in AVAILABLE_FEATURES)
LIMIT_NAMES = ("seats", "configurations_per_month", "exports_per_day", "api_calls_per_month")
ANNUAL_DISCOUNT = Decimal("0.10")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    monthly_price: Decimal | None  # USD; None means "talk to us"
    limits: dict[str, int | None]
    features: frozenset[str] = field(default_factory=frozenset)
    procurement_commission: Decimal = Decimal("0")
    blurb: str = ""
    extra_seat_monthly_price: Decimal | None = None  # USD per extra seat a month; None: no seat add-on

    @property
    def included_seats(self) -> int | None:
        """The seats the workspace price includes (None: unlimited)."""
        return self.limits["seats"]

    @property
    def sells_extra_seats(self) -> bool:
        """Whether seats beyond the included ones can be bought as an add-on."""
        return self.extra_seat_monthly_price is not None and self.monthly_price is not None

    @property
    def annual_price(self) -> Decimal | None:
        """Price per year with the annual discount."""
        return unit_price(self, "year")

    @property
    def annual_monthly_equivalent(self) -> Decimal | None:
        """What annual billing costs per month."""
        annual = self.annual_price
        return None if annual is None else (annual / 12).quantize(CENT, rounding=ROUND_HALF_UP)


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
        extra_seat_monthly_price=Decimal("400"),
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
        blurb="Many teams, unlimited seats and usage, the lowest commission, priced with you.",
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
    "custom_models": "Custom models (API)",
    "webhooks": "Signed outgoing webhooks",
    "white_label": "White-label branding",
}


def feature_available(name: str) -> bool:
    """Whether the product runs this feature today (False: "coming soon", never sold as included)."""
    return name in AVAILABLE_FEATURES


def get_plan(key: str) -> Plan:
    """The plan with this key (KeyError for an unknown plan)."""
    return PLANS[key]


BILLING_INTERVALS = ("month", "year")
PRICE_KINDS = ("plan", "seat")  # the workspace price (quantity 1) and the extra-seat add-on


def unit_price(plan: Plan | str, interval: str, kind: str = "plan") -> Decimal | None:
    """One unit of the workspace price or of an extra seat for one interval, in USD (None: not sold)."""
    plan = get_plan(plan) if isinstance(plan, str) else plan
    if interval not in BILLING_INTERVALS:
        raise ValueError(f"interval must be month or year, not {interval!r}")
    monthly = plan.monthly_price if kind == "plan" else plan.extra_seat_monthly_price
    if monthly is None or plan.monthly_price is None:
        return None
    if interval == "year":
        return (monthly * 12 * (1 - ANNUAL_DISCOUNT)).quantize(CENT, rounding=ROUND_HALF_UP)
    return monthly.quantize(CENT)


@dataclass(frozen=True)
class PriceLine:
    """One line of a price: the workspace price (quantity 1) or the extra seats (quantity = seats)."""

    kind: str  # "plan" | "seat"
    description: str
    quantity: int
    unit: Decimal  # USD
    amount: Decimal  # unit × quantity, USD

    @property
    def unit_minor(self) -> int:
        return int(self.unit * 100)

    @property
    def amount_minor(self) -> int:
        return int(self.amount * 100)


@dataclass(frozen=True)
class PriceQuote:
    """What a plan with `extra_seats` costs per interval: its lines and total (USD, currency usd)."""

    plan: Plan
    interval: str
    extra_seats: int
    lines: tuple[PriceLine, ...]
    currency: str = "usd"

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def total_minor(self) -> int:
        return int(self.total * 100)

    @property
    def seats(self) -> int | None:
        """Seats this price covers: the included ones plus the extra ones (None: unlimited)."""
        included = self.plan.included_seats
        return None if included is None else included + self.extra_seats

    @property
    def per_month(self) -> Decimal:
        """The total as a monthly amount (an annual price divided by 12)."""
        return self.total if self.interval == "month" else (self.total / 12).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def every(self) -> str:
        return "a year" if self.interval == "year" else "a month"


def billing_words(interval: str) -> str:
    """'monthly' or 'annual'."""
    return "annual" if interval == "year" else "monthly"


def price_quote(plan: Plan | str, interval: str, extra_seats: int = 0) -> PriceQuote:
    """The price of `plan` billed every `interval` with `extra_seats` add-on seats (TalkToUs-free: raises
    ValueError for a plan without a list price or extra seats on a plan that sells none)."""
    plan = get_plan(plan) if isinstance(plan, str) else plan
    base = unit_price(plan, interval)
    if base is None:
        raise ValueError(f"{plan.name} has no list price: it is arranged with sales")
    extra_seats = int(extra_seats)
    if extra_seats < 0:
        raise ValueError("extra seats cannot be negative")
    seats_word = f"{plan.included_seats} seat{'s' if plan.included_seats != 1 else ''}"
    lines = [
        PriceLine(
            "plan",
            f"AeroSpec {plan.name} plan ({billing_words(interval)}), workspace price, includes {seats_word}",
            1,
            base,
            base,
        )
    ]
    if extra_seats:
        seat = unit_price(plan, interval, "seat")
        if seat is None:
            raise ValueError(f"{plan.name} sells no extra seats")
        lines.append(
            PriceLine(
                "seat",
                f"Extra seat{'s' if extra_seats != 1 else ''} on {plan.name} ({billing_words(interval)})",
                extra_seats,
                seat,
                seat * extra_seats,
            )
        )
    return PriceQuote(plan, interval, extra_seats, tuple(lines))


def price_setting(plan: str, interval: str, kind: str = "plan") -> str:
    """The setting that holds a Stripe price id: STRIPE_PRICE_PROFESSIONAL_MONTH (the workspace price) or
    STRIPE_PRICE_PROFESSIONAL_SEAT_MONTH (the extra-seat add-on)."""
    if plan not in PLANS:
        raise KeyError(f"unknown plan {plan!r}")
    if interval not in BILLING_INTERVALS:
        raise ValueError(f"interval must be month or year, not {interval!r}")
    if kind not in PRICE_KINDS:
        raise ValueError(f"kind must be plan or seat, not {kind!r}")
    middle = "_SEAT" if kind == "seat" else ""
    return f"STRIPE_PRICE_{plan.upper()}{middle}_{interval.upper()}"


def price_id(plan: str, interval: str, config: Mapping, kind: str = "plan") -> str | None:
    """The configured Stripe price id of a plan's workspace price or seat add-on (None when not configured)."""
    return config.get(price_setting(plan, interval, kind)) or None


def offline_price_id(plan: str, interval: str, kind: str = "plan") -> str:
    """The stable price id the offline provider uses when no Stripe price id is configured."""
    return f"price_offline_{plan}{'_seat' if kind == 'seat' else ''}_{interval}"


def item_price_id(plan: str, interval: str, config: Mapping, kind: str = "plan") -> str:
    """The configured price id, else the offline one: what a subscription item carries."""
    return price_id(plan, interval, config, kind) or offline_price_id(plan, interval, kind)


def price_lookup(price: str | None, config: Mapping) -> tuple[str, str, str] | None:
    """(plan, interval, kind) of a configured or offline price id, or None for an unknown price."""
    if not price:
        return None
    for plan in PLANS:
        for interval in BILLING_INTERVALS:
            for kind in PRICE_KINDS:
                if price in (config.get(price_setting(plan, interval, kind)), offline_price_id(plan, interval, kind)):
                    return plan, interval, kind
    return None


def plan_for_price(price: str | None, config: Mapping) -> tuple[str, str] | None:
    """The (plan, interval) a workspace price id is for, or None (an unknown price, or a seat add-on's)."""
    found = price_lookup(price, config)
    return (found[0], found[1]) if found is not None and found[2] == "plan" else None
