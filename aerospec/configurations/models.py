"""Configurations (a fluid + spray targets + the ranked result), their versions and shares."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aerospec.accounts.models import User
from aerospec.extensions import db
from aerospec.models import IdMixin, TenantOwned, TimestampMixin, UTCDateTime

STATUSES = ("draft", "complete", "ordered", "testing")


class Configuration(IdMixin, TenantOwned, TimestampMixin, db.Model):
    """Column names follow the seed's API fields (fluid_viscosity_cP, ...)."""

    __tablename__ = "configurations"
    __table_args__ = (
        Index("ix_configurations_tenant_id_updated_at", "tenant_id", "updated_at"),
        Index("ix_configurations_tenant_id_status", "tenant_id", "status"),
        Index("ix_configurations_tenant_id_created_by_id", "tenant_id", "created_by_id"),
        # The list's other sort orders and the monthly quota count lead with the tenant too.
        Index("ix_configurations_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_configurations_tenant_id_name", "tenant_id", "name"),
    )

    name: Mapped[str] = mapped_column(String(160), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    fluid_name: Mapped[str | None] = mapped_column(String(120))
    fluid_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # library or tenant fluid it came from
    fluid_viscosity_cP: Mapped[float] = mapped_column(Float, nullable=False)  # noqa: N815 - seed's name
    fluid_density_kg_m3: Mapped[float] = mapped_column(Float, nullable=False)
    fluid_surface_tension_mN_m: Mapped[float] = mapped_column(Float, nullable=False)  # noqa: N815
    fluid_flash_point_C: Mapped[float | None] = mapped_column(Float)  # noqa: N815
    fluid_vapour_pressure_kPa: Mapped[float | None] = mapped_column(Float)  # noqa: N815
    fluid_liquefied_propellant: Mapped[bool] = mapped_column(default=False, nullable=False)
    target_spray_cone_deg: Mapped[float | None] = mapped_column(Float)
    target_spray_cone_tol_deg: Mapped[float | None] = mapped_column(Float)
    target_droplet_size_um: Mapped[float | None] = mapped_column(Float)
    target_droplet_size_tol_um: Mapped[float | None] = mapped_column(Float)
    target_flow_rate_ml_min: Mapped[float | None] = mapped_column(Float)
    target_flow_rate_tol_ml_min: Mapped[float | None] = mapped_column(Float)
    max_pressure_bar: Mapped[float] = mapped_column(Float, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="draft")
    tags: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    # [{"sku": ..., "supplier": ..., "score": ..., "flow_ml_min": ..., ...}, ...] best first
    compatible_actuators: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_by: Mapped[User | None] = relationship()


class ConfigurationVersion(IdMixin, TenantOwned, db.Model):
    """A snapshot of a configuration after a change, with the JSON diff from the previous one."""

    __tablename__ = "configuration_versions"
    __table_args__ = (
        UniqueConstraint("configuration_id", "version", name="uq_configuration_versions_configuration_id"),
        Index("ix_configuration_versions_tenant_id_configuration_id", "tenant_id", "configuration_id"),
    )

    configuration_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("configurations.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False)
    diff: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    created_by: Mapped[User | None] = relationship()


class ConfigurationShare(IdMixin, TenantOwned, db.Model):
    """A configuration shared with a team member, to view or to edit."""

    __tablename__ = "configuration_shares"
    __table_args__ = (
        UniqueConstraint("configuration_id", "user_id", name="uq_configuration_shares_configuration_id"),
        Index("ix_configuration_shares_tenant_id_user_id", "tenant_id", "user_id"),
    )

    configuration_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("configurations.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    permission: Mapped[str] = mapped_column(String(4), nullable=False)  # view | edit
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    user: Mapped[User] = relationship()
