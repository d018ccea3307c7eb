"""The database wall: PostgreSQL row-level security under the ORM guard."""

from __future__ import annotations

import os
import uuid

import pytest
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from aerospec import create_app
from aerospec.extensions import db as _db
from aerospec.models import Base, TenantOwned
from tests.conftest import PostgresDatabase, make_overrides, need

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def pg_app(app, tmp_path_factory):
    """An app on PostgreSQL as a non-superuser role: the suite's own, or a second one.

    When the suite runs on SQLite these tests still run against PostgreSQL if the
    machine has it (TEST_POSTGRES_URL, default the local server), so the SQLite pass
    in CI proves the database wall too.
    """
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        yield app
        return
    admin_url = os.environ.get("TEST_POSTGRES_URL", POSTGRES_ADMIN_URL)
    database = PostgresDatabase(admin_url)
    try:
        url = database.create()
    except OperationalError as exc:
        database.admin.dispose()
        need(False, f"row-level security needs PostgreSQL at {admin_url} ({type(exc).__name__})")
    second = create_app(make_overrides(url, tmp_path_factory.mktemp("pg-instance")))
    with second.app_context():
        upgrade()
    yield second
    with second.app_context():
        _db.engine.dispose()
    database.drop()


@pytest.fixture
def pg(pg_app):
    """A connection as the app role, in a transaction rolled back after the test."""
    with pg_app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()
            connection.close()


def _as_tenant(conn, tenant_id) -> None:
    conn.execute(
        text("select set_config('app.tenant_id', :t, true), set_config('app.bypass_rls', '', true)"),
        {"t": str(tenant_id) if tenant_id else ""},
    )


def _insert_user(conn) -> uuid.UUID:
    user_id = uuid.uuid4()
    conn.execute(
        text(
            "insert into users (id, email, name, password_hash, is_platform_admin, password_changed_at, "
            "created_at, updated_at) values (:id, :email, 'RLS test', 'x', false, now(), now(), now())"
        ),
        {"id": user_id, "email": f"{user_id.hex}@example.com"},
    )
    return user_id


def _insert_tenant(conn) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    conn.execute(
        text(
            "insert into tenants (id, name, slug, plan, subscription_status, billing_email, limits, "
            "features, api_enabled_for_users, created_at, updated_at) values (:id, 'RLS tenant', :slug, "
            "'professional', 'trialing', 'b@example.com', '{}', '{}', false, now(), now())"
        ),
        {"id": tenant_id, "slug": f"rls-{tenant_id.hex[:12]}"},
    )
    return tenant_id


def _insert_member(conn, tenant_id, role: str) -> uuid.UUID:
    user_id = _insert_user(conn)
    conn.execute(
        text(
            "insert into memberships (id, tenant_id, user_id, role, created_at, updated_at) "
            "values (:id, :t, :u, :role, now(), now())"
        ),
        {"id": uuid.uuid4(), "t": tenant_id, "u": user_id, "role": role},
    )
    return user_id


@pytest.fixture
def two_tenants(pg):
    """Tenants A (two members) and B (one), written through the audited bypass."""
    pg.execute(text("select set_config('app.bypass_rls', 'on', true)"))
    a, b = _insert_tenant(pg), _insert_tenant(pg)
    members = {
        a: {_insert_member(pg, a, "admin"), _insert_member(pg, a, "user")},
        b: {_insert_member(pg, b, "admin")},
    }
    pg.execute(text("select set_config('app.bypass_rls', '', true)"))
    return a, b, members


def test_raw_select_sees_only_the_tenant_set_in_the_transaction(pg, two_tenants):
    a, b, members = two_tenants
    _as_tenant(pg, a)
    rows = pg.execute(text("select tenant_id, user_id from memberships")).all()
    assert {r.tenant_id for r in rows} == {a}
    assert {r.user_id for r in rows} == members[a]
    _as_tenant(pg, b)
    rows = pg.execute(text("select tenant_id, user_id from memberships")).all()
    assert {r.user_id for r in rows} == members[b]


def test_raw_select_with_no_tenant_set_sees_nothing(pg, two_tenants):
    _as_tenant(pg, None)
    assert pg.execute(text("select count(*) from memberships")).scalar_one() == 0
    assert pg.execute(text("select count(*) from invitations")).scalar_one() == 0
    assert pg.execute(text("select count(*) from audit_logs")).scalar_one() == 0


def test_bypass_setting_opens_the_wall_and_is_off_by_default(pg, two_tenants):
    a, b, _ = two_tenants
    _as_tenant(pg, None)
    assert pg.execute(text("select count(*) from memberships")).scalar_one() == 0
    pg.execute(text("select set_config('app.bypass_rls', 'on', true)"))
    tenants = set(pg.execute(text("select tenant_id from memberships")).scalars())
    assert {a, b} <= tenants


def test_insert_for_another_tenant_is_refused(pg, two_tenants):
    a, b, _ = two_tenants
    stranger = _insert_user(pg)
    _as_tenant(pg, a)
    savepoint = pg.begin_nested()
    with pytest.raises(DBAPIError, match="row-level security"):
        pg.execute(
            text(
                "insert into memberships (id, tenant_id, user_id, role, created_at, updated_at) "
                "values (:id, :t, :u, 'admin', now(), now())"
            ),
            {"id": uuid.uuid4(), "t": b, "u": stranger},
        )
    savepoint.rollback()
    # The same insert into the tenant in context works (so the refusal above was RLS).
    pg.execute(
        text(
            "insert into memberships (id, tenant_id, user_id, role, created_at, updated_at) "
            "values (:id, :t, :u, 'viewer', now(), now())"
        ),
        {"id": uuid.uuid4(), "t": a, "u": stranger},
    )


def test_update_cannot_move_a_row_into_another_tenant(pg, two_tenants):
    a, b, _ = two_tenants
    _as_tenant(pg, a)
    savepoint = pg.begin_nested()
    with pytest.raises(DBAPIError, match="row-level security"):
        pg.execute(text("update memberships set tenant_id = :b"), {"b": b})
    savepoint.rollback()


def test_every_tenant_owned_table_has_forced_row_level_security(pg):
    tables = sorted(m.local_table.name for m in Base.registry.mappers if issubclass(m.class_, TenantOwned))
    assert tables
    rows = pg.execute(
        text(
            "select relname, relrowsecurity, relforcerowsecurity from pg_class "
            "where relkind = 'r' and relname = any(:names)"
        ),
        {"names": tables},
    ).all()
    assert {r.relname: (r.relrowsecurity, r.relforcerowsecurity) for r in rows} == {t: (True, True) for t in tables}
    policies = set(
        pg.execute(text("select tablename from pg_policies where policyname = 'tenant_isolation'")).scalars()
    )
    assert set(tables) <= policies


def test_app_connects_as_a_role_that_cannot_bypass_rls(pg):
    row = pg.execute(text("select rolname, rolsuper, rolbypassrls from pg_roles where rolname = current_user")).one()
    assert row.rolsuper is False, f"{row.rolname} is a superuser: RLS would be moot"
    assert row.rolbypassrls is False, f"{row.rolname} has BYPASSRLS"


def test_app_session_sets_the_tenant_per_transaction_for_raw_sql(pg_app):
    """tenant_scope() reaches PostgreSQL: a raw SELECT through the app's session sees one tenant."""
    from aerospec.tenancy.scoping import tenant_scope

    with pg_app.app_context():
        with _db.engine.begin() as setup:
            setup.execute(text("select set_config('app.bypass_rls', 'on', true)"))
            a, b = _insert_tenant(setup), _insert_tenant(setup)
            a_members = {_insert_member(setup, a, "admin"), _insert_member(setup, a, "viewer")}
            _insert_member(setup, b, "admin")
        try:
            session = _db.session
            with tenant_scope(session, a):
                seen = set(session.execute(text("select user_id from memberships")).scalars())
            assert seen == a_members
            session.commit()
            # A new transaction with no tenant in context sees nothing, even with raw SQL.
            assert session.execute(text("select count(*) from memberships")).scalar_one() == 0
            session.rollback()
        finally:
            _db.session.remove()
            with _db.engine.begin() as cleanup:
                cleanup.execute(text("select set_config('app.bypass_rls', 'on', true)"))
                cleanup.execute(text("delete from tenants where id in (:a, :b)"), {"a": a, "b": b})


# ---- refresh tokens and offline checkouts (issue 10, item 6): token hashes, session ids, payers' emails


def _api_login(conn, tenant_id) -> tuple[uuid.UUID, uuid.UUID]:
    """A member of the tenant and an API login session of theirs (written through the bypass)."""
    conn.execute(text("select set_config('app.bypass_rls', 'on', true)"))
    user_id = _insert_member(conn, tenant_id, "admin")
    session_id = uuid.uuid4()
    conn.execute(
        text(
            "insert into sessions (id, user_id, kind, remember, started_at, last_activity_at) "
            "values (:id, :u, 'api', false, now(), now())"
        ),
        {"id": session_id, "u": user_id},
    )
    conn.execute(text("select set_config('app.bypass_rls', '', true)"))
    return user_id, session_id


def _insert_refresh_token(conn, tenant_id, user_id, session_id) -> str:
    token_hash = uuid.uuid4().hex * 2
    conn.execute(
        text(
            "insert into refresh_tokens (id, session_id, user_id, tenant_id, token_hash, issued_at, expires_at) "
            "values (:id, :s, :u, :t, :h, now(), now() + interval '7 days')"
        ),
        {"id": uuid.uuid4(), "s": session_id, "u": user_id, "t": tenant_id, "h": token_hash},
    )
    return token_hash


def _insert_checkout(conn, tenant_id) -> str:
    checkout_id = f"cs_offline_{uuid.uuid4().hex}"
    conn.execute(
        text(
            "insert into offline_checkout_sessions (id, tenant_id, mode, status, payment_status, amount_total, "
            "currency, description, customer_email, metadata, line_items, success_url, cancel_url, created_at) "
            "values (:id, :t, 'payment', 'open', 'unpaid', 12000, 'usd', 'Order', 'payer@example.com', '{}', "
            "'[]', '/paid', '/cancelled', now())"
        ),
        {"id": checkout_id, "t": tenant_id},
    )
    return checkout_id


@pytest.fixture
def tokens_and_checkouts(pg, two_tenants):
    """Each of tenants A and B with a refresh token and an offline checkout."""
    a, b, _ = two_tenants
    rows = {}
    for tenant in (a, b):
        user_id, session_id = _api_login(pg, tenant)
        _as_tenant(pg, tenant)
        rows[tenant] = (_insert_refresh_token(pg, tenant, user_id, session_id), _insert_checkout(pg, tenant))
    _as_tenant(pg, None)
    return a, b, rows


@pytest.mark.parametrize(
    ("table", "column", "index"),
    [("refresh_tokens", "token_hash", 0), ("offline_checkout_sessions", "id", 1)],
)
def test_refresh_tokens_and_checkouts_are_invisible_to_another_tenant_and_to_none(
    pg, tokens_and_checkouts, table, column, index
):
    a, b, rows = tokens_and_checkouts
    _as_tenant(pg, None)
    assert pg.execute(text(f"select count(*) from {table}")).scalar_one() == 0
    for own, other in ((a, b), (b, a)):
        _as_tenant(pg, own)
        assert set(pg.execute(text(f"select {column} from {table}")).scalars()) == {rows[own][index]}
        # Looked up by its secret (hash or id) from the other tenant, the row is not there either.
        _as_tenant(pg, other)
        found = pg.execute(text(f"select count(*) from {table} where {column} = :v"), {"v": rows[own][index]})
        assert found.scalar_one() == 0


@pytest.mark.parametrize(
    ("table", "column", "index"),
    [("refresh_tokens", "revoked_at", 0), ("offline_checkout_sessions", "completed_at", 1)],
)
def test_another_tenant_cannot_update_or_delete_refresh_tokens_or_checkouts(
    pg, tokens_and_checkouts, table, column, index
):
    a, b, _ = tokens_and_checkouts
    _as_tenant(pg, b)
    assert pg.execute(text(f"update {table} set {column} = now() where tenant_id = :a"), {"a": a}).rowcount == 0
    assert pg.execute(text(f"delete from {table} where tenant_id = :a"), {"a": a}).rowcount == 0
    _as_tenant(pg, a)
    assert pg.execute(text(f"select count(*) from {table} where {column} is null")).scalar_one() == 1


def test_a_refresh_token_or_checkout_cannot_be_written_into_another_tenant(pg, two_tenants):
    a, b, _ = two_tenants
    user_id, session_id = _api_login(pg, b)
    _as_tenant(pg, a)
    for write in (lambda: _insert_refresh_token(pg, b, user_id, session_id), lambda: _insert_checkout(pg, b)):
        savepoint = pg.begin_nested()
        with pytest.raises(DBAPIError, match="row-level security"):
            write()
        savepoint.rollback()
    # The same writes with their own tenant in context work (so the refusals above were RLS).
    _as_tenant(pg, b)
    _insert_refresh_token(pg, b, user_id, session_id)
    _insert_checkout(pg, b)


def _insert_own_actuator(conn, tenant_id, sku: str) -> None:
    conn.execute(
        text(
            "insert into tenant_actuators (id, tenant_id, sku, name, spray_type, orifice_mm, max_pressure_bar, "
            "min_viscosity_cp, max_viscosity_cp, body_material, seal_material, currency, created_at, updated_at) "
            "values (:id, :t, :sku, 'RLS insert', 'hollow_cone', 0.3, 10, 0.5, 50, 'POM', 'none', 'USD', now(), now())"
        ),
        {"id": uuid.uuid4(), "t": tenant_id, "sku": sku},
    )


def test_own_actuators_are_walled_per_tenant_by_row_level_security(pg, two_tenants):
    """A workspace's own actuators (issue 12 item 7): read, written and moved only in its own tenant."""
    a, b, _ = two_tenants
    pg.execute(text("select set_config('app.bypass_rls', 'on', true)"))
    _insert_own_actuator(pg, a, "A-OWN")
    _insert_own_actuator(pg, b, "B-OWN")
    _as_tenant(pg, a)
    assert set(pg.execute(text("select sku from tenant_actuators")).scalars()) == {"A-OWN"}
    _as_tenant(pg, None)
    assert list(pg.execute(text("select sku from tenant_actuators")).scalars()) == []
    _as_tenant(pg, a)
    for statement in (
        lambda: _insert_own_actuator(pg, b, "PLANTED"),
        lambda: pg.execute(text("update tenant_actuators set tenant_id = :b"), {"b": b}),
    ):
        savepoint = pg.begin_nested()
        with pytest.raises(DBAPIError, match="row-level security"):
            statement()
        savepoint.rollback()
    assert pg.execute(text("update tenant_actuators set name = 'x' where sku = 'B-OWN'")).rowcount == 0
    assert pg.execute(text("delete from tenant_actuators where sku = 'B-OWN'")).rowcount == 0
