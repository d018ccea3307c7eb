"""The declarative base and the mixins every model builds on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, MetaData, TypeDecorator, Uuid, select
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now in UTC (all timestamps are stored in UTC)."""
    return datetime.now(UTC)


def isoformat(value) -> str | None:
    """A datetime or date as ISO 8601 for JSON, None staying None."""
    return value.isoformat() if value is not None else None


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001 - SQLAlchemy hook
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use aerospec.models.utcnow()")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):  # noqa: ANN001
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class TenantOwned:
    """Marks a model whose rows belong to one tenant.

    The ORM guard (aerospec.tenancy.scoping) filters every select of such a model by
    the tenant in context, and on PostgreSQL a row-level-security policy does too.
    The index on tenant_id leads every tenant-scoped lookup.
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805 - declared_attr takes the class
        return mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)


def get_owned(session, model: type[TenantOwned], tenant, object_id, missing: str):
    """A service's lookup of one of `tenant`'s rows by id: NotFound (with `missing` as its words) for a malformed
    id, a missing row or another tenant's row alike. Views use tenancy.context.get_for_tenant_or_404."""
    from aerospec.errors import NotFound

    try:
        key = object_id if isinstance(object_id, uuid.UUID) else uuid.UUID(str(object_id))
    except ValueError as exc:
        raise NotFound(missing) from exc
    row = session.scalar(select(model).where(model.id == key, model.tenant_id == tenant.id))
    if row is None:
        raise NotFound(missing)
    return row
