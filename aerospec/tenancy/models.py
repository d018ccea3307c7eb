"""Tenants, memberships (a user's role in a tenant) and invitations."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aerospec.accounts.models import User
from aerospec.extensions import db
from aerospec.models import IdMixin, TenantOwned, TimestampMixin, UTCDateTime

ROLES = ("admin", "user", "viewer")
SUBSCRIPTION_STATUSES = ("trialing", "active", "past_due", "read_only", "expired", "suspended", "canceled")


class Tenant(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "tenants"
    # The platform console's filters and sort (aerospec.admin.services.list_workspaces).
    __table_args__ = (
        Index("ix_tenants_plan_name", "plan", "name"),
        Index("ix_tenants_subscription_status_name", "subscription_status", "name"),
        Index("ix_tenants_trial_ends_at", "trial_ends_at"),
        Index("ix_tenants_created_at", "created_at"),
        Index("ix_tenants_name", "name"),
    )

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    slug: Mapped[str] = mapped_column(String(63), unique=True, nullable=False)
    plan: Mapped[str] = mapped_column(String(20), nullable=False, default="professional")
    subscription_status: Mapped[str] = mapped_column(String(20), nullable=False, default="trialing")
    trial_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    billing_email: Mapped[str] = mapped_column(String(254), nullable=False)
    # One payment-provider customer per tenant (not per user): cus_... at Stripe, cus_offline_... offline.
    billing_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Per-tenant overrides over the plan's defaults (set by a platform admin).
    limits: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    features: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # Seats bought beyond the plan's included ones (mirrored from the subscription's seat add-on, as
    # `plan` is from its price): the seat limit is the included seats plus these.
    extra_seats: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Suspended by a platform admin (apart from billing's own suspension, which paying lifts): while set,
    # the workspace has "suspended" access whatever its subscription says; reactivation clears it.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    suspended_reason: Mapped[str | None] = mapped_column(String(500))
    # "API access: user if enabled" in the permission matrix: an admin switches it on.
    api_enabled_for_users: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # "Share our lab results to improve the shared model" (settings page; on by default). Off: the shared
    # correction model never reads this workspace's results; its own layer still learns from them.
    share_lab_results: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class Membership(IdMixin, TenantOwned, TimestampMixin, db.Model):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", name="uq_memberships_tenant_id_user_id"),
        Index("ix_memberships_user_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(String(10), nullable=False)

    user: Mapped[User] = relationship(lazy="joined")
    tenant: Mapped[Tenant] = relationship(lazy="joined")


class Invitation(IdMixin, TenantOwned, TimestampMixin, db.Model):
    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_tenant_id_email", "tenant_id", "email"),)

    email: Mapped[str] = mapped_column(String(254), nullable=False)
    role: Mapped[str] = mapped_column(String(10), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    send_count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tenant: Mapped[Tenant] = relationship(lazy="joined")
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    @property
    def status(self) -> str:
        from aerospec.models import utcnow

        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= utcnow():
            return "expired"
        return "pending"
