"""Serve the sandbox over real HTTP on loopback, in a thread (tests, bench) or in the foreground."""

from __future__ import annotations

import socket
import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from aerospec.sandbox.app import SandboxApp, create_sandbox_app


class SandboxHandler(WSGIRequestHandler):
    """Sends headers and body without Nagle's delay (werkzeug writes them separately)."""

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class QuietHandler(SandboxHandler):
    """No access log line per request (tests and the benchmark make thousands)."""

    def log_request(self, code="-", size="-") -> None:
        pass


class SandboxServer:
    """A threaded werkzeug server running a SandboxApp on a free loopback port.

    with SandboxServer() as sandbox:
        sandbox.url("spencer")  # http://127.0.0.1:PORT/spencer
    """

    def __init__(self, app: SandboxApp | None = None, host: str = "127.0.0.1", port: int = 0, quiet: bool = True):
        self.app = app or create_sandbox_app()
        self.host = host
        self._server: BaseWSGIServer = make_server(
            host, port, self.app, threaded=True, request_handler=QuietHandler if quiet else SandboxHandler
        )
        self.port = self._server.server_port
        self._thread: threading.Thread | None = None

    @property
    def state(self):
        return self.app.state

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, supplier: str) -> str:
        """The base URL a supplier client should use (the sandbox serves it under /<supplier>)."""
        return f"{self.base_url}/{supplier}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="supplier-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.app.state.release_waiters()  # wake hung requests so their threads can finish
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
