"""Fixtures for analytics tests: a team with a saved configuration and lab results recorded through the service
(so each carries the prediction the engine really made), spread over months."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from aerospec.feedback import services as feedback
from aerospec.feedback.models import Feedback
from aerospec.tenancy.models import Membership
from aerospec.tenancy.scoping import tenant_scope
from tests.configurations.conftest import bearer as bearer  # noqa: F401 - fixtures, shared
from tests.configurations.conftest import make_config as make_config  # noqa: F401
from tests.configurations.conftest import seeded_catalog as seeded_catalog  # noqa: F401
from tests.configurations.conftest import team as team  # noqa: F401
from tests.configurations.conftest import tokens as tokens  # noqa: F401

PRESSURE = 3.0


def membership(db, tenant, user) -> Membership:
    return db.session.scalar(select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == user.id))


@pytest.fixture
def record(db):
    """record(ns, flow, cone, dv50, at=datetime) → the columns of a committed lab result whose measured values
    are the stored prediction × the factors (a factor None leaves that quantity unmeasured)."""

    def _record(ns, flow=None, cone=None, dv50=None, *, at: datetime | None = None, sku: str | None = None):
        sku = sku or ns.sku
        with tenant_scope(db.session, ns.tenant.id):
            config = ns.config
            entry = next(e for e in config.compatible_actuators if e["sku"] == sku)
            predicted = feedback.predict_for(db.session, config, entry["supplier"], sku, PRESSURE)
            data = {"configuration_id": config.id, "actuator_sku": sku, "pressure_bar": PRESSURE}
            if flow is not None:
                data["flow_rate_actual_ml_min"] = round(predicted["flow_ml_min"] * flow, 3)
            if cone is not None:
                data["spray_cone_angle_actual"] = round(predicted["cone_deg"] * cone, 3)
            if dv50 is not None:
                data["dv50_um"] = round(predicted["dv50_um"] * dv50, 3)
                data["measurement_method"] = "laser_diffraction"
            row = feedback.record_feedback(db.session, ns.tenant, membership(db, ns.tenant, ns.user), data)
            if at is not None:
                row.created_at = at
            db.session.commit()
            db.session.refresh(row)
            # A snapshot of the row's columns: a later request's commit expires the row, and on PostgreSQL
            # row-level security hides it from a reload outside its tenant's context.
            return SimpleNamespace(**{c.key: getattr(row, c.key) for c in Feedback.__table__.columns})

    return _record


@pytest.fixture
def lab(team, make_config, seeded_catalog, db):
    """lab() → a team with a saved configuration (ns.config, ns.sku: its best-ranked SKU)."""

    def _lab(**tenant_kwargs):
        ns = team(**tenant_kwargs)
        ns.config = make_config(ns.tenant, ns.user)
        ns.sku = ns.config.compatible_actuators[0]["sku"]
        ns.supplier = ns.config.compatible_actuators[0]["supplier"]
        return ns

    return _lab


def month(year: int, m: int, day: int = 10) -> datetime:
    return datetime(year, m, day, 12, 0, tzinfo=UTC)
