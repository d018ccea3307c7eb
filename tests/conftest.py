"""Shared fixtures: app, db (rollback per test), client, factories, login().

The suite runs on SQLite by default. With DATABASE_URL pointing at a PostgreSQL
server (as a superuser, e.g. postgresql://postgres@127.0.0.1:5432/postgres), the
session creates a fresh database owned by a fresh NON-superuser role, migrates it,
and runs every test as that role, so row-level security is in force.
With REDIS_URL set, job tests use that Redis (db index from the URL) with a real worker.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import secrets
import uuid
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse, urlunparse

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy import select as sa_select

from aerospec import create_app
from aerospec.config import normalise_database_url

# The supplier sandbox (sandbox_server per session, sandbox per test) for every test.
pytest_plugins = ["tests.sandbox.fixtures"]

IN_CI = os.environ.get("CI", "").lower() == "true"


def need(condition: bool, reason: str) -> None:
    """Skip a test whose service is missing, except in CI where nothing may skip."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


class PostgresDatabase:
    """A throwaway database and non-superuser login role on a PostgreSQL server."""

    def __init__(self, admin_url: str):
        self.admin_url = normalise_database_url(admin_url)
        suffix = secrets.token_hex(4)
        self.name = f"aerospec_test_{suffix}"
        self.role = f"aerospec_app_{suffix}"
        self.password = secrets.token_hex(12)
        self.admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")

    def create(self) -> str:
        with self.admin.connect() as conn:
            # SECURITY: the app role must not be a superuser nor BYPASSRLS, or RLS is moot.
            conn.execute(
                text(
                    f"CREATE ROLE {self.role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB "
                    f"NOCREATEROLE PASSWORD '{self.password}'"
                )
            )
            conn.execute(text(f"CREATE DATABASE {self.name} OWNER {self.role}"))
        parts = urlparse(self.admin_url)
        netloc = f"{self.role}:{self.password}@{parts.hostname}:{parts.port or 5432}"
        return urlunparse(parts._replace(netloc=netloc, path=f"/{self.name}"))

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))
            conn.execute(text(f"DROP ROLE IF EXISTS {self.role}"))
        self.admin.dispose()


def _database_url(tmp_path_factory) -> tuple[str, PostgresDatabase | None]:
    url = os.environ.get("DATABASE_URL")
    if url and url.startswith(("postgres://", "postgresql")):
        pg = PostgresDatabase(url)
        return pg.create(), pg
    path = tmp_path_factory.mktemp("db") / "test.sqlite3"
    return f"sqlite:///{path}", None


def make_overrides(database_url: str, instance: Path, **extra) -> dict:
    """The config tests run with: inline jobs, no rate limits, no CSRF (a test turns each on)."""
    overrides = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-" + "x" * 20,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(instance),
        "JOBS_MODE": "inline",
        "REDIS_URL": None,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        # The API's per-minute window per credential: out of the way of the sweeps (tests/api/test_keys.py lowers it).
        "API_RATE_LIMIT_PER_MINUTE": 1_000_000,
        # Sign-in throttling too: every test client is 127.0.0.1 (tests/accounts/test_login_policy.py turns it on).
        "AUTH_THROTTLE_ENABLED": False,
        "AUTH_THROTTLE_STORAGE_URI": "memory://",
        "WTF_CSRF_ENABLED": False,
        "SMTP_URL": None,
        "BASE_URL": "http://testserver",
        "SERVER_NAME": None,
        "LOG_LEVEL": "WARNING",  # the JSON request lines of every test request are noise (tests/web/test_logging.py)
    }
    overrides.update(extra)
    return overrides


@pytest.fixture(scope="session", autouse=True)
def stop_embedded_redis():
    """Stop the embedded Redis servers the suite started, before pytest removes their folders (issue 9)."""
    yield
    from aerospec import queueing

    queueing.stop_embedded_servers()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url, pg = _database_url(tmp_path_factory)
    yield url
    if pg is not None:
        from aerospec.extensions import db

        with contextlib.suppress(Exception):  # best effort before dropping the database
            db.session.remove()
        pg.drop()


def supplier_overrides(server) -> dict:
    """Point the app's supplier clients at a running sandbox, with short timeouts for tests."""
    return {
        "SUPPLIER_SPENCER_URL": server.url("spencer"),
        "SUPPLIER_SPENCER_KEY": server.state.keys["spencer"],
        "SUPPLIER_COSTER_URL": server.url("coster"),
        "SUPPLIER_COSTER_KEY": server.state.keys["coster"],
        "SUPPLIER_TIMEOUT_SECONDS": 1.5,
        "SUPPLIER_RETRIES": 1,
    }


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory, sandbox_server):
    """The app under test, with the schema migrated once (through Alembic, as in production).

    Its supplier clients talk to the session's sandbox over real HTTP (the `sandbox`
    fixture resets faults, orders and the clock for a test).
    """
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(make_overrides(database_url, instance, **supplier_overrides(sandbox_server)))
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        from aerospec.extensions import db

        db.engine.dispose()


@pytest.fixture
def db(app):
    """The database session, inside a transaction rolled back after the test.

    Flask-SQLAlchemy ignores a plain `bind=` (its issues #1167/#1171), so the app's
    engine is swapped for one connection in an outer transaction; every commit in the
    app becomes a savepoint release.
    """
    from aerospec.extensions import db as _db

    ctx = app.app_context()
    ctx.push()
    engines = _db._app_engines[app]
    engine = engines[None]
    connection = engine.connect()
    outer = connection.begin()
    if connection.dialect.name == "sqlite":
        # pysqlite defers BEGIN, so the first SAVEPOINT would open (and its RELEASE
        # commit) the real transaction: open it explicitly so the rollback undoes all.
        connection.exec_driver_sql("BEGIN")
    engines[None] = connection
    _db.session.remove()
    _db.session.configure(join_transaction_mode="create_savepoint")
    try:
        yield _db
    finally:
        _db.session.remove()
        _db.session.configure(join_transaction_mode="conditional_savepoint")
        if outer.is_active:
            outer.rollback()
        connection.close()
        engines[None] = engine
        ctx.pop()


class RequestScopedClient(FlaskClient):
    """Runs each request outside the test's app context, as in production.

    The `db` fixture keeps an app context pushed for the whole test and Flask reuses a
    pushed context for requests, so `g` (flask-login's cached user, the tenant) would
    leak from one request, or one browser, into the next.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        # The request wrote through its own session: let the test's session re-read rows.
        from flask import has_app_context

        if has_app_context():
            from aerospec.extensions import db as _db

            _db.session.expire_all()
        return response


@pytest.fixture
def client(app, db):
    """A browser; `app.test_client()` inside the test makes more, each with its own cookies."""
    previous = app.test_client_class
    app.test_client_class = RequestScopedClient
    try:
        yield app.test_client()
    finally:
        app.test_client_class = previous


@pytest.fixture
def build_app(app, db, database_url, tmp_path, sandbox_server):
    """build_app(**config) -> a second app with other settings (CSRF on, rate limits on,
    production...) sharing the test's rolled-back connection."""
    from aerospec.extensions import limiter

    connection = db._app_engines[app][None]  # the db fixture's connection, in its outer transaction
    built = []
    limiter_enabled = limiter.enabled

    def _build(**extra):
        extra = supplier_overrides(sandbox_server) | extra
        other = create_app(make_overrides(database_url, tmp_path / f"instance-{len(built)}", **extra))
        other.test_client_class = RequestScopedClient
        engines = db._app_engines[other]
        built.append((other, engines[None]))
        engines[None] = connection
        return other

    yield _build
    for other, engine in built:
        db._app_engines[other][None] = engine
        engine.dispose()
    # flask-limiter keeps `enabled` and its counters on the one shared Limiter instance:
    # put them back so an app built with RATELIMIT_ENABLED=True throttles no other test.
    limiter.enabled = limiter_enabled
    if limiter.initialized:
        limiter.reset()


@pytest.fixture
def factories(db):
    from tests import factories as f

    f.bind(db.session)
    return f


@pytest.fixture
def login(client, db):
    """login(user) → the test client is logged in as user (a real recorded session)."""
    from aerospec.accounts import services as accounts

    def _login(user, tenant=None, remember: bool = False):
        session_row = accounts.start_session(
            db.session, user, accounts.ClientInfo("127.0.0.1", "pytest"), remember=remember
        )
        db.session.commit()
        with client.session_transaction() as sess:
            sess["_user_id"] = str(session_row.id)
            sess["_fresh"] = True
        # flask-login caches the user on g, which this test's app context keeps alive.
        from flask import g

        g.pop("_login_user", None)
        user.login_session_id = session_row.id
        return session_row

    return _login


@pytest.fixture
def rows(db):
    """rows(tenant, Model, *where) → that tenant's rows of a tenant-owned model."""

    def _rows(tenant, model, *where):
        from aerospec.tenancy.scoping import tenant_scope

        with tenant_scope(db.session, tenant.id):
            return list(db.session.scalars(sa_select(model).where(*where)).unique())

    return _rows


@pytest.fixture
def team(db, factories):
    """team(**tenant_kwargs) → a tenant with an admin, a user and a viewer (committed).

    Committed because a view or API error rolls the request's session back, which would
    otherwise take rows that were only flushed with it.
    """

    def _team(**tenant_kwargs):
        # Users may use the API here (the matrix's "if enabled"); tests of the switch pass False.
        tenant = factories.TenantFactory(**{"api_enabled_for_users": True, **tenant_kwargs})
        ns = SimpleNamespace(
            tenant=tenant,
            admin=factories.member(tenant, "admin"),
            user=factories.member(tenant, "user"),
            viewer=factories.member(tenant, "viewer"),
        )
        db.session.commit()
        return ns

    return _team


@pytest.fixture
def tenant_url():
    def _url(tenant, path: str = "") -> str:
        return f"/t/{tenant.slug}/{path.lstrip('/')}"

    return _url


def new_id() -> uuid.UUID:
    return uuid.uuid4()
