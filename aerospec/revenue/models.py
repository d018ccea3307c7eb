"""The MRR ledger: one row per change of a workspace's monthly recurring revenue.

Rows are written when a provider event (Stripe's, or the offline provider's cycle) changes what a
workspace pays per month, with the event's own time, so history is what happened and is never
recomputed from today's state. A row is tenant-owned (row-level security on PostgreSQL); platform
admins read across tenants through an explicit `unscoped` bypass.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from aerospec.extensions import db
from aerospec.models import IdMixin, TenantOwned, UTCDateTime, utcnow

# new: first recurring amount; reactivation: back from zero after churning; expansion/contraction: up/down;
# churn: down to zero (canceled, or no longer paying).
KINDS = ("new", "expansion", "contraction", "churn", "reactivation")
SOURCES = ("stripe", "offline", "backfill", "seed")


class MrrLedgerEntry(IdMixin, TenantOwned, db.Model):
    """A change of one workspace's MRR (minor units, USD), when it happened and what caused it."""

    __tablename__ = "mrr_ledger"
    __table_args__ = (
        # SECURITY/idempotency: one row per event per workspace; a redelivered or replayed event adds nothing.
        UniqueConstraint("tenant_id", "event_id", name="uq_mrr_ledger_tenant_id_event_id"),
        Index("ix_mrr_ledger_month_kind", "month", "kind"),
        Index("ix_mrr_ledger_tenant_id_effective_at", "tenant_id", "effective_at"),
        Index("ix_mrr_ledger_cohort_month", "cohort", "month"),
    )

    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("billing_subscriptions.id", ondelete="SET NULL")
    )
    event_id: Mapped[str] = mapped_column(String(255), nullable=False)  # evt_… or backfill:/seed: keys
    source: Mapped[str] = mapped_column(String(10), nullable=False)  # stripe | offline | backfill | seed
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    month: Mapped[str] = mapped_column(String(7), nullable=False)  # effective_at's UTC month, YYYY-MM
    # The workspace's sign-up month (YYYY-MM): the cohort, kept on the row so cohort tables are one aggregate.
    cohort: Mapped[str] = mapped_column(String(7), nullable=False)
    plan: Mapped[str] = mapped_column(String(20), nullable=False)  # the plan after the change (before, for churn)
    interval: Mapped[str] = mapped_column(String(5), nullable=False)  # month | year
    # What the amount before was on (None for new and reactivation): MRR by plan or interval at any month is
    # then sum(mrr_after by plan) - sum(mrr_before by plan_before), an aggregate over the rows.
    plan_before: Mapped[str | None] = mapped_column(String(20))
    interval_before: Mapped[str | None] = mapped_column(String(5))
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="usd")
    mrr_before: Mapped[int] = mapped_column(Integer, nullable=False)  # minor units a month
    mrr_after: Mapped[int] = mapped_column(Integer, nullable=False)
    delta: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class RevenueDayRollup(db.Model):
    """One closed UTC day's product and procurement figures, counted once after the day ended (a maintained
    summary: the dashboard reads these instead of scanning every session and order again).

    Platform-wide totals, not any tenant's rows. Written by the hourly job `jobs.revenue.roll_up_revenue_days`
    and by the seeded history; a day not rolled up yet is counted live from the source tables.
    """

    __tablename__ = "revenue_day_rollups"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD (UTC)
    active_users: Mapped[int] = mapped_column(Integer, nullable=False)
    # {"<supplier>|<currency>": [paid orders, order value, commissions]} with money as decimal strings
    orders: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
