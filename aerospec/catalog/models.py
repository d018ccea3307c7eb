"""Fluids (a global library and tenants' own), actuators (global catalog), SDS uploads."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from aerospec.extensions import db
from aerospec.models import IdMixin, TenantOwned, TimestampMixin, UTCDateTime


class FluidProperties:
    """The properties every fluid row carries, in SI-ish units named in the column."""

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    category: Mapped[str] = mapped_column(String(30), nullable=False, default="other")
    viscosity_cp: Mapped[float] = mapped_column(Float, nullable=False)
    density_kg_m3: Mapped[float] = mapped_column(Float, nullable=False)
    surface_tension_mn_m: Mapped[float] = mapped_column(Float, nullable=False)
    flash_point_c: Mapped[float | None] = mapped_column(Float)
    vapour_pressure_kpa: Mapped[float | None] = mapped_column(Float)
    boiling_point_c: Mapped[float | None] = mapped_column(Float)
    liquefied_propellant: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Per property: where the value comes from ({"viscosity_cp": "computed with thermo ...", ...}).
    sources: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)


class Fluid(IdMixin, FluidProperties, TimestampMixin, db.Model):
    """The global fluid library (seeded; read-only for tenants)."""

    __tablename__ = "fluids"
    __table_args__ = (UniqueConstraint("name", name="uq_fluids_name"),)


class TenantFluid(IdMixin, TenantOwned, FluidProperties, TimestampMixin, db.Model):
    """A tenant's own fluid (typed in, or confirmed from a safety data sheet)."""

    __tablename__ = "tenant_fluids"
    __table_args__ = (Index("ix_tenant_fluids_tenant_id_name", "tenant_id", "name"),)

    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    sds_document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("sds_documents.id", ondelete="SET NULL"))


class ActuatorAnchors:
    """Makers' data an actuator may carry (engine v2): every column optional, None = not known.

    A mixin, like FluidProperties, so a tenant's own actuators can carry the same columns.
    Values are checked by `aerospec.engine.anchors.check_anchors` wherever they come in;
    the names are those of `engine.types.Geometry`.
    """

    family: Mapped[str | None] = mapped_column(String(20))  # engine.types.FAMILIES
    rated_flow_ml_min: Mapped[float | None] = mapped_column(Float)
    rated_pressure_bar: Mapped[float | None] = mapped_column(Float)
    rated_density_kg_m3: Mapped[float | None] = mapped_column(Float)  # None: rated with water
    flow_number_ml_min_sqrtbar: Mapped[float | None] = mapped_column(Float)
    flow_exponent: Mapped[float | None] = mapped_column(Float)
    # [[pressure_bar, cone_deg], ...], pressures strictly increasing; None: no table.
    angle_table: Mapped[list | None] = mapped_column(JSON)
    full_cone_insert: Mapped[str | None] = mapped_column(String(10))  # engine.types.FULL_CONE_INSERTS
    orifice_nominal: Mapped[bool | None] = mapped_column(Boolean)
    stem_orifice_mm: Mapped[float | None] = mapped_column(Float)
    housing_orifice_mm: Mapped[float | None] = mapped_column(Float)
    vapour_tap_mm: Mapped[float | None] = mapped_column(Float)

    @property
    def angle_points(self) -> tuple[tuple[float, float], ...]:
        """The angle table as ((bar, °), ...), empty when there is none."""
        return tuple((float(p), float(a)) for p, a in (self.angle_table or ()))


class Actuator(IdMixin, ActuatorAnchors, TimestampMixin, db.Model):
    """One supplier SKU: geometry, ratings, materials, price and stock."""

    __tablename__ = "actuators"
    __table_args__ = (
        UniqueConstraint("supplier", "sku", name="uq_actuators_supplier_sku"),
        Index("ix_actuators_spray_type_orifice_mm", "spray_type", "orifice_mm"),
    )

    supplier: Mapped[str] = mapped_column(String(20), nullable=False)  # spencer | coster
    sku: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(160), nullable=False)
    spray_type: Mapped[str] = mapped_column(String(20), nullable=False)  # engine.types.SPRAY_TYPES
    orifice_mm: Mapped[float] = mapped_column(Float, nullable=False)
    swirl_chamber_mm: Mapped[float | None] = mapped_column(Float)
    inlet_area_mm2: Mapped[float | None] = mapped_column(Float)
    max_pressure_bar: Mapped[float] = mapped_column(Float, nullable=False)
    min_viscosity_cp: Mapped[float] = mapped_column(Float, nullable=False)
    max_viscosity_cp: Mapped[float] = mapped_column(Float, nullable=False)
    body_material: Mapped[str] = mapped_column(String(30), nullable=False)
    seal_material: Mapped[str] = mapped_column(String(30), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 4), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    stock: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lead_time_days: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_sample_data: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class SdsDocument(IdMixin, TenantOwned, TimestampMixin, db.Model):
    """An uploaded safety data sheet and what the parser extracted from it."""

    __tablename__ = "sds_documents"
    __table_args__ = (Index("ix_sds_documents_tenant_id_created_at", "tenant_id", "created_at"),)

    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="queued")  # queued|parsing|parsed|failed
    error: Mapped[str | None] = mapped_column(Text)
    # [{"property": "density_kg_m3", "value": 998.0, "unit": "kg/m³", "raw": "Density: 0,998 g/cm3"}, ...]
    extracted: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    product_name: Mapped[str | None] = mapped_column(String(200))


class TenantActuator(IdMixin, TenantOwned, ActuatorAnchors, TimestampMixin, db.Model):
    """A workspace's own actuator (an in-house insert, another maker's nozzle): ranked beside the catalog for that
    workspace only. Same geometry and anchor columns as a catalog SKU; no supplier, so nothing to quote or order."""

    __tablename__ = "tenant_actuators"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku", name="uq_tenant_actuators_tenant_id_sku"),
        Index("ix_tenant_actuators_tenant_id_import_token", "tenant_id", "import_token"),
    )

    sku: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(160), nullable=False)
    maker: Mapped[str | None] = mapped_column(String(80))  # "in-house", another maker's name; None: not said
    spray_type: Mapped[str] = mapped_column(String(20), nullable=False)  # engine.types.SPRAY_TYPES
    orifice_mm: Mapped[float] = mapped_column(Float, nullable=False)
    swirl_chamber_mm: Mapped[float | None] = mapped_column(Float)
    inlet_area_mm2: Mapped[float | None] = mapped_column(Float)
    max_pressure_bar: Mapped[float] = mapped_column(Float, nullable=False)
    min_viscosity_cp: Mapped[float] = mapped_column(Float, nullable=False)
    max_viscosity_cp: Mapped[float] = mapped_column(Float, nullable=False)
    body_material: Mapped[str] = mapped_column(String(30), nullable=False)
    seal_material: Mapped[str] = mapped_column(String(30), nullable=False)
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))  # None: no price known
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    # The CSV file a row came from (a hash of its text): the same file imported twice is refused.
    import_token: Mapped[str | None] = mapped_column(String(64))
