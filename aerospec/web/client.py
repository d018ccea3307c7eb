"""What the request tells about its client, for sessions and the audit log."""

from __future__ import annotations

from flask import request

from aerospec.accounts.services import ClientInfo


def client_info() -> ClientInfo:
    """IP address (after ProxyFix) and user agent of the current request."""
    return ClientInfo(ip_address=request.remote_addr, user_agent=request.headers.get("User-Agent"))
