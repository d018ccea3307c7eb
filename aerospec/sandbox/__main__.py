"""Run the supplier sandbox: `python -m aerospec.sandbox --port 5100`.

Environment: SANDBOX_SPENCER_KEY / SANDBOX_COSTER_KEY (default to the app's sandbox keys),
SANDBOX_FAULTS as JSON, e.g. '{"coster": {"latency_ms": 400, "error_rate": 0.1}}'.
Faults change at runtime with `POST /_faults`; the clock moves with `POST /_clock`.
"""

from __future__ import annotations

import argparse
import json
import os

from aerospec.sandbox.app import create_sandbox_app
from aerospec.sandbox.server import SandboxServer
from aerospec.sandbox.state import DEFAULT_KEYS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Spencer and Coster supplier sandbox")
    parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "5100")))
    parser.add_argument("--faults", default=os.environ.get("SANDBOX_FAULTS", ""), help="faults as JSON")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args(argv)
    keys = {s: os.environ.get(f"SANDBOX_{s.upper()}_KEY", k) for s, k in DEFAULT_KEYS.items()}
    app = create_sandbox_app(keys=keys, faults=json.loads(args.faults) if args.faults else None)
    server = SandboxServer(app, host=args.host, port=args.port, quiet=args.quiet)
    print(f"Supplier sandbox on {server.base_url}  (Spencer {server.url('spencer')}, Coster {server.url('coster')})")
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.app.state.release_waiters()
        server._server.server_close()


if __name__ == "__main__":
    main()
