"""The admin audit log (immutable) and impersonation sessions: platform-level rows, outside tenants."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Uuid, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from aerospec.accounts.models import User
from aerospec.extensions import db
from aerospec.models import IdMixin, UTCDateTime, utcnow


class AdminAuditLog(IdMixin, db.Model):
    """One platform-admin action: who, what, on which target, the before/after, when. Never changed."""

    __tablename__ = "admin_audit_logs"
    __table_args__ = (
        Index("ix_admin_audit_logs_created_at", "created_at"),
        Index("ix_admin_audit_logs_admin_id_created_at", "admin_id", "created_at"),
        Index("ix_admin_audit_logs_target", "target_type", "target_id", "created_at"),
        Index("ix_admin_audit_logs_action_created_at", "action", "created_at"),
    )

    admin_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    # Kept as written: the entry still names the admin after the account is gone.
    admin_email: Mapped[str] = mapped_column(String(254), nullable=False)
    action: Mapped[str] = mapped_column(String(60), nullable=False)
    target_type: Mapped[str] = mapped_column(String(40), nullable=False)
    target_id: Mapped[str | None] = mapped_column(String(64))
    # The workspace the action concerns (the detail page lists its entries); no FK: entries outlive it.
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    details: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    admin: Mapped[User | None] = relationship()


class ImmutableAuditEntry(RuntimeError):
    """An admin audit entry was about to be changed or deleted."""


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context, instances) -> None:
    """SECURITY: the ORM guard of admin_audit_logs (PostgreSQL also has a trigger): append-only."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AdminAuditLog) and (obj in session.deleted or session.is_modified(obj)):
            raise ImmutableAuditEntry("admin audit entries cannot be changed or deleted")


class Impersonation(IdMixin, db.Model):
    """A platform admin seeing the product as a user, for a limited time, read-only unless stated."""

    __tablename__ = "impersonations"
    __table_args__ = (Index("ix_impersonations_admin_id_started_at", "admin_id", "started_at"),)

    admin_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    write_access: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    write_reason: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(20))  # ended | expired | logged out | replaced

    admin: Mapped[User] = relationship(foreign_keys=[admin_id], lazy="joined")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")

    def active(self, now: datetime | None = None) -> bool:
        return self.ended_at is None and self.expires_at > (now or utcnow())
