"""The API's per-minute burst window per key or access token, and the X-RateLimit-* headers.

A fixed one-minute window per credential (an API key by its id, an access token by its login session;
a request with neither by its client address), counted in flask-limiter's storage: Redis in
production (RATELIMIT_STORAGE_URI), this process's memory on the embedded defaults. The monthly
quota of API calls is the plan's (aerospec.billing.usage), counted apart: see the README.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask import Flask, Response, current_app
from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from aerospec.errors import DomainError

NAMESPACE = "api-burst"


class RateLimited(DomainError):
    """The credential's minute is used up: 429 with Retry-After."""

    status = 429
    title = "Too many requests"

    def __init__(self, message: str, window: Window):
        super().__init__(message)
        self.headers = {**window.headers(), "Retry-After": str(window.retry_after)}


@dataclass(frozen=True)
class Window:
    """The state of one credential's current window, as the headers say it."""

    limit: int
    remaining: int
    reset_at: float  # epoch seconds

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }


def _limiter(app: Flask) -> FixedWindowRateLimiter:
    state = app.extensions.get("aerospec_api_burst")
    if state is None:
        storage = storage_from_string(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
        state = app.extensions["aerospec_api_burst"] = FixedWindowRateLimiter(storage)
    return state


def per_minute() -> int:
    return int(current_app.config.get("API_RATE_LIMIT_PER_MINUTE", 120))


def hit(identity: str, *, enforce: bool = True) -> Window:
    """Count one request of `identity` in its window; RateLimited when the window is used up (if `enforce`)."""
    item = RateLimitItemPerMinute(per_minute())
    limiter = _limiter(current_app._get_current_object())
    allowed = limiter.hit(item, NAMESPACE, identity)
    stats = limiter.get_window_stats(item, NAMESPACE, identity)
    window = Window(limit=item.amount, remaining=max(0, stats.remaining), reset_at=stats.reset_time)
    if not allowed and enforce:
        raise RateLimited(
            f"This credential made {item.amount} API requests this minute, the most allowed. "
            f"Try again in {window.retry_after} seconds.",
            window,
        )
    return window


def apply(response: Response, window: Window) -> Response:
    """Say the window on the answer (a 429 already carries it)."""
    for name, value in window.headers().items():
        response.headers[name] = value
    return response
