"""Migrations: an empty database upgrades to head, matches the models exactly, and downgrades to base."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from aerospec import create_app
from tests.conftest import PostgresDatabase, make_overrides


def _targets():
    yield pytest.param("sqlite", id="sqlite")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql")):
        yield pytest.param("postgresql", id="postgresql")


@pytest.fixture(params=list(_targets()))
def empty_database(request, tmp_path):
    """A URL of a database with nothing in it, on each configured engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    pg = PostgresDatabase(os.environ["DATABASE_URL"])
    url = pg.create()
    try:
        yield url
    finally:
        pg.drop()  # DROP DATABASE ... WITH (FORCE) also ends any connection left open


def test_empty_database_upgrades_to_head_without_drift_and_downgrades_to_base(empty_database, tmp_path):
    from aerospec.extensions import db

    app = create_app(make_overrides(empty_database, tmp_path / "instance"))
    with app.app_context():
        engine = db.engine
        assert inspect(engine).get_table_names() == [], "the database must start empty"

        upgrade()
        tables = set(inspect(engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        assert "alembic_version" in tables

        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ; write a migration for: {diff}"

        try:
            downgrade(revision="base")
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        finally:
            engine.dispose()
