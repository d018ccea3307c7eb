"""The tenant context never outlives its request on a pooled PostgreSQL connection.

`scoping` sends the context lazily and remembers on the connection what its transaction last
received. Here the app has a pool of exactly one connection, so every request below reuses the
same one: a page of tenant A, then a page of tenant B, then a bare checkout with no tenant must
each see only what their own context allows, and the remembered context must not let a request
skip sending its own.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import insert, text
from sqlalchemy.exc import OperationalError

from aerospec import create_app
from aerospec.extensions import db as _db
from aerospec.models import utcnow
from aerospec.tenancy.scoping import tenant_scope
from tests.conftest import PostgresDatabase, make_overrides, need
from tests.tenancy.test_rls import POSTGRES_ADMIN_URL


@pytest.fixture(scope="module")
def one_connection_app(tmp_path_factory):
    """An app on a fresh PostgreSQL database as a non-superuser role, with a pool of one connection."""
    database = PostgresDatabase(os.environ.get("TEST_POSTGRES_URL", POSTGRES_ADMIN_URL))
    try:
        url = database.create()
    except OperationalError as exc:
        database.admin.dispose()
        need(False, f"row-level security needs PostgreSQL ({type(exc).__name__})")
    app = create_app(
        make_overrides(
            url,
            tmp_path_factory.mktemp("pool-instance"),
            SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_pre_ping": True},
        )
    )
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()
    database.drop()


def _workspace(app, name: str) -> tuple[str, str, uuid.UUID]:
    """A workspace with one admin and one configuration called `name`; (slug, session cookie, tenant id)."""
    from aerospec.accounts import services as accounts
    from aerospec.accounts.models import User
    from aerospec.configurations.models import Configuration
    from aerospec.tenancy.models import Membership, Tenant
    from tests.factories import _HASH

    suffix = uuid.uuid4().hex[:8]
    with app.app_context():
        session = _db.session
        user = User(email=f"pool-{suffix}@example.com", name=f"Pool {name}", password_hash=_HASH)
        tenant = Tenant(
            name=f"Pool {name}", slug=f"pool-{suffix}", plan="professional", subscription_status="active",
            billing_email="billing@example.com", limits={}, features={},
        )  # fmt: skip
        session.add_all([user, tenant])
        session.flush()
        tenant_id, slug = tenant.id, tenant.slug
        with tenant_scope(session, tenant_id):
            session.add(Membership(tenant_id=tenant_id, user_id=user.id, role="admin"))
            session.flush()
            now = utcnow()
            session.execute(
                insert(Configuration),
                [
                    {
                        "id": uuid.uuid4(), "tenant_id": tenant_id, "name": name, "fluid_name": "Water",
                        "fluid_viscosity_cP": 1.0, "fluid_density_kg_m3": 997.0,
                        "fluid_surface_tension_mN_m": 72.0, "max_pressure_bar": 5.0, "status": "draft",
                        "tags": [], "compatible_actuators": [], "version": 1, "created_by_id": user.id,
                        "fluid_liquefied_propellant": False, "created_at": now - timedelta(minutes=1),
                        "updated_at": now - timedelta(minutes=1),
                    }
                ],
            )  # fmt: skip
        login = accounts.start_session(session, user, accounts.ClientInfo("127.0.0.1", "pool test"))
        session.commit()
        serializer = app.session_interface.get_signing_serializer(app)
        cookie = serializer.dumps({"_user_id": str(login.id), "_fresh": True})
        _db.session.remove()
    return slug, cookie, tenant_id


def _dbapi_connection_id(app) -> int:
    with app.app_context(), _db.engine.connect() as conn:
        return id(conn.connection.dbapi_connection)


def test_pages_of_two_tenants_on_one_pooled_connection_see_only_their_own(one_connection_app):
    app = one_connection_app
    a_slug, a_cookie, _ = _workspace(app, "Alpha only cleaner")
    b_slug, b_cookie, _ = _workspace(app, "Bravo only cleaner")
    connection = _dbapi_connection_id(app)

    for _ in range(2):  # A, B, A, B on the same connection: each request sends its own context
        for slug, cookie, mine, theirs in (
            (a_slug, a_cookie, "Alpha only cleaner", "Bravo only cleaner"),
            (b_slug, b_cookie, "Bravo only cleaner", "Alpha only cleaner"),
        ):
            client = app.test_client()
            client.set_cookie(app.config.get("SESSION_COOKIE_NAME", "session"), cookie)
            html = client.get(f"/t/{slug}/configurations").get_data(as_text=True)
            assert mine in html and "1 configuration, page 1 of 1." in html, slug
            assert theirs not in html, f"{slug} saw the other tenant's configuration"
            assert _dbapi_connection_id(app) == connection, "the pool opened a second connection"


def test_after_a_tenant_page_the_pooled_connection_carries_no_tenant(one_connection_app):
    app = one_connection_app
    slug, cookie, tenant_id = _workspace(app, "Charlie cleaner")
    client = app.test_client()
    client.set_cookie(app.config.get("SESSION_COOKIE_NAME", "session"), cookie)
    assert client.get(f"/t/{slug}/configurations").status_code == 200

    with app.app_context():
        # Two transactions in a row under the same tenant on the same connection: the second is sent
        # its context again (what the first received ended with it).
        for _ in range(2):
            with tenant_scope(_db.session, tenant_id):
                assert _db.session.execute(text("select count(*) from configurations")).scalar_one() == 1
            _db.session.commit()
        _db.session.remove()
        # The same connection, read below SQLAlchemy (no hook can set anything first): nothing of the
        # last context is left on it, and with nothing set it sees no rows.
        with _db.engine.connect() as conn:
            raw = conn.connection.dbapi_connection.cursor()
            raw.execute("select current_setting('app.tenant_id', true), current_setting('app.bypass_rls', true)")
            assert tuple(value or "" for value in raw.fetchone()) == ("", "")
            raw.execute("select count(*) from configurations")
            assert raw.fetchone()[0] == 0
            raw.execute("select count(*) from memberships")
            assert raw.fetchone()[0] == 0
            conn.connection.dbapi_connection.rollback()
        # The app's session with no tenant in context sees nothing, even through raw SQL.
        assert _db.session.execute(text("select count(*) from configurations")).scalar_one() == 0
        _db.session.remove()
