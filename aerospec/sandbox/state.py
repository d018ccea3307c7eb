"""The sandbox's mutable state: faults per supplier, a drivable clock, orders, request counts."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

SUPPLIERS = ("spencer", "coster")
DEFAULT_KEYS = {"spencer": "sandbox-spencer-key", "coster": "sandbox-coster-key"}


class Clock(Protocol):
    """Anything with `now()` returning an aware UTC datetime."""

    def now(self) -> datetime: ...


class SandboxClock:
    """Wall-clock time plus an offset that tests (or `POST /_clock`) push forward."""

    def __init__(self, start: datetime | None = None):
        self._start = start  # a frozen start makes order timelines fully reproducible
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        base = self._start or datetime.now(UTC)
        with self._lock:
            return base + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta()


@dataclass
class Faults:
    """Faults for one supplier. With error_rate 0 or 1 the outcome is deterministic."""

    latency_ms: int = 0
    error_rate: float = 0.0  # share of requests answered with error_status (5xx)
    error_status: int = 503
    fail_next: int = 0  # the next N requests fail with error_status, then normal service
    hang: bool = False  # sleep past any client timeout (released on reset/stop)
    hang_seconds: float = 30.0
    malformed_json: bool = False  # 200 with a truncated JSON body

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: Faults | None = None) -> Faults:
        """Merge a JSON mapping into these faults, checking names and types."""
        known = {f.name: f.type for f in fields(cls)}
        out = asdict(base or cls())
        for name, value in data.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(known)}")
            if name in ("hang", "malformed_json"):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative number")
            out[name] = value
        faults = cls(**out)
        if not 0 <= faults.error_rate <= 1:
            raise ValueError("error_rate must be between 0 and 1")
        if not 500 <= faults.error_status <= 599:
            raise ValueError("error_status must be a 5xx code")
        faults.latency_ms, faults.fail_next = int(faults.latency_ms), int(faults.fail_next)
        return faults


@dataclass
class Order:
    """An order as the supplier keeps it; its status follows the clock."""

    supplier: str
    order_id: str
    created_at: datetime
    items: list[dict]
    total: str
    currency: str
    ship_at: datetime
    deliver_at: datetime
    tracking_number: str
    reference: str | None = None
    ship_to: dict = field(default_factory=dict)
    cancelled_at: datetime | None = None

    def status_at(self, now: datetime) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        if now >= self.deliver_at:
            return "delivered"
        if now >= self.ship_at:
            return "shipped"
        return "confirmed"


class OrderNotFound(KeyError):
    """No such order at this supplier."""


class OrderAlreadyShipped(Exception):
    """The order left the warehouse: the supplier no longer cancels it."""

    def __init__(self, order: Order, status: str):
        super().__init__(f"order {order.order_id} is {status}")
        self.order, self.status = order, status


class SandboxState:
    """Everything the two fake suppliers remember between requests (thread-safe)."""

    def __init__(
        self,
        keys: dict[str, str] | None = None,
        faults: dict[str, dict] | None = None,
        clock: Clock | None = None,
        seed: int = 4,
    ):
        self.keys = {**DEFAULT_KEYS, **(keys or {})}
        self.clock: Clock = clock or SandboxClock()
        self.seed = seed
        self.lock = threading.RLock()
        self._initial_faults = faults or {}
        self._release = threading.Event()
        self.reset()

    def reset(self) -> None:
        """Clear faults (back to the configured ones), orders, counters; release hung requests."""
        with self.lock:
            self.faults = {s: Faults.from_dict(self._initial_faults.get(s, {})) for s in SUPPLIERS}
            self._rngs = {s: random.Random(f"{self.seed}:{s}") for s in SUPPLIERS}  # noqa: S311 - fault dice
            self.orders: dict[str, dict[str, Order]] = {s: {} for s in SUPPLIERS}
            self.idempotency: dict[str, dict[str, tuple[str, str]]] = {s: {} for s in SUPPLIERS}
            self.requests: Counter[str] = Counter()
            self._order_seq = {s: 0 for s in SUPPLIERS}
            old, self._release = self._release, threading.Event()
        old.set()
        if isinstance(self.clock, SandboxClock):
            self.clock.reset()

    def release_waiters(self) -> None:
        """Wake every request sleeping in a latency or hang fault (used when stopping)."""
        with self.lock:
            old, self._release = self._release, threading.Event()
        old.set()

    def set_faults(self, supplier: str, data: dict[str, Any]) -> Faults:
        """Change one supplier's faults at runtime (fields not given keep their value)."""
        with self.lock:
            faults = Faults.from_dict(data, self.faults[supplier])
            self.faults[supplier] = faults
            self._rngs[supplier] = random.Random(f"{self.seed}:{supplier}")  # noqa: S311
        if not faults.hang:
            self.release_waiters()
        return faults

    def clear_faults(self, supplier: str) -> None:
        with self.lock:
            self.faults[supplier] = Faults()
        self.release_waiters()

    def count(self, supplier: str, endpoint: str) -> None:
        with self.lock:
            self.requests[f"{supplier} {endpoint}"] += 1

    def draw_failure(self, supplier: str) -> tuple[Faults, bool]:
        """The supplier's faults and whether this request fails with a 5xx."""
        with self.lock:
            faults = self.faults[supplier]
            if faults.fail_next > 0:
                faults.fail_next -= 1
                return faults, True
            return faults, self._rngs[supplier].random() < faults.error_rate

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if woken early by a reset or stop."""
        return self._release.wait(seconds) if seconds > 0 else False

    def next_order_number(self, supplier: str) -> int:
        with self.lock:
            self._order_seq[supplier] += 1
            return self._order_seq[supplier]

    def cancel_order(self, supplier: str, order_id: str, now: datetime) -> Order:
        """Cancel an order before its ship time; cancelling a cancelled order changes nothing.

        Raises OrderNotFound, or OrderAlreadyShipped once the clock has passed its ship time.
        """
        with self.lock:  # a cancel racing the status clock or another cancel sees one answer
            order = self.orders[supplier].get(order_id)
            if order is None:
                raise OrderNotFound(order_id)
            status = order.status_at(now)
            if status in ("shipped", "delivered"):
                raise OrderAlreadyShipped(order, status)
            if order.cancelled_at is None:
                order.cancelled_at = now
            return order
