"""Pooled connections are pinged only after sitting idle (aerospec/database.py), and one the
server closed while it sat idle is replaced before a request uses it."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from aerospec import create_app, database
from aerospec.extensions import db as _db
from tests.conftest import PostgresDatabase, make_overrides, need
from tests.tenancy.test_rls import POSTGRES_ADMIN_URL


def _pings(app, monkeypatch) -> list:
    """A list that grows by one each time the pool pings a connection."""
    seen: list = []
    with app.app_context():
        dialect = _db.engine.dialect
    real = dialect._do_ping_w_event
    monkeypatch.setattr(dialect, "_do_ping_w_event", lambda conn: seen.append(conn) or real(conn))
    return seen


def _checkout(app) -> int:
    """Check a connection out of the pool, use it and give it back; the server's process id on PostgreSQL."""
    with app.app_context(), _db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            return conn.execute(text("select pg_backend_pid()")).scalar_one()
        return conn.execute(text("select 1")).scalar_one()


@pytest.fixture
def app_on_one_connection(tmp_path):
    """The app on its own database with a pool of one connection (PostgreSQL when DATABASE_URL names it)."""
    url = os.environ.get("DATABASE_URL", "")
    pg = None
    if url.startswith(("postgres://", "postgresql")):
        pg = PostgresDatabase(os.environ.get("TEST_POSTGRES_URL", POSTGRES_ADMIN_URL))
        database_url = pg.create()
    else:
        database_url = f"sqlite:///{tmp_path / 'ping.sqlite3'}"
    app = create_app(
        make_overrides(database_url, tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0})
    )
    yield app, pg
    with app.app_context():
        _db.engine.dispose()
    if pg is not None:
        pg.drop()


def test_a_connection_back_in_use_at_once_is_not_pinged_and_one_left_idle_is(app_on_one_connection, monkeypatch):
    app, _ = app_on_one_connection
    pings = _pings(app, monkeypatch)
    _checkout(app)  # a new connection: nothing to ping
    for _ in range(5):
        _checkout(app)
    assert pings == [], "a connection used a moment ago was pinged"

    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # every checkin now counts as a quiet spell
    _checkout(app)
    assert len(pings) == 1


@pytest.fixture
def pg_on_one_connection(tmp_path):
    """The app on a fresh PostgreSQL database with a pool of one connection, whichever database the suite runs on
    (the machine's server, TEST_POSTGRES_URL; as tests/tenancy/test_rls.py's pg_app)."""
    pg = PostgresDatabase(os.environ.get("TEST_POSTGRES_URL", POSTGRES_ADMIN_URL))
    try:
        database_url = pg.create()
    except OperationalError as exc:
        pg.admin.dispose()
        need(False, f"a server that closes connections needs PostgreSQL ({type(exc).__name__})")
    app = create_app(
        make_overrides(database_url, tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0})
    )
    yield app, pg
    with app.app_context():
        _db.engine.dispose()
    pg.drop()


def test_a_connection_the_server_closed_while_idle_is_replaced_before_use(pg_on_one_connection, monkeypatch):
    app, pg = pg_on_one_connection
    pid = _checkout(app)
    try:
        with pg.admin.connect() as admin:
            assert admin.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    except OperationalError as exc:
        need(False, f"cannot end a server process here ({exc})")
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)

    assert _checkout(app) != pid  # the ping found it gone: a new connection answered, no error
