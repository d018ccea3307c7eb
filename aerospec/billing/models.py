"""Provider events (stored once per event id) and the offline provider's checkout sessions.

Both are global tables: an event or a checkout session is found by its provider id before
any tenant is known; the tenant is read from the object's metadata when it is processed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from aerospec.extensions import db
from aerospec.models import UTCDateTime, utcnow


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


class OfflineCheckoutSession(db.Model):
    """A checkout the offline provider shows on a local page, shaped like Stripe's Checkout Session."""

    __tablename__ = "offline_checkout_sessions"
    __table_args__ = (Index("ix_offline_checkout_sessions_tenant_id", "tenant_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # cs_offline_...
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
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
