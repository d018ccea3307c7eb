"""A small history built by hand (five workspaces, January to mid-April 2026), written through the ledger's
own writer, and a signed-in platform admin. The arithmetic it should give is written out in test_metrics.py."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from aerospec.revenue import ledger
from aerospec.tenancy.scoping import tenant_scope

NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, 0, tzinfo=UTC)


# (workspace, signed up, [(when, plan, interval, extra seats or None for "not paying")])
HISTORY = {
    "a": (at(1, 5), [(at(1, 19), "starter", "month", 0), (at(2, 10), "professional", "month", 0), (at(3, 20), None)]),
    "b": (at(1, 10), [(at(1, 24), "professional", "year", 0), (at(3, 5), "professional", "year", 2)]),
    "c": (at(1, 20), []),  # a trial that lapsed
    "d": (at(2, 3), [(at(2, 17), "professional", "month", 1), (at(3, 12), "professional", "month", 0)]),
    "e": (at(2, 8), [(at(2, 22), "starter", "month", 0), (at(3, 1), None), (at(4, 2), "starter", "month", 0)]),
}


@pytest.fixture
def history(db, factories):
    """The five workspaces of HISTORY, with their ledger rows; returns their tenants by letter."""
    tenants = {}
    for key, (signed_up, changes) in HISTORY.items():
        status = "expired" if not changes else "active" if changes[-1][1] else "canceled"
        tenant = factories.TenantFactory(
            name=f"Workspace {key.upper()}", slug=f"hand-{key}", created_at=signed_up, subscription_status=status
        )
        tenants[key] = tenant
        with tenant_scope(db.session, tenant.id):
            for n, change in enumerate(changes):
                when, plan = change[0], change[1]
                if plan is None:
                    after, plan, interval = 0, "starter", "month"
                else:
                    interval, seats = change[2], change[3]
                    after = ledger.subscription_mrr(plan, interval, seats, "active")
                ledger.record(
                    db.session,
                    tenant.id,
                    after=after,
                    plan=plan,
                    interval=interval,
                    at=when,
                    event_id=f"evt_hand_{key}_{n}",
                    source="stripe",
                )
    db.session.commit()
    return SimpleNamespace(**tenants)


@pytest.fixture
def platform_admin(factories, login, db):
    """A signed-in platform admin (the test client is theirs)."""
    user = factories.UserFactory(is_platform_admin=True)
    db.session.commit()
    login(user)
    return user
