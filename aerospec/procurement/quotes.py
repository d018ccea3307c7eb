"""Compare suppliers' quotes concurrently, as each arrives, with a short per-item-set cache.

`compare_quotes` is synchronous (safe to call from a Flask view): each supplier is asked
in its own thread, results are handed to `on_result` in the calling thread as they land,
and a supplier still silent at the deadline is reported as timed out, so the whole call
lasts about as long as the slowest healthy supplier and never longer than `timeout`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from decimal import Decimal

from aerospec.procurement.clients import (
    QuoteItem,
    SupplierClient,
    SupplierError,
    SupplierQuote,
    SupplierTimeout,
)

log = logging.getLogger(__name__)

ItemsKey = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class QuoteResult:
    """One supplier's answer: a quote, or an error message fit to show on its card."""

    supplier: str
    label: str
    quote: SupplierQuote | None = None
    error: str | None = None
    error_type: str | None = None  # SupplierTimeout, SupplierRejected, … for styling and tests
    elapsed_seconds: float = 0.0
    cached: bool = False
    best_total: bool = False
    fastest_delivery: bool = False

    @property
    def ok(self) -> bool:
        return self.quote is not None

    def to_dict(self) -> dict:
        """The API's supplier entry: {"name", "total", "lead_time_days", "availability", "items", …}."""
        data = {
            "name": self.supplier,
            "label": self.label,
            "ok": self.ok,
            "error": self.error,
            "error_type": self.error_type,
            "elapsed_ms": round(self.elapsed_seconds * 1000),
            "cached": self.cached,
            "best_total": self.best_total,
            "fastest_delivery": self.fastest_delivery,
        }
        if self.quote is not None:
            data |= self.quote.to_dict()
            data.pop("supplier")
        return data


def items_key(items: Sequence[QuoteItem | Mapping | tuple]) -> ItemsKey:
    """The sorted item set, duplicates of a SKU summed: equal requests share a key."""
    totals: dict[str, int] = {}
    for item in map(QuoteItem.coerce, items):
        totals[item.sku] = totals.get(item.sku, 0) + item.qty
    return tuple(sorted(totals.items()))


class QuoteCache:
    """In-memory TTL cache of successful quotes per (supplier, item set); thread-safe."""

    def __init__(self, ttl_seconds: float = 60.0, max_entries: int = 512, clock: Callable[[], float] = time.monotonic):
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[str, ItemsKey], tuple[float, SupplierQuote]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, supplier: str, key: ItemsKey) -> SupplierQuote | None:
        with self._lock:
            entry = self._entries.get((supplier, key))
            if entry is None or entry[0] <= self._clock():
                if entry is not None:
                    del self._entries[(supplier, key)]
                self.misses += 1
                return None
            self.hits += 1
            return entry[1]

    def put(self, supplier: str, key: ItemsKey, quote: SupplierQuote) -> None:
        with self._lock:
            self._entries[(supplier, key)] = (self._clock() + self.ttl_seconds, quote)
            self._entries.move_to_end((supplier, key))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


default_cache = QuoteCache()


def _error_result(client: SupplierClient, exc: BaseException, elapsed: float) -> QuoteResult:
    if isinstance(exc, SupplierError):
        message = str(exc)
    else:
        log.error("quote from %s failed unexpectedly", client.name, exc_info=exc)
        message = f"{client.label}: unexpected error ({type(exc).__name__}); try again"
    return QuoteResult(client.name, client.label, error=message, error_type=type(exc).__name__, elapsed_seconds=elapsed)


@dataclass(frozen=True)
class Answer:
    """What one supplier's card shows, enough to compare it with the others' (see `marks`)."""

    supplier: str
    ok: bool
    total: Decimal | None = None
    currency: str | None = None
    lead_time_days: int | None = None
    availability: str | None = None
    best_total: bool = False
    fastest_delivery: bool = False

    @classmethod
    def of(cls, result: QuoteResult) -> Answer:
        q = result.quote
        if q is None:
            return cls(result.supplier, ok=False)
        return cls(result.supplier, True, q.total, q.currency, q.lead_time_days, q.availability)

    def to_token(self) -> dict:
        """JSON-ready (money as a string), for a signed hidden input on the card."""
        return {
            "supplier": self.supplier,
            "ok": self.ok,
            "total": None if self.total is None else str(self.total),
            "currency": self.currency,
            "lead_time_days": self.lead_time_days,
            "availability": self.availability,
        }

    @classmethod
    def from_token(cls, data: Mapping) -> Answer:
        total = data.get("total")
        return cls(
            str(data["supplier"]),
            bool(data["ok"]),
            None if total is None else Decimal(total),
            data.get("currency"),
            data.get("lead_time_days"),
            data.get("availability"),
        )


def marks(answers: Sequence[Answer]) -> dict[str, tuple[bool, bool]]:
    """{supplier: (best total, fastest delivery)} among complete quotes; ties are all marked."""
    eligible = [a for a in answers if a.ok and a.availability != "unavailable"]
    if not eligible:
        return {}
    best = min(a.total for a in eligible)
    fastest = min(a.lead_time_days for a in eligible)
    return {a.supplier: (a.total == best, a.lead_time_days == fastest) for a in eligible}


def summarise(answers: Sequence[Answer]) -> list[Answer]:
    """The answers with their best-total and fastest-delivery marks set."""
    flags = marks(answers)
    return [
        replace(a, best_total=flags[a.supplier][0], fastest_delivery=flags[a.supplier][1]) if a.supplier in flags else a
        for a in answers
    ]


def _flag(results: list[QuoteResult]) -> list[QuoteResult]:
    """Mark the cheapest total and the shortest lead time among complete quotes (ties all flagged)."""
    flags = marks([Answer.of(r) for r in results])
    return [
        replace(r, best_total=flags[r.supplier][0], fastest_delivery=flags[r.supplier][1]) if r.supplier in flags else r
        for r in results
    ]


def compare_quotes(
    clients: Sequence[SupplierClient],
    items: Sequence[QuoteItem | Mapping | tuple] | Mapping[str, Sequence[QuoteItem | Mapping | tuple]],
    timeout: float,
    *,
    on_result: Callable[[QuoteResult], None] | None = None,
    cache: QuoteCache | None = default_cache,
) -> list[QuoteResult]:
    """Ask every supplier at once; return one result per supplier (in `clients` order), flagged.

    `items` is one list for all suppliers, or {supplier name: its items} when each supplier
    has its own SKUs (a configuration's compatible actuators); a supplier with no items is
    skipped. `on_result` gets each result as it arrives, before the best/fastest flags are
    known. Pass `cache=None` to always ask the suppliers.
    """
    started = time.monotonic()
    deadline = started + timeout
    per_client: list[tuple[SupplierClient, list[QuoteItem]]] = []
    for client in clients:
        chosen = items.get(client.name, ()) if isinstance(items, Mapping) else items
        coerced = [QuoteItem.coerce(i) for i in chosen]
        if coerced:
            per_client.append((client, coerced))

    results: dict[str, QuoteResult] = {}

    def deliver(result: QuoteResult) -> None:
        results[result.supplier] = result
        if on_result is not None:
            on_result(result)

    to_fetch: list[tuple[SupplierClient, list[QuoteItem], ItemsKey]] = []
    for client, client_items in per_client:
        key = items_key(client_items)
        cached = cache.get(client.name, key) if cache is not None else None
        if cached is not None:
            deliver(QuoteResult(client.name, client.label, quote=cached, cached=True))
        else:
            to_fetch.append((client, client_items, key))

    if to_fetch:
        pool = ThreadPoolExecutor(max_workers=len(to_fetch), thread_name_prefix="supplier-quote")
        futures: dict[Future, tuple[SupplierClient, ItemsKey]] = {
            pool.submit(client.quote, client_items, deadline=deadline): (client, key)
            for client, client_items, key in to_fetch
        }
        try:
            pending = set(futures)
            while pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                done, pending = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
                for future in done:
                    client, key = futures[future]
                    elapsed = time.monotonic() - started
                    exc = future.exception()
                    if exc is not None:
                        deliver(_error_result(client, exc, elapsed))
                        continue
                    quote = future.result()
                    if cache is not None:
                        cache.put(client.name, key, quote)
                    deliver(QuoteResult(client.name, client.label, quote=quote, elapsed_seconds=elapsed))
            for future in pending:
                client, _ = futures[future]
                late = SupplierTimeout(client.label, f"{client.label} did not answer within {timeout:g} s")
                deliver(_error_result(client, late, time.monotonic() - started))
        finally:
            # Never wait for a hung supplier: its thread ends at the deadline on its own.
            pool.shutdown(wait=False, cancel_futures=True)

    ordered = [results[client.name] for client, _ in per_client if client.name in results]
    return _flag(ordered)
