"""Webhook test fixtures: a real receiver, fast retries, API tokens and orders."""

from __future__ import annotations

import pytest

from tests.api.conftest import bearer, tokens  # noqa: F401 - API fixtures for these tests
from tests.jobs.conftest import own_database_url  # noqa: F401 - a database of the test's own
from tests.procurement.test_services import catalog, make_order  # noqa: F401 - real orders (sandbox suppliers)
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver():
    """receiver(**behaviour) → a started Receiver, stopped after the test."""
    started = []

    def _start(**behaviour) -> Receiver:
        r = Receiver(**behaviour).start()
        started.append(r)
        return r

    yield _start
    for r in started:
        r.stop()


@pytest.fixture
def fast_retries(app, monkeypatch):
    """Retries at once (inline mode runs a job due now right away), no jitter, a short timeout."""
    for key, value in {
        "WEBHOOK_BACKOFF_BASE_SECONDS": 0,
        "WEBHOOK_BACKOFF_JITTER": 0,
        "WEBHOOK_TIMEOUT_SECONDS": 2,
        "WEBHOOK_ALLOW_LOOPBACK": True,
    }.items():
        monkeypatch.setitem(app.config, key, value)
