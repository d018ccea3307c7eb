"""For tests of one migration: a database of its own at a given revision, on each configured engine."""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from aerospec import create_app
from aerospec.models import UTCDateTime
from tests.conftest import PostgresDatabase, make_overrides

VERSIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"

# The tenants table as every migration since 0001 has it (a migration test writes rows without the models).
TENANTS = sa.table(
    "tenants",
    sa.column("id", sa.Uuid()),
    *(sa.column(c) for c in ("name", "slug", "plan", "subscription_status", "billing_email")),
    sa.column("limits", sa.JSON()),
    sa.column("features", sa.JSON()),
    sa.column("api_enabled_for_users", sa.Boolean()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)


def load(pattern: str) -> ModuleType:
    """The migration module whose file name matches `pattern` (e.g. "*_fluid_units_fix.py")."""
    path = next(VERSIONS.glob(pattern))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def engines() -> list:
    """SQLite always; PostgreSQL too when DATABASE_URL points at a server (pytest params)."""
    params = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql")):
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


@contextlib.contextmanager
def database_at(kind: str, tmp_path: Path, revision: str) -> Iterator:
    """The engine of a fresh database migrated to `revision` (a non-superuser role on PostgreSQL), inside
    its app's context so the test can `upgrade()`/`downgrade()` it further."""
    pg = None
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / f'at-{revision}.sqlite3'}"
    else:
        pg = PostgresDatabase(os.environ["DATABASE_URL"])
        url = pg.create()
    app = create_app(make_overrides(url, tmp_path / "instance"))
    from aerospec.extensions import db

    try:
        with app.app_context():
            upgrade(revision=revision)
            try:
                yield db.engine
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        if pg is not None:
            pg.drop()
