"""Procurements (orders to a supplier), their line items, timeline events and commissions; sync runs.

Column names follow the seed's API fields (configuration_id, order_type, selected_supplier,
ship_to_address, status, supplier_order_id, ...). Money is Numeric and handled as Decimal
only; `currency` is the ISO code of every amount on the row.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aerospec.accounts.models import User
from aerospec.extensions import db
from aerospec.models import IdMixin, TenantOwned, TimestampMixin, UTCDateTime, utcnow

ORDER_TYPES = ("sample", "pilot", "production")
STATUSES = ("draft", "submitted", "confirmed", "shipped", "delivered", "failed", "cancelled")
# unpaid → pending (checkout open) → paid | failed (a new checkout may follow a failure).
PAYMENT_STATUSES = ("unpaid", "pending", "paid", "failed")
SUPPLIERS = ("spencer", "coster")


class Procurement(IdMixin, TenantOwned, TimestampMixin, db.Model):
    __tablename__ = "procurements"
    __table_args__ = (
        Index("ix_procurements_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_procurements_tenant_id_status", "tenant_id", "status"),
        Index("ix_procurements_tenant_id_configuration_id", "tenant_id", "configuration_id"),
        UniqueConstraint("idempotency_key", name="uq_procurements_idempotency_key"),
    )

    configuration_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("configurations.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    reference: Mapped[str] = mapped_column(String(20), nullable=False)  # "PO-7F3A2C91", shown to people
    order_type: Mapped[str] = mapped_column(String(12), nullable=False, default="sample")
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="draft")
    selected_supplier: Mapped[str | None] = mapped_column(String(20))  # spencer | coster
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    subtotal: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, default=Decimal("0"))
    discount_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4), nullable=False, default=Decimal("0"))
    discount: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, default=Decimal("0"))
    tax: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, default=Decimal("0"))
    shipping: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, default=Decimal("0"))
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    quote: Mapped[dict | None] = mapped_column(JSON)  # the chosen SupplierQuote.to_dict(), as quoted
    quoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What every supplier quoted when the order was created: one compare entry per supplier
    # (QuoteResult.to_dict() + "requested" items + "selected"), or its error. None on orders
    # created before it was kept.
    suppliers_quoted: Mapped[list | None] = mapped_column(JSON)
    # {"name", "company", "line1", "line2", "city", "region", "postal_code", "country" (ISO 2), "phone"}
    ship_to_address: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)

    # Supplier side. The idempotency key is fixed at creation and sent with every submit attempt.
    idempotency_key: Mapped[str] = mapped_column(String(64), nullable=False)
    supplier_order_id: Mapped[str | None] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    expected_delivery: Mapped[date | None] = mapped_column(Date)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure_reason: Mapped[str | None] = mapped_column(Text)
    submit_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_submit_error: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Payment (see procurement.payments for when it is required).
    payment_status: Mapped[str] = mapped_column(String(12), nullable=False, default="unpaid")
    payment_provider: Mapped[str | None] = mapped_column(String(12))  # stripe | offline
    checkout_session_id: Mapped[str | None] = mapped_column(String(255))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payment_error: Mapped[str | None] = mapped_column(Text)

    created_by: Mapped[User | None] = relationship()
    items: Mapped[list[ProcurementLineItem]] = relationship(
        back_populates="procurement", cascade="all, delete-orphan", order_by="ProcurementLineItem.position"
    )
    events: Mapped[list[ProcurementEvent]] = relationship(
        back_populates="procurement", cascade="all, delete-orphan", order_by="ProcurementEvent.created_at"
    )


class ProcurementLineItem(IdMixin, TenantOwned, db.Model):
    __tablename__ = "procurement_line_items"
    __table_args__ = (Index("ix_procurement_line_items_tenant_id_procurement_id", "tenant_id", "procurement_id"),)

    procurement_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("procurements.id", ondelete="CASCADE"), nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sku: Mapped[str] = mapped_column(String(40), nullable=False)
    description: Mapped[str | None] = mapped_column(String(200))
    qty: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    line_total: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, default=Decimal("0"))
    availability: Mapped[str | None] = mapped_column(String(12))
    lead_time_days: Mapped[int | None] = mapped_column(Integer)

    procurement: Mapped[Procurement] = relationship(back_populates="items")


class ProcurementEvent(IdMixin, TenantOwned, db.Model):
    """One line of an order's timeline: a status change, a payment, a submit attempt, a poll result."""

    __tablename__ = "procurement_events"
    __table_args__ = (
        Index("ix_procurement_events_tenant_id_procurement_id_created_at", "tenant_id", "procurement_id", "created_at"),
    )

    procurement_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("procurements.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(12), nullable=False)  # status | payment | submit | note
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    tone: Mapped[str | None] = mapped_column(String(12))  # success | danger | warning | info | neutral
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    procurement: Mapped[Procurement] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class ProcurementCommission(IdMixin, TenantOwned, db.Model):
    """AeroSpec's commission on a paid procurement, at the tenant's plan rate when it was paid."""

    __tablename__ = "procurement_commissions"
    __table_args__ = (
        UniqueConstraint("procurement_id", name="uq_procurement_commissions_procurement_id"),
        Index("ix_procurement_commissions_tenant_id_created_at", "tenant_id", "created_at"),
    )

    procurement_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("procurements.id", ondelete="CASCADE"), nullable=False
    )
    plan: Mapped[str] = mapped_column(String(20), nullable=False)
    rate: Mapped[Decimal] = mapped_column(Numeric(5, 4), nullable=False)
    base_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)  # the order total it was taken on
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    invoiced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # set by billing when it is invoiced
    invoice_id: Mapped[str | None] = mapped_column(String(255))

    procurement: Mapped[Procurement] = relationship()


class SupplierSyncRun(IdMixin, db.Model):
    """One run of the catalog sync (global: the catalog is shared by all tenants)."""

    __tablename__ = "supplier_sync_runs"
    __table_args__ = (Index("ix_supplier_sync_runs_started_at", "started_at"),)

    trigger: Mapped[str] = mapped_column(String(12), nullable=False, default="schedule")  # schedule | manual
    triggered_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="running")  # running|ok|partial|failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    skus_requested: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    skus_updated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    requests_made: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # {"spencer": {"status": "ok", "skus": 336, "updated": 336, "unknown": 0, "requests": 1,
    #              "seconds": 0.21, "error": null}, "coster": {...}}
    suppliers: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    errors: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
