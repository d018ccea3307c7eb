"""Provider events (stored once per event id), the offline provider's checkout sessions, and the
subscription mirror: subscriptions, invoices, usage roll-ups and once-only billing notices.

Events are global rows: one is found by its provider id before any tenant is known, and the tenant
is read from the object's metadata when it is processed. A checkout session is tenant-owned (it
holds the payer's email and the amount): its page finds it by id through an explicit, logged bypass.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from aerospec.extensions import db
from aerospec.models import IdMixin, TenantOwned, TimestampMixin, UTCDateTime, utcnow


class BillingEvent(db.Model):
    """A provider event (Stripe's or the offline provider's), keyed by its id: a repeat is a no-op."""

    __tablename__ = "billing_events"
    __table_args__ = (Index("ix_billing_events_received_at", "received_at"),)

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # evt_...
    provider: Mapped[str] = mapped_column(String(12), nullable=False)  # stripe | offline
    type: Mapped[str] = mapped_column(String(80), nullable=False)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class OfflineCheckoutSession(TenantOwned, db.Model):
    """A checkout the offline provider shows on a local page, shaped like Stripe's Checkout Session."""

    __tablename__ = "offline_checkout_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # cs_offline_...
    mode: Mapped[str] = mapped_column(String(12), nullable=False)  # payment | subscription
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="open")  # open | complete | expired
    payment_status: Mapped[str] = mapped_column(String(12), nullable=False, default="unpaid")  # unpaid | paid
    amount_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # minor units, like Stripe
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="usd")
    description: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    customer_email: Mapped[str | None] = mapped_column(String(254))
    payment_intent_id: Mapped[str | None] = mapped_column(String(64))  # pi_offline_...
    # Stripe's metadata: {"kind": "procurement", "tenant_id": ..., "procurement_id": ...}
    # (subscriptions add plan/interval), and line items as shown on the page.
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, nullable=False, default=dict)
    line_items: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    success_url: Mapped[str] = mapped_column(Text, nullable=False)
    cancel_url: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# -- subscriptions (issue 5) ------------------------------------------------------------------

SUBSCRIPTION_STATES = ("trialing", "active", "past_due", "canceled", "incomplete", "incomplete_expired", "unpaid")
INTERVALS = ("month", "year")
INVOICE_STATUSES = ("draft", "open", "paid", "void", "uncollectible")


class BillingSubscription(IdMixin, TenantOwned, TimestampMixin, db.Model):
    """The tenant's subscription as the provider reports it (re-read from the provider object on every event)."""

    __tablename__ = "billing_subscriptions"
    __table_args__ = (
        UniqueConstraint("provider_subscription_id", name="uq_billing_subscriptions_provider_subscription_id"),
        Index("ix_billing_subscriptions_tenant_id_created_at", "tenant_id", "created_at"),
    )

    provider: Mapped[str] = mapped_column(String(12), nullable=False)  # stripe | offline
    provider_customer_id: Mapped[str] = mapped_column(String(255), nullable=False)
    provider_subscription_id: Mapped[str] = mapped_column(String(255), nullable=False)
    plan: Mapped[str] = mapped_column(String(20), nullable=False)
    interval: Mapped[str] = mapped_column(String(5), nullable=False, default="month")
    price_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), nullable=False)  # Stripe's subscription status
    # The seat add-on item's quantity: seats bought beyond the plan's included ones (the workspace
    # price itself is one item of quantity 1; plans.price_quote prices both).
    extra_seats: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # Offline provider only (Stripe keeps the customer's balance itself): credit in minor units from a
    # change that credited more than it charged, taken off the next invoices.
    credit_balance: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    current_period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    trial_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_payment_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    past_due_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The provider object's `created`/event time we last applied: an older event never overwrites a newer one.
    provider_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Invoice(IdMixin, TenantOwned, TimestampMixin, db.Model):
    """A mirror of the provider's invoice (Stripe's, or one the offline provider issues)."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("provider_invoice_id", name="uq_invoices_provider_invoice_id"),
        Index("ix_invoices_tenant_id_created_at", "tenant_id", "created_at"),
    )

    provider: Mapped[str] = mapped_column(String(12), nullable=False)
    provider_invoice_id: Mapped[str] = mapped_column(String(255), nullable=False)
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("billing_subscriptions.id", ondelete="SET NULL")
    )
    number: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # draft | open | paid | void | uncollectible
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="usd")
    # Amounts in minor units (cents), exactly as the provider sends them.
    subtotal: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tax: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    amount_paid: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    amount_due: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    attempt_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_payment_attempt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hosted_invoice_url: Mapped[str | None] = mapped_column(Text)
    invoice_pdf_url: Mapped[str | None] = mapped_column(Text)  # Stripe's PDF; offline invoices are rendered here
    # [{"description", "quantity", "amount" (minor units), "kind": "subscription"|"commission", "ref"}]
    lines: Mapped[list] = mapped_column(JSON, nullable=False, default=list)


class UsageRollup(IdMixin, TenantOwned, db.Model):
    """A metered count for one period (YYYY-MM or YYYY-MM-DD), rolled up from the live counters."""

    __tablename__ = "usage_rollups"
    __table_args__ = (
        UniqueConstraint("tenant_id", "metric", "period", name="uq_usage_rollups_tenant_id_metric_period"),
    )

    metric: Mapped[str] = mapped_column(String(40), nullable=False)  # a plans.LIMIT_NAMES entry
    period: Mapped[str] = mapped_column(String(10), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)


class BillingNotice(IdMixin, TenantOwned, db.Model):
    """An email sent once per key: trial reminders, dunning steps, limit thresholds (80/90/100 %)."""

    __tablename__ = "billing_notices"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "key", name="uq_billing_notices_tenant_id_kind_key"),)

    kind: Mapped[str] = mapped_column(String(30), nullable=False)  # trial_reminder | dunning | limit
    key: Mapped[str] = mapped_column(String(80), nullable=False)  # e.g. "7d", "attempt-2", "configurations:2026-11:80"
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
