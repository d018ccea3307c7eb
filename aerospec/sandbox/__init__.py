"""Supplier sandbox: fake Spencer and Coster APIs over real HTTP for development and tests.

A separate WSGI app (not part of the AeroSpec Flask app and needing no database):
`python -m aerospec.sandbox --port 5100`, or `SandboxServer()` in a thread for tests.
"""

from aerospec.sandbox.app import SandboxApp, create_sandbox_app
from aerospec.sandbox.server import SandboxServer
from aerospec.sandbox.state import Faults, SandboxClock, SandboxState

__all__ = ["Faults", "SandboxApp", "SandboxClock", "SandboxServer", "SandboxState", "create_sandbox_app"]
