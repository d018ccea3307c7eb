"""A workspace's webhook endpoints, the deliveries of events to them and every attempt made."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aerospec.extensions import db
from aerospec.models import IdMixin, TenantOwned, TimestampMixin, UTCDateTime, utcnow

DELIVERY_STATUSES = ("pending", "retrying", "succeeded", "failed")
TRIGGERS = ("automatic", "replay", "test")


class WebhookEndpoint(IdMixin, TenantOwned, TimestampMixin, db.Model):
    """A URL the workspace's events are sent to, signed with its secret.

    During a rotation `previous_secret` signs too, until `previous_secret_expires_at`.
    `consecutive_failures` counts failed attempts since the last success (`failing_since`: the
    first of them); past the configured run the endpoint is disabled and its admins are emailed.
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_tenant_id_created_at", "tenant_id", "created_at"),)

    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    event_types: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    # SECURITY: the signing secret must be readable to sign, and admins may see it; never logged.
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))


class WebhookDelivery(IdMixin, TenantOwned, TimestampMixin, db.Model):
    """One event for one endpoint: the exact body sent, and where its attempts stand.

    `message_id` is the `webhook-id` header: the same on every attempt and on a replay, so a
    receiver can tell a repeat from a new event. A replay is a delivery of its own (`replay_of_id`).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_tenant_id_endpoint_id_created_at", "tenant_id", "endpoint_id", "created_at"),
        # The sweep's look-up of due deliveries across workspaces.
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    event_type: Mapped[str] = mapped_column(String(60), nullable=False)
    message_id: Mapped[str] = mapped_column(String(40), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)  # the JSON body, byte for byte as signed
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")  # DELIVERY_STATUSES
    trigger: Mapped[str] = mapped_column(String(12), nullable=False, default="automatic")  # TRIGGERS
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replay_of_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("webhook_deliveries.id", ondelete="SET NULL")
    )

    endpoint: Mapped[WebhookEndpoint] = relationship()


class WebhookAttempt(IdMixin, TenantOwned, db.Model):
    """One HTTP request of a delivery: what came back (or why nothing did), and how long it took."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_tenant_id_endpoint_id_created_at", "tenant_id", "endpoint_id", "created_at"),
        Index("ix_webhook_attempts_tenant_id_delivery_id", "tenant_id", "delivery_id"),
    )

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
    )
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)  # 1 for the first attempt of its delivery
    status_code: Mapped[int | None] = mapped_column(Integer)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    response_excerpt: Mapped[str | None] = mapped_column(Text)  # the answer's first bytes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    delivery: Mapped[WebhookDelivery] = relationship()
