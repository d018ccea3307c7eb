"""The supplier sandbox on a free loopback port, shared by the sandbox and procurement tests.

`sandbox_server` starts one threaded werkzeug server per test session directory;
`sandbox` hands it to a test with faults, orders, counters and the clock reset, and
`admin(...)` drives the sandbox's admin endpoints over HTTP like the platform-admin page will.
"""

from __future__ import annotations

import httpx
import pytest

from aerospec.sandbox import SandboxServer


class SandboxHandle:
    """A running sandbox plus helpers to drive it over HTTP."""

    def __init__(self, server: SandboxServer):
        self.server = server
        self.state = server.state

    def url(self, supplier: str) -> str:
        return self.server.url(supplier)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def admin(self, method: str, path: str, json=None) -> dict:
        response = httpx.request(method, self.base_url + path, json=json, timeout=5)
        response.raise_for_status()
        return response.json()

    def faults(self, **per_supplier: dict) -> dict:
        """POST /_faults, e.g. faults(coster={"latency_ms": 200})."""
        return self.admin("POST", "/_faults", per_supplier)

    def advance(self, seconds: float) -> str:
        """POST /_clock: move the sandbox clock forward."""
        return self.admin("POST", "/_clock", {"advance_seconds": seconds})["now"]

    def requests(self, supplier: str, endpoint: str) -> int:
        """How many requests the sandbox received on one endpoint, e.g. ("spencer", "GET /prices")."""
        return self.admin("GET", "/_stats")["requests"].get(f"{supplier} {endpoint}", 0)


@pytest.fixture(scope="session")
def sandbox_server():
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server) -> SandboxHandle:
    from aerospec.procurement.quotes import default_cache

    sandbox_server.state.reset()
    default_cache.clear()  # no quote survives from another test's sandbox state
    yield SandboxHandle(sandbox_server)
    sandbox_server.state.reset()  # releases any request still sleeping in a hang fault
