"""API keys: a workspace's long-lived credentials for machines, stored as a hash with a visible hint."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from aerospec.extensions import db
from aerospec.models import IdMixin, TenantOwned, TimestampMixin, UTCDateTime


class ApiKey(IdMixin, TenantOwned, TimestampMixin, db.Model):
    """One API key of a workspace: its name, scopes, expiry and use; never the key itself.

    `secret_hash` is the sha256 of the whole key (the key carries 192 random bits, so a plain hash is
    enough). `hint` is what people see of it (`sk_live_…3f9a`). A rotated key gets `expires_at` at the
    end of its grace period and `replaced_by_id`; a revoked one `revoked_at`.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        Index("ix_api_keys_tenant_id_secret_hash", "tenant_id", "secret_hash", unique=True),
        Index("ix_api_keys_tenant_id_created_at", "tenant_id", "created_at"),
    )

    name: Mapped[str] = mapped_column(String(80), nullable=False)
    mode: Mapped[str] = mapped_column(String(4), nullable=False)  # "live" or "test"
    hint: Mapped[str] = mapped_column(String(24), nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    scopes: Mapped[list] = mapped_column(JSON, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replaced_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("api_keys.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_ip: Mapped[str | None] = mapped_column(String(45))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
