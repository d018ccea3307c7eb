"""A database of a job test's own: real commits that worker processes (or a second app) can see."""

from __future__ import annotations

import os

import pytest

from tests.conftest import PostgresDatabase


@pytest.fixture
def own_database_url(tmp_path):
    """A throwaway PostgreSQL database (when DATABASE_URL is a PostgreSQL admin URL) or a SQLite file."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql")):
        yield f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
        return
    pg = PostgresDatabase(url)
    try:
        yield pg.create()
    finally:
        pg.drop()
