"""A second app with its own settings (CSRF on, rate limits on, production...) for one test.

It shares the test's rolled-back database connection, so rows it writes vanish with
the test, and rows the test writes are visible to it.
"""

from __future__ import annotations

import pytest

from aerospec import create_app
from tests.conftest import make_overrides


@pytest.fixture
def build_app(app, db, database_url, tmp_path):
    """build_app(**config) -> a Flask app built with those config overrides."""
    from aerospec.extensions import limiter

    connection = db._app_engines[app][None]  # the db fixture's connection, in its outer transaction
    built = []
    limiter_enabled = limiter.enabled

    def _build(**extra):
        other = create_app(make_overrides(database_url, tmp_path / f"instance-{len(built)}", **extra))
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
