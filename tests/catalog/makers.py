"""Rows for catalog tests (and the tenancy sweeps): a tenant's fluid, a catalog actuator."""

from __future__ import annotations

from decimal import Decimal
from itertools import count

from aerospec.catalog.models import Actuator, TenantActuator, TenantFluid
from aerospec.extensions import db
from aerospec.tenancy.scoping import tenant_scope

_n = count()


def tenant_fluid(tenant, created_by=None, **kwargs) -> TenantFluid:
    """A custom fluid of `tenant` (flushed)."""
    values = {
        "name": f"Test fluid {next(_n)}",
        "category": "other",
        "viscosity_cp": 1.5,
        "density_kg_m3": 1010.0,
        "surface_tension_mn_m": 45.0,
        "sources": {"viscosity_cp": "entered by the user"},
    }
    values.update(kwargs)
    with tenant_scope(db.session, tenant.id):
        fluid = TenantFluid(tenant_id=tenant.id, created_by_id=getattr(created_by, "id", None), **values)
        db.session.add(fluid)
        db.session.flush()
    return fluid


def actuator(**kwargs) -> Actuator:
    """One catalog actuator (global, not tenant-owned; flushed)."""
    n = next(_n)
    values = {
        "supplier": "spencer",
        "sku": f"SP-TEST-{n:05d}",
        "name": f"Test nozzle {n}",
        "spray_type": "hollow_cone",
        "orifice_mm": 0.4,
        "swirl_chamber_mm": 1.2,
        "inlet_area_mm2": 0.24,
        "max_pressure_bar": 10.0,
        "min_viscosity_cp": 0.3,
        "max_viscosity_cp": 20.0,
        "body_material": "PP",
        "seal_material": "none",
        "unit_price": Decimal("0.1200"),
        "currency": "USD",
        "stock": 100,
        "lead_time_days": 5,
        "is_sample_data": True,
    }
    values.update(kwargs)
    row = Actuator(**values)
    db.session.add(row)
    db.session.flush()
    return row


def own_actuator(tenant, created_by=None, **kwargs) -> TenantActuator:
    """One of `tenant`'s own actuators (flushed)."""
    n = next(_n)
    values = {
        "sku": f"OWN-{n:05d}",
        "name": f"In-house insert {n}",
        "maker": "in-house",
        "spray_type": "hollow_cone",
        "orifice_mm": 0.3,
        "swirl_chamber_mm": 1.0,
        "inlet_area_mm2": 0.1,
        "max_pressure_bar": 10.0,
        "min_viscosity_cp": 0.3,
        "max_viscosity_cp": 50.0,
        "body_material": "POM",
        "seal_material": "none",
        "currency": "USD",
    }
    values.update(kwargs)
    with tenant_scope(db.session, tenant.id):
        row = TenantActuator(tenant_id=tenant.id, created_by_id=getattr(created_by, "id", None), **values)
        db.session.add(row)
        db.session.flush()
    return row
