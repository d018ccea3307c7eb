"""SQL statements per page request: a fixed budget, whatever the number of rows or creators.

The signed-in user, their login session, the tenant and the membership (and the switcher's
workspaces) come in one statement; the dashboard adds one, the configurations list three
(the page of rows with its total and creators, the tags in use, the members). A statement
per row would grow with the rows below; the budget would catch it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event, insert

from aerospec.configurations.models import Configuration
from aerospec.models import utcnow
from aerospec.tenancy.scoping import tenant_scope

HARNESS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@pytest.fixture
def statements(app, db):
    """A list filled with every statement sent to the database while a test runs."""
    seen: list[str] = []
    connection = db._app_engines[app][None]  # the db fixture's one connection

    def record(conn, cursor, statement, params, context, executemany):
        if not statement.lstrip().upper().startswith(HARNESS):  # the test's savepoints, not the app's
            seen.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    yield seen
    event.remove(connection, "before_cursor_execute", record)


def _seed(db, factories, tenant, rows: int, creators: int) -> None:
    users = [factories.member(tenant, "user") for _ in range(creators)]
    now = utcnow()
    with tenant_scope(db.session, tenant.id):
        db.session.execute(
            insert(Configuration),
            [
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant.id,
                    "name": f"Cleaner {i:03d}",
                    "fluid_name": "Water",
                    "fluid_viscosity_cP": 1.0,
                    "fluid_density_kg_m3": 997.0,
                    "fluid_surface_tension_mN_m": 72.0,
                    "max_pressure_bar": 5.0,
                    "target_spray_cone_deg": 60.0,
                    "status": "draft",
                    "tags": ["budget", f"t{i % 7}"],
                    "compatible_actuators": [],
                    "version": 1,
                    "created_by_id": users[i % creators].id,
                    "fluid_liquefied_propellant": False,
                    "created_at": now - timedelta(minutes=i),
                    "updated_at": now - timedelta(minutes=i),
                }
                for i in range(rows)
            ],  # fmt: skip
        )
    db.session.commit()


def _count(client, statements, url: str) -> tuple[int, int]:
    """(data statements, row-level-security context calls) of one GET, after a warm-up GET."""
    assert client.get(url).status_code == 200
    statements.clear()
    response = client.get(url)
    assert response.status_code == 200
    context = sum("set_config(" in s for s in statements)
    return len(statements) - context, context


@pytest.mark.parametrize("rows,creators", [(5, 5), (50, 25)])
def test_dashboard_and_list_stay_within_four_statements(
    client, db, factories, team, login, tenant_url, statements, rows, creators
):
    ns = team()
    _seed(db, factories, ns.tenant, rows, creators)
    login(ns.admin)

    dashboard, dashboard_context = _count(client, statements, tenant_url(ns.tenant))
    listing, listing_context = _count(client, statements, tenant_url(ns.tenant, f"configurations?per_page={rows}"))

    assert dashboard <= 2, f"dashboard: {dashboard} statements"
    assert listing <= 4, f"configurations list: {listing} statements"
    if db.engine.dialect.name == "postgresql":
        # The tenant context reaches PostgreSQL once for the login lookup and once for the tenant.
        assert dashboard_context <= 2 and listing_context <= 2, (dashboard_context, listing_context)
    else:
        assert dashboard_context == listing_context == 0


def test_the_list_costs_the_same_statements_for_5_and_50_rows(
    client, db, factories, team, login, tenant_url, statements
):
    ns = team()
    login(ns.admin)
    counts = []
    for rows, creators in ((5, 5), (45, 20)):  # 5, then 50 rows by 3 + 25 members in all
        _seed(db, factories, ns.tenant, rows, creators)
        counts.append(_count(client, statements, tenant_url(ns.tenant, "configurations?per_page=50")))
    assert counts[0] == counts[1], counts
