"""Users (global), their login sessions and API refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aerospec.extensions import db
from aerospec.models import IdMixin, TenantOwned, TimestampMixin, UTCDateTime, utcnow


class User(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # flask-login protocol; the id it stores is the login session's, not the user's,
    # so revoking a session also invalidates its remember-me cookie.
    is_authenticated = True
    is_active = True
    is_anonymous = False
    # Set per request by the user loader; not a column.
    login_session_id = None

    def get_id(self) -> str:
        return str(self.login_session_id)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class UserSession(IdMixin, db.Model):
    """One login: browser or API; ended when the user logs out or revokes it."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_user_id_started_at", "user_id", "started_at"),
        # Who was active lately (the revenue dashboard's WAU and 30-day actives): a range on last activity.
        Index("ix_sessions_last_activity_at", "last_activity_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), default="web", nullable=False)  # web | api
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    remember: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(40))

    user: Mapped[User] = relationship(lazy="joined")

    @property
    def active(self) -> bool:
        return self.ended_at is None


class RefreshToken(IdMixin, TenantOwned, db.Model):
    """An API refresh token (stored as a hash); rotation links each to its successor.

    Tenant-owned (ORM guard and row-level security): its exchange reads it in the tenant its signed
    token names, and revoking a user's sessions crosses tenants through an explicit, logged bypass.
    """

    __tablename__ = "refresh_tokens"

    session_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
