"""Sending one webhook request: Standard Webhooks signatures, the SSRF guard and a pinned connection.

No database and no Flask here: `send()` takes the URL, the body, the secrets and a `Policy`, and
returns what happened. The host is resolved once, every address it resolves to is checked, and the
request goes to the checked address (so a DNS answer that changes between check and connect, "DNS
rebinding", cannot reach an address the check refused). Redirects are never followed: a 3xx is a
failed attempt that names where it pointed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import secrets
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
EXCERPT_BYTES = 1024  # the first bytes of an answer kept in the delivery log
READ_LIMIT = 64 * 1024  # bytes read from an answer at most (the rest is left unread)
USER_AGENT = "AeroSpec-Webhooks/1"


class BlockedTarget(ValueError):
    """A URL the policy refuses to send to (scheme, or an address that is not public)."""


@dataclass(frozen=True)
class Policy:
    """Where requests may go. Production: HTTPS to public addresses only."""

    allow_loopback: bool = False  # development and tests: http(s)://127.0.0.1, ::1 and localhost
    allow_private: bool = False  # an explicit opt-in for private networks (never the default)
    timeout: float = 10.0  # seconds for the whole attempt (connect, send, answer)


@dataclass
class Outcome:
    status_code: int | None
    succeeded: bool
    duration_ms: int
    excerpt: str | None
    error: str | None


def _storable(text: str | None) -> str | None:
    """What the receiver sent, as text every database stores (PostgreSQL refuses NUL in text)."""
    return None if text is None else text.replace("\x00", "\ufffd")


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes it: `whsec_` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the secret's decoded key."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_header(secrets_: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    """Every live secret's signature, space-separated (two during a rotation)."""
    return " ".join(sign(s, message_id, timestamp, body) for s in secrets_)


def _address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, policy: Policy) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    if address.is_loopback:
        return policy.allow_loopback
    if address.is_global and not address.is_multicast:
        return True
    # SECURITY: private, link-local (cloud metadata at 169.254.169.254), CGNAT, reserved, unspecified, multicast.
    return policy.allow_private and (address.is_private and not address.is_link_local and not address.is_unspecified)


def check_url(url: str, policy: Policy) -> None:
    """Refuse what may never be an endpoint, before any DNS look-up (BlockedTarget with the reason)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise BlockedTarget("Enter a full URL starting with https://.")
    if parts.username or parts.password:
        raise BlockedTarget("Leave credentials out of the URL; verify our signature instead.")
    try:
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError as exc:
        raise BlockedTarget("The port must be a number from 1 to 65535.") from exc
    if parts.scheme == "http" and not (policy.allow_loopback and _is_loopback_name(parts.hostname)):
        raise BlockedTarget("Use an https:// URL (plain http is allowed only to this machine in development).")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return
    if not _address_allowed(literal, policy):
        raise BlockedTarget(f"{parts.hostname} is not a public address; webhooks go to public HTTPS endpoints.")


def _is_loopback_name(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve(host: str, port: int, policy: Policy) -> str:
    """The address to connect to: every address the host resolves to must pass the policy (SECURITY)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BlockedTarget(f"{host} does not resolve ({exc.strerror or exc}).") from exc
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not _address_allowed(address, policy):
            raise BlockedTarget(f"{host} resolves to {address}, which is not a public address.")
        addresses.append(str(address))
    if not addresses:
        raise BlockedTarget(f"{host} does not resolve.")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address; the Host header stays the URL's host."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address, with SNI and certificate checks against the URL's host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def send(
    url: str, body: bytes, *, message_id: str, secrets_: list[str], policy: Policy, timestamp: int | None = None
) -> Outcome:
    """POST one signed delivery; never raises for the receiver's failures (they are the outcome)."""
    started = time.monotonic()

    def outcome(status: int | None, excerpt: str | None = None, error: str | None = None) -> Outcome:
        ok = status is not None and 200 <= status < 300 and error is None
        return Outcome(status, ok, int((time.monotonic() - started) * 1000), _storable(excerpt), _storable(error))

    try:
        check_url(url, policy)
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = resolve(parts.hostname, port, policy)
    except BlockedTarget as exc:
        return outcome(None, error=f"Refused: {exc}")
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature_header(secrets_, message_id, stamp, body),
    }
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(parts.hostname, port, address, policy.timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = started + policy.timeout
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        chunks, size = [], 0
        while size < READ_LIMIT and time.monotonic() < deadline:
            chunk = response.read1(min(8192, READ_LIMIT - size)) if hasattr(response, "read1") else b""
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        excerpt = b"".join(chunks)[:EXCERPT_BYTES].decode("utf-8", "replace")
        if 300 <= response.status < 400:
            location = response.getheader("Location") or "nowhere"
            return outcome(response.status, excerpt, f"Redirect to {location[:300]} not followed.")
        if not 200 <= response.status < 300:
            return outcome(response.status, excerpt, f"The endpoint answered {response.status}.")
        return outcome(response.status, excerpt)
    except TimeoutError:
        return outcome(None, error=f"No answer within {policy.timeout:g} s.")
    except ssl.SSLError as exc:
        return outcome(None, error=f"TLS failed: {exc.reason or exc}")
    except (OSError, http.client.HTTPException) as exc:
        return outcome(None, error=f"{type(exc).__name__}: {exc}"[:500])
    finally:
        connection.close()
