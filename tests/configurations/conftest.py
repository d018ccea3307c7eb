"""Fixtures for configuration tests: a team, configurations made through the service, a seeded catalog."""

from __future__ import annotations

import pytest

from aerospec.configurations import services as configs
from aerospec.limits import counters
from aerospec.tenancy.scoping import tenant_scope
from tests.api.conftest import auth
from tests.api.conftest import tokens as tokens  # noqa: F401 - a fixture, shared

BASE = {
    "name": "Nasal pump",
    "fluid_name": "Water",
    "fluid_viscosity_cP": 1.0,
    "fluid_density_kg_m3": 997.0,
    "fluid_surface_tension_mN_m": 72.0,
    "target_spray_cone_deg": 60.0,
    "target_droplet_size_um": 50.0,
    "max_pressure_bar": 5.0,
}


@pytest.fixture
def team(team, db, factories):
    """team(**tenant_kwargs) → the shared team plus `other`, a second user (committed)."""

    def _team(**tenant_kwargs):
        ns = team(**tenant_kwargs)
        ns.other = factories.member(ns.tenant, "user")
        db.session.commit()
        return ns

    return _team


@pytest.fixture
def make_config(db):
    """make_config(tenant, user, **fields) → a committed configuration created through the service."""
    from sqlalchemy import select

    from aerospec.tenancy.models import Membership

    def _make(tenant, user, **fields):
        with tenant_scope(db.session, tenant.id):
            membership = db.session.scalar(
                select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == user.id)
            )
            config, _ = configs.create_configuration(
                db.session, tenant, membership, {**BASE, **fields}, counter=counters.DatabaseCounter()
            )
            db.session.commit()
            db.session.refresh(config)  # load while the tenant is in context (RLS on PostgreSQL)
            return config

    return _make


@pytest.fixture
def seeded_catalog(db):
    """The sample actuator catalog and fluid library (committed inside the test's transaction)."""
    from aerospec.catalog import services as catalog

    catalog.seed_actuators(db.session)
    catalog.seed_fluids(db.session)
    db.session.commit()


@pytest.fixture
def bearer(tokens):  # noqa: F811 - the fixture imported above
    """bearer(user, tenant=None) → the Authorization header of an API session for that member."""
    return lambda user, tenant=None: auth(tokens(user, tenant)["access_token"])
