"""The payment provider interface: Stripe (the real SDK) and Offline (the embedded default).

`get_provider(app)` picks Stripe when STRIPE_SECRET_KEY is set, else Offline (BILLING_PROVIDER
overrides; production starts only with one of the two configured or chosen). Both open a
Checkout Session and return `CheckoutSession(id, url)` to redirect the payer to; both report
the outcome as Stripe-shaped events that arrive at the one intake in `billing.webhooks`
(Stripe by its signed webhook, Offline from its local checkout page).

Amounts cross this interface in minor units (cents), exactly as Stripe takes them; callers
convert their Decimal money with `to_minor`. Modes: "payment" (procurement orders) and
"subscription" (billing.subscriptions.subscribe: `price_id` line items, `customer` and
`subscription_data`). Stripe also creates the tenant's customer, retrieves and updates
subscriptions, previews the invoice of a change and opens Billing Portal sessions; the offline
provider builds the same Stripe-shaped objects (`offline_subscription_object`) for its events.

This is the bottom of billing's imports: it imports no other billing module but models. What the
offline provider records when its page is paid (subscriptions, invoices) lives above it, in
`billing.offline_checkout`; its renewals and test card in `billing.offline_cycle` and `billing.offline_card`.
"""

from __future__ import annotations

import calendar
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple, Protocol

import stripe
from flask import Flask
from sqlalchemy.orm import Session

from aerospec.errors import DomainError

log = logging.getLogger(__name__)

MODES = ("payment", "subscription")
# ISO 4217 currencies Stripe charges in whole units (no minor unit).
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
# The API version our Stripe-shaped offline events claim to follow.
OFFLINE_API_VERSION = "2025-01-27.acacia"


class PaymentProviderError(DomainError):
    """The provider could not open a checkout right now (the message is safe to show)."""

    status = 502
    title = "Payment provider unavailable"


def to_minor(amount: Decimal, currency: str) -> int:
    """A Decimal amount in the currency's minor units (cents), rounded half-up; never via float."""
    exponent = Decimal("1") if currency.lower() in ZERO_DECIMAL else Decimal("0.01")
    quantized = Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)
    return int(quantized / exponent)


def from_minor(amount: int, currency: str) -> Decimal:
    """Minor units back to a Decimal amount."""
    return Decimal(amount) if currency.lower() in ZERO_DECIMAL else (Decimal(amount) / 100).quantize(Decimal("0.01"))


def from_unix(value: Any) -> datetime | None:
    """A Stripe Unix timestamp (seconds) as an aware UTC datetime; missing or 0 is None."""
    if value in (None, "", 0):
        return None
    return datetime.fromtimestamp(int(value), UTC)


@dataclass(frozen=True)
class LineItem:
    """One Checkout line: an ad-hoc price (name + unit_amount) or, for subscriptions, a Stripe price id."""

    name: str = ""
    unit_amount: int = 0  # minor units
    quantity: int = 1
    price_id: str | None = None  # subscriptions: a recurring Price (STRIPE_PRICE_...)

    def to_stripe(self, currency: str) -> dict:
        if self.price_id:
            return {"price": self.price_id, "quantity": self.quantity}
        return {
            "price_data": {"currency": currency, "unit_amount": self.unit_amount, "product_data": {"name": self.name}},
            "quantity": self.quantity,
        }

    def to_dict(self) -> dict:
        return {"name": self.name, "unit_amount": self.unit_amount, "quantity": self.quantity, "price": self.price_id}


class CheckoutSession(NamedTuple):
    """What a provider answers: the session's id and the URL to send the payer to."""

    id: str
    url: str


class BillingProvider(Protocol):
    """What every provider offers (issue 5 adds customers, portal sessions, subscription changes)."""

    name: str  # "stripe" | "offline": stored on the paid row as payment_provider

    def create_checkout_session(
        self,
        *,
        mode: str = "payment",
        amount_minor: int,
        currency: str,
        description: str,
        metadata: Mapping[str, str],
        customer_email: str | None,
        success_url: str,
        cancel_url: str,
        line_items: Sequence[LineItem] | None = None,
        client_reference_id: str | None = None,
        customer: str | None = None,
        subscription_data: Mapping | None = None,
    ) -> CheckoutSession: ...


def _check(mode: str, amount_minor: int, currency: str, line_items: Sequence[LineItem] | None) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown checkout mode {mode!r}")
    if mode == "payment" and amount_minor <= 0:
        raise ValueError("a payment checkout needs a positive amount")
    if len(currency) != 3:
        raise ValueError(f"not an ISO currency code: {currency!r}")
    if line_items is not None and not line_items:
        raise ValueError("line_items, when given, must not be empty")


def _metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    # Stripe keeps metadata values as strings; so do we, so both providers' events look alike.
    return {str(k): str(v) for k, v in metadata.items()}


# -- Stripe -------------------------------------------------------------------------------


class StripeProvider:
    """Stripe through the real SDK (a StripeClient with our key; STRIPE_API_BASE when set)."""

    name = "stripe"

    def __init__(
        self,
        secret_key: str,
        *,
        api_base: str | None = None,
        http_client: stripe.HTTPClient | None = None,
        max_network_retries: int = 2,
    ):
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            http_client=http_client,
            max_network_retries=max_network_retries,
        )

    def create_checkout_session(
        self,
        *,
        mode: str = "payment",
        amount_minor: int,
        currency: str,
        description: str,
        metadata: Mapping[str, str],
        customer_email: str | None,
        success_url: str,
        cancel_url: str,
        line_items: Sequence[LineItem] | None = None,
        client_reference_id: str | None = None,
        customer: str | None = None,
        subscription_data: Mapping | None = None,
    ) -> CheckoutSession:
        """POST /v1/checkout/sessions; the payer is sent to the session's url."""
        currency = currency.lower()
        _check(mode, amount_minor, currency, line_items)
        items = list(line_items) if line_items else [LineItem(description, amount_minor, 1)]
        meta = _metadata(metadata)
        params: dict = {
            "mode": mode,
            "line_items": [item.to_stripe(currency) for item in items],
            "metadata": meta,
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        if client_reference_id:
            params["client_reference_id"] = client_reference_id
        # Stripe takes either an existing customer or an email to prefill, not both.
        if customer:
            params["customer"] = customer
        elif customer_email:
            params["customer_email"] = customer_email
        if mode == "payment":
            # The PaymentIntent carries the same metadata, so its own events can be routed too.
            params["payment_intent_data"] = {"metadata": meta, "description": description}
        else:
            params["subscription_data"] = {"metadata": meta, **(subscription_data or {})}
        try:
            session = self.client.v1.checkout.sessions.create(params)
        except stripe.StripeError as exc:
            log.warning("stripe checkout session failed: %s", exc)
            raise PaymentProviderError(
                "We could not open the payment page just now. Nothing was charged; try again in a minute."
            ) from exc
        # SECURITY/pitfall: SDK objects are not dicts (.get() raises); index them.
        return CheckoutSession(session["id"], session["url"])

    def _call(self, what: str, func: Callable, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except stripe.StripeError as exc:
            log.warning("stripe %s failed: %s", what, exc)
            raise PaymentProviderError(
                "The payment provider did not answer just now. Nothing was changed; try again in a minute."
            ) from exc

    def create_customer(self, *, name: str, email: str, metadata: Mapping[str, str], idempotency_key: str) -> str:
        """POST /v1/customers: the tenant's one customer (the key makes a retried request create one)."""
        customer = self._call(
            "customer",
            self.client.v1.customers.create,
            {"name": name, "email": email, "metadata": _metadata(metadata)},
            {"idempotency_key": idempotency_key},
        )
        return customer["id"]

    def retrieve_checkout_session(self, session_id: str) -> dict:
        """GET /v1/checkout/sessions/<id>: a session as Stripe has it now (status, subscription), as a plain dict."""
        return self._call("checkout session", self.client.v1.checkout.sessions.retrieve, session_id).to_dict()

    def retrieve_subscription(self, subscription_id: str) -> dict:
        """GET /v1/subscriptions/<id>: the subscription as Stripe has it now, as a plain dict."""
        return self._call("subscription", self.client.v1.subscriptions.retrieve, subscription_id).to_dict()

    def update_subscription(self, subscription_id: str, params: Mapping) -> dict:
        """POST /v1/subscriptions/<id>: change price/quantity, cancel at period end, or resume."""
        return self._call(
            "subscription update", self.client.v1.subscriptions.update, subscription_id, dict(params)
        ).to_dict()

    def preview_invoice(self, params: Mapping) -> dict:
        """POST /v1/invoices/create_preview: what a change would bill (the proration estimate)."""
        return self._call("invoice preview", self.client.v1.invoices.create_preview, dict(params)).to_dict()

    def create_portal_session(self, *, customer: str, return_url: str) -> str:
        """POST /v1/billing_portal/sessions: the hosted page where the customer manages cards and invoices."""
        portal = self._call(
            "portal session",
            self.client.v1.billing_portal.sessions.create,
            {"customer": customer, "return_url": return_url},
        )
        return portal["url"]


# -- Offline ------------------------------------------------------------------------------


OFFLINE_CHECKOUT_PATH = "/billing/offline/checkout/{id}"
DECLINE_MESSAGE = "Your card was declined."


def offline_id(prefix: str) -> str:
    """A fresh id of the offline provider's (`cs_offline_…`, `evt_offline_…`): 128 random bits."""
    # SECURITY: the checkout URL is the capability (as Stripe's is): 128 random bits.
    return f"{prefix}_offline_{secrets.token_hex(16)}"


class OfflineProvider:
    """The embedded default: a checkout row and a local page that can succeed or decline."""

    name = "offline"

    def __init__(self, session: Session, *, base_url: str = ""):
        self.session = session
        self.base_url = base_url.rstrip("/")

    def create_checkout_session(
        self,
        *,
        mode: str = "payment",
        amount_minor: int,
        currency: str,
        description: str,
        metadata: Mapping[str, str],
        customer_email: str | None,
        success_url: str,
        cancel_url: str,
        line_items: Sequence[LineItem] | None = None,
        client_reference_id: str | None = None,
        customer: str | None = None,
        subscription_data: Mapping | None = None,
    ) -> CheckoutSession:
        """Store an OfflineCheckoutSession (flushed, not committed) and answer its local page."""
        from aerospec.billing.models import OfflineCheckoutSession
        from aerospec.tenancy.scoping import current_tenant_id

        tenant_id = current_tenant_id()
        if tenant_id is None:  # the row is tenant-owned (row-level security): a programming error, not input
            raise RuntimeError("open an offline checkout with its workspace in context (tenant_scope)")
        currency = currency.lower()
        _check(mode, amount_minor, currency, line_items)
        items = list(line_items) if line_items else [LineItem(description, amount_minor, 1)]
        meta = _metadata(metadata)
        row = OfflineCheckoutSession(
            id=offline_id("cs"),
            tenant_id=tenant_id,
            mode=mode,
            status="open",
            payment_status="unpaid",
            amount_total=amount_minor,
            currency=currency,
            description=description[:255],
            customer_email=customer_email,
            payment_intent_id=offline_id("pi") if mode == "payment" else None,
            metadata_=meta,
            line_items=[item.to_dict() for item in items],
            success_url=success_url,
            cancel_url=cancel_url,
        )
        self.session.add(row)
        self.session.flush()
        return CheckoutSession(row.id, self.base_url + OFFLINE_CHECKOUT_PATH.format(id=row.id))

    def create_customer(self, *, name: str, email: str, metadata: Mapping[str, str], idempotency_key: str) -> str:
        """An offline customer id (cus_offline_...): nothing to create anywhere but the tenant's row."""
        return offline_id("cus")


def offline_event(event_type: str, obj: dict) -> dict:
    """A Stripe-shaped event envelope around an object, with a fresh evt_offline_ id."""
    return {
        "id": offline_id("evt"),
        "object": "event",
        "api_version": OFFLINE_API_VERSION,
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj},
    }


def offline_checkout_object(row) -> dict:
    """An OfflineCheckoutSession as Stripe's checkout.session object."""
    return {
        "id": row.id,
        "object": "checkout.session",
        "mode": row.mode,
        "status": row.status,
        "payment_status": row.payment_status,
        "amount_subtotal": row.amount_total,
        "amount_total": row.amount_total,
        "currency": row.currency,
        "customer_email": row.customer_email,
        "customer_details": {"email": row.customer_email},
        "metadata": dict(row.metadata_ or {}),
        "payment_intent": row.payment_intent_id,
        "success_url": row.success_url,
        "cancel_url": row.cancel_url,
        "created": int(row.created_at.timestamp()) if row.created_at else int(time.time()),
        "livemode": False,
        "url": None,
    }


def offline_payment_intent_object(row, *, succeeded: bool) -> dict:
    """The checkout's PaymentIntent as Stripe's payment_intent object (succeeded or declined)."""
    return {
        "id": row.payment_intent_id,
        "object": "payment_intent",
        "amount": row.amount_total,
        "amount_received": row.amount_total if succeeded else 0,
        "currency": row.currency,
        "status": "succeeded" if succeeded else "requires_payment_method",
        "metadata": dict(row.metadata_ or {}),
        "receipt_email": row.customer_email,
        "created": int(row.created_at.timestamp()) if row.created_at else int(time.time()),
        "livemode": False,
        "last_payment_error": None
        if succeeded
        else {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "generic_decline",
            "message": DECLINE_MESSAGE,
        },
    }


def add_interval(start: datetime, interval: str, count: int = 1) -> datetime:
    """`start` plus whole months or years, on the same day (clamped to the month's last day), as Stripe bills."""
    months = count * (12 if interval == "year" else 1)
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


def offline_subscription_object(
    *,
    subscription_id: str,
    customer: str,
    status: str,
    items: Sequence[Mapping],
    currency: str,
    interval: str,
    period_start: datetime,
    period_end: datetime,
    metadata: Mapping[str, str],
    created: datetime,
    trial_end: datetime | None = None,
    cancel_at_period_end: bool = False,
    canceled_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> dict:
    """A subscription object as Stripe's API version OFFLINE_API_VERSION shapes it (period on the subscription).

    `items`: {kind, price, unit_amount, quantity} each (billing.subscriptions.subscription_items): the
    workspace price (quantity 1) and, when bought, the extra seats.
    """
    unix = lambda value: int(value.timestamp()) if value is not None else None  # noqa: E731 - local shorthand
    item_id = subscription_id.replace("sub_", "si_", 1)
    return {
        "id": subscription_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": item_id if item.get("kind", "plan") == "plan" else f"{item_id}_{item['kind']}",
                    "object": "subscription_item",
                    "price": {
                        "id": item.get("price"),
                        "object": "price",
                        "currency": currency,
                        "unit_amount": int(item.get("unit_amount") or 0),
                        "recurring": {"interval": interval, "interval_count": 1},
                    },
                    "quantity": int(item.get("quantity") or 1),
                }
                for item in items
            ],
        },
        "currency": currency,
        "current_period_start": unix(period_start),
        "current_period_end": unix(period_end),
        "trial_start": unix(period_start) if trial_end else None,
        "trial_end": unix(trial_end),
        "cancel_at_period_end": cancel_at_period_end,
        "cancel_at": unix(period_end) if cancel_at_period_end else None,
        "canceled_at": unix(canceled_at),
        "ended_at": unix(ended_at),
        "metadata": _metadata(metadata),
        "created": unix(created),
        "start_date": unix(created),
        "livemode": False,
    }


# -- choosing one -------------------------------------------------------------------------


def get_provider(app: Flask, session: Session | None = None) -> BillingProvider:
    """Stripe when STRIPE_SECRET_KEY is set, else the offline provider (on `session`, default db.session);
    BILLING_PROVIDER chooses explicitly (production refuses to start with neither: config.py).

    The Stripe client is built once per app and key; `app.extensions["aerospec_stripe_http_client"]`,
    when present, is the SDK HTTP client to use (tests record requests through it).
    """
    from aerospec.config import billing_provider

    key = app.config.get("STRIPE_SECRET_KEY")
    if billing_provider(app.config) == "stripe" and key:
        base = app.config.get("STRIPE_API_BASE") or None
        http_client = app.extensions.get("aerospec_stripe_http_client")
        cache_key = (key, base, id(http_client))
        cached = app.extensions.get("aerospec_stripe_provider")
        if cached is None or cached[0] != cache_key:
            cached = (cache_key, StripeProvider(key, api_base=base, http_client=http_client))
            app.extensions["aerospec_stripe_provider"] = cached
        return cached[1]
    if session is None:
        from aerospec.extensions import db

        session = db.session
    return OfflineProvider(session)
