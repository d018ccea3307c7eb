"""Supplier clients pointed at the sandbox over real HTTP, closed after each test."""

from __future__ import annotations

import pytest

from aerospec.procurement.clients import CosterClient, SpencerClient


@pytest.fixture
def make_client(sandbox):  # noqa: F811 - the imported fixture, requested by name
    """make_client("spencer", timeout=…, retries=…, key=…) → a client on the sandbox (closed at teardown)."""
    made = []
    sleeps: list[float] = []

    def _make(supplier: str, *, key: str | None = None, **options):
        cls = {"spencer": SpencerClient, "coster": CosterClient}[supplier]
        options = {"timeout": 2.0, "retries": 2, "backoff": 0.01, "sleep": _recording_sleep} | options
        client = cls(sandbox.url(supplier), key or sandbox.state.keys[supplier], **options)
        made.append(client)
        return client

    def _recording_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    _make.sleeps = sleeps
    yield _make
    for client in made:
        client.close()


@pytest.fixture
def spencer(make_client):
    return make_client("spencer")


@pytest.fixture
def coster(make_client):
    return make_client("coster")
