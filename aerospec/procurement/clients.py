"""Supplier API clients: one interface, a Spencer and a Coster adapter, normalised results.

Every call goes over HTTP with httpx: a timeout per attempt, retries with exponential
backoff and jitter on timeouts, connection errors and 5xx, none on 4xx, and an optional
deadline (monotonic seconds) that caps attempts and sleeps so callers can bound the total.
Money is `Decimal` end to end, rounded to cents with ROUND_HALF_UP; the adapters check
the suppliers' own arithmetic and refuse a quote whose lines do not add up.
"""

from __future__ import annotations

import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote as url_quote

import httpx

CENT = Decimal("0.01")
AVAILABILITY = ("in_stock", "backorder", "unavailable")  # best to worst
ORDER_STATUSES = ("confirmed", "shipped", "delivered", "cancelled")


def money(amount: Decimal) -> Decimal:
    """Round to cents the way invoices do (half up), never through a float."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def worst_availability(values: Iterable[str]) -> str:
    """The quote-level availability: the worst of its lines."""
    return max(values, key=AVAILABILITY.index, default="unavailable")


# -- normalised results ---------------------------------------------------------------------


@dataclass(frozen=True)
class QuoteItem:
    """One SKU and quantity to quote or order."""

    sku: str
    qty: int

    @classmethod
    def coerce(cls, item: QuoteItem | Mapping | tuple) -> QuoteItem:
        """Accept a QuoteItem, {"sku", "qty"} (the API's shape) or a (sku, qty) pair."""
        if isinstance(item, QuoteItem):
            return item
        sku, qty = (item["sku"], item["qty"]) if isinstance(item, Mapping) else item
        if not isinstance(sku, str) or not sku.strip():
            raise ValueError("each item needs a sku")
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
            raise ValueError(f"{sku}: qty must be a whole number ≥ 1")
        return cls(sku.strip(), qty)


@dataclass(frozen=True)
class QuoteLine:
    """One quoted line; unavailable lines have no unit price and a zero line total."""

    sku: str
    qty: int
    unit_price: Decimal | None
    line_total: Decimal
    availability: str  # in_stock | backorder | unavailable
    lead_time_days: int | None
    message: str | None = None


@dataclass(frozen=True)
class SupplierQuote:
    """A supplier's quote in AeroSpec's terms, whatever the wire format was."""

    supplier: str
    items: tuple[QuoteLine, ...]
    subtotal: Decimal
    tax: Decimal
    shipping: Decimal
    total: Decimal
    currency: str
    lead_time_days: int
    availability: str  # in_stock | backorder | unavailable (worst line)
    quoted_at: datetime
    reference: str | None = None
    expected_delivery: date | None = None

    def to_dict(self) -> dict:
        """JSON-ready: money as strings (never floats), dates as ISO 8601."""
        data = asdict(self)
        data["items"] = [{k: _jsonable(v) for k, v in line.items()} for line in data["items"]]
        return {k: _jsonable(v) for k, v in data.items()}


@dataclass(frozen=True)
class PriceBreak:
    min_qty: int
    unit_price: Decimal


@dataclass(frozen=True)
class SkuPrice:
    """Price list, stock and lead time of one SKU, for the catalog sync."""

    supplier: str
    sku: str
    unit_price: Decimal | None  # at quantity 1
    breaks: tuple[PriceBreak, ...]
    stock: int
    lead_time_days: int | None
    availability: str  # in_stock | backorder | unavailable (unknown to the supplier)
    currency: str = "USD"

    def price_for(self, qty: int) -> Decimal | None:
        """Unit price at this quantity's volume break."""
        price = None
        for brk in self.breaks:
            if qty >= brk.min_qty:
                price = brk.unit_price
        return price


@dataclass(frozen=True)
class SupplierOrder:
    """An order as the supplier reports it (after submit, and on every status poll)."""

    supplier: str
    order_id: str
    status: str  # confirmed | shipped | delivered | cancelled
    tracking_number: str | None = None
    expected_delivery: date | None = None
    total: Decimal | None = None
    currency: str = "USD"
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    replayed: bool = False  # the supplier recognised the idempotency key: no new order was made
    raw: dict = field(default_factory=dict, compare=False, repr=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# -- errors ---------------------------------------------------------------------------------


class SupplierError(Exception):
    """Base of every supplier failure; `str()` is a sentence fit to show a user."""

    def __init__(self, supplier: str, message: str, *, status_code: int | None = None):
        super().__init__(message)
        self.supplier = supplier
        self.message = message
        self.status_code = status_code


class SupplierUnavailable(SupplierError):
    """Could not reach the supplier, or it kept answering 5xx (after retries)."""


class SupplierTimeout(SupplierUnavailable):
    """The supplier did not answer within the timeout (after retries, or at the deadline)."""


class SupplierRejected(SupplierError):
    """The supplier refused the request (4xx); not retried. Carries the supplier's message."""

    def __init__(self, supplier: str, message: str, *, status_code: int, code: str | None = None, details=()):
        super().__init__(supplier, message, status_code=status_code)
        self.code = code
        self.details = list(details)


class SupplierAuthError(SupplierRejected):
    """401/403: the API key is missing, wrong or revoked."""


class SupplierBadResponse(SupplierError):
    """The supplier answered 2xx with something we cannot read (malformed JSON, wrong shape, bad sums)."""


# -- the interface --------------------------------------------------------------------------


class SupplierClient(ABC):
    """Quote, price-list, order, order-status and cancel calls against one supplier's API."""

    name: str = ""
    label: str = ""
    prices_batch_size: int = 500

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
        backoff_cap: float = 2.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._lock = threading.Lock()
        self.requests_made = 0  # HTTP attempts, retries included
        self._http = httpx.Client(
            base_url=self.base_url,
            # SECURITY: the key travels only in this header, never in URLs or logs.
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "AeroSpec/0.1", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    # The operations every adapter implements.

    @abstractmethod
    def quote(self, items: Sequence[QuoteItem | Mapping], *, deadline: float | None = None) -> SupplierQuote:
        """Quote these items (all lines priced at their volume break)."""

    @abstractmethod
    def _prices_chunk(self, skus: list[str], deadline: float | None) -> list[SkuPrice]: ...

    @abstractmethod
    def submit_order(
        self,
        items: Sequence[QuoteItem | Mapping],
        *,
        idempotency_key: str,
        ship_to: Mapping[str, Any],
        reference: str | None = None,
    ) -> SupplierOrder:
        """Place an order; the same idempotency key never makes a second order."""

    @abstractmethod
    def order_status(self, order_id: str) -> SupplierOrder:
        """The order's current status, tracking number and expected delivery."""

    @abstractmethod
    def cancel_order(self, order_id: str) -> SupplierOrder:
        """Cancel an order not yet shipped (status "cancelled"; repeating it is harmless).

        Raises SupplierRejected with status_code 409 once the supplier has shipped it.
        """

    @abstractmethod
    def _rejection(self, body: Any) -> tuple[str | None, str, list]:
        """(code, message, details) from this supplier's 4xx body."""

    def prices(self, skus: Iterable[str], *, deadline: float | None = None) -> list[SkuPrice]:
        """Price lists and stock for many SKUs, `prices_batch_size` per request, in input order."""
        unique = list(dict.fromkeys(s for s in skus if s))
        out: list[SkuPrice] = []
        for start in range(0, len(unique), self.prices_batch_size):
            out.extend(self._prices_chunk(unique[start : start + self.prices_batch_size], deadline))
        return out

    # Plumbing.

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"

    def _backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        ceiling = min(self.backoff_cap, self.backoff * 2**attempt)
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping | None = None,
        headers: Mapping | None = None,
        deadline: float | None = None,
    ) -> tuple[Any, httpx.Response]:
        """Send with retries; return (parsed JSON, response) or raise a SupplierError."""
        attempts = self.retries + 1
        error: SupplierError | None = None
        sent = 0
        for attempt in range(attempts):
            timeout = self.timeout
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    error = error or SupplierTimeout(self.label, f"{self.label} did not answer in time")
                    break
                timeout = min(timeout, remaining)
            with self._lock:
                self.requests_made += 1
            sent += 1
            try:
                response = self._http.request(
                    method, path, json=json, params=params, headers=headers, timeout=httpx.Timeout(timeout)
                )
            except httpx.TimeoutException:
                error = SupplierTimeout(self.label, f"{self.label} did not answer within {timeout:.1f} s")
            except httpx.TransportError as exc:
                error = SupplierUnavailable(self.label, f"Could not reach {self.label} ({type(exc).__name__})")
            else:
                if response.status_code >= 500:
                    error = SupplierUnavailable(
                        self.label,
                        f"{self.label} is having problems (HTTP {response.status_code})",
                        status_code=response.status_code,
                    )
                elif response.status_code >= 400:
                    raise self._rejected(response)
                else:
                    try:
                        return response.json(), response
                    except ValueError:
                        raise SupplierBadResponse(
                            self.label,
                            f"{self.label} sent a response that is not valid JSON (HTTP {response.status_code})",
                            status_code=response.status_code,
                        ) from None
            if attempt + 1 < attempts:
                delay = self._backoff_delay(attempt)
                if deadline is not None and time.monotonic() + delay >= deadline:
                    break
                self._sleep(delay)
        assert error is not None
        if sent > 1:
            error.message = f"{error.message}; gave up after {sent} attempts"
            error.args = (error.message,)
        raise error

    def _rejected(self, response: httpx.Response) -> SupplierRejected:
        try:
            code, message, details = self._rejection(response.json())
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            code, message, details = None, response.text[:200] or response.reason_phrase, []
        status = response.status_code
        if status in (401, 403):
            return SupplierAuthError(
                self.label,
                f"{self.label} refused our API key (HTTP {status}: {message}). Check SUPPLIER_{self.name.upper()}_KEY.",
                status_code=status,
                code=code,
                details=details,
            )
        return SupplierRejected(
            self.label, f"{self.label} rejected the request: {message}", status_code=status, code=code, details=details
        )

    def _shape_error(self, exc: Exception) -> SupplierBadResponse:
        return SupplierBadResponse(self.label, f"{self.label} sent a response in an unexpected shape ({exc!r})")


def _parse_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _check(supplier: str, what: str, ours: Decimal, theirs: Decimal) -> None:
    """Refuse a quote whose sums disagree with ours by more than rounding."""
    if ours != theirs:
        raise SupplierBadResponse(supplier, f"{supplier}'s {what} does not add up ({theirs} sent, {ours} computed)")


_SHAPE_ERRORS = (KeyError, TypeError, ValueError, InvalidOperation, AttributeError)


# -- Spencer: integer cents, days, 422 with per-item errors -------------------------------------


def _per_thousand(cents: Any) -> Decimal:
    """Spencer's `price_per_1000_cents` (an integer) as a unit price in dollars."""
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise TypeError(f"price_per_1000_cents must be an integer, got {cents!r}")
    return Decimal(cents) / 100_000


def _cents(value: Any) -> Decimal:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"cents must be an integer, got {value!r}")
    return Decimal(value) / 100


class SpencerClient(SupplierClient):
    """Spencer: `POST /quotes` {"items": [{"sku", "quantity"}]}, amounts in integer cents."""

    name, label = "spencer", "Spencer"
    prices_batch_size = 500

    def quote(self, items, *, deadline=None) -> SupplierQuote:
        items = [QuoteItem.coerce(i) for i in items]
        body, _ = self._request(
            "POST", "/quotes", json={"items": [{"sku": i.sku, "quantity": i.qty} for i in items]}, deadline=deadline
        )
        try:
            lines = []
            for raw in body["items"]:
                unit, line_total, qty = (
                    _per_thousand(raw["price_per_1000_cents"]),
                    _cents(raw["line_total_cents"]),
                    int(raw["quantity"]),
                )
                _check(self.label, f"line total for {raw['sku']}", money(unit * qty), line_total)
                availability = {"in_stock": "in_stock", "backorder": "backorder"}[raw["status"]]
                lines.append(QuoteLine(raw["sku"], qty, unit, line_total, availability, int(raw["lead_time_days"])))
            subtotal = sum((line.line_total for line in lines), Decimal("0.00"))
            _check(self.label, "subtotal", subtotal, _cents(body["subtotal_cents"]))
            tax, shipping = _cents(body["tax_cents"]), _cents(body["shipping_cents"])
            total = subtotal + tax + shipping
            _check(self.label, "total", total, _cents(body["total_cents"]))
            return SupplierQuote(
                supplier=self.name,
                items=tuple(lines),
                subtotal=money(subtotal),
                tax=money(tax),
                shipping=money(shipping),
                total=money(total),
                currency=body["currency"],
                lead_time_days=int(body["lead_time_days"]),
                availability=worst_availability(line.availability for line in lines),
                quoted_at=_parse_datetime(body.get("created_at")) or datetime.now(UTC),
                reference=body.get("quote_id"),
            )
        except SupplierBadResponse:
            raise
        except _SHAPE_ERRORS as exc:
            raise self._shape_error(exc) from None

    def _prices_chunk(self, skus, deadline) -> list[SkuPrice]:
        body, _ = self._request("GET", "/prices", params={"skus": ",".join(skus)}, deadline=deadline)
        try:
            found = {}
            for raw in body["prices"]:
                breaks = tuple(
                    PriceBreak(int(b["min_quantity"]), _per_thousand(b["price_per_1000_cents"])) for b in raw["breaks"]
                )
                stock = int(raw["stock"])
                found[raw["sku"]] = SkuPrice(
                    supplier=self.name,
                    sku=raw["sku"],
                    unit_price=breaks[0].unit_price if breaks else None,
                    breaks=breaks,
                    stock=stock,
                    lead_time_days=int(raw["lead_time_days"]),
                    availability="in_stock" if stock > 0 else "backorder",
                    currency=body["currency"],
                )
        except _SHAPE_ERRORS as exc:
            raise self._shape_error(exc) from None
        return [found.get(sku) or SkuPrice(self.name, sku, None, (), 0, None, "unavailable") for sku in skus]

    def submit_order(self, items, *, idempotency_key, ship_to, reference=None) -> SupplierOrder:
        items = [QuoteItem.coerce(i) for i in items]
        payload = {
            "items": [{"sku": i.sku, "quantity": i.qty} for i in items],
            "ship_to": dict(ship_to),
            "reference": reference,
        }
        body, response = self._request("POST", "/orders", json=payload, headers={"Idempotency-Key": idempotency_key})
        return self._order(body, replayed=response.headers.get("Idempotent-Replayed") == "true")

    def order_status(self, order_id) -> SupplierOrder:
        body, _ = self._request("GET", f"/orders/{url_quote(order_id, safe='')}")
        return self._order(body)

    def cancel_order(self, order_id) -> SupplierOrder:
        body, _ = self._request("POST", f"/orders/{url_quote(order_id, safe='')}/cancel")
        return self._order(body)

    def _order(self, body: dict, replayed: bool = False) -> SupplierOrder:
        try:
            status = body["status"]
            if status not in ORDER_STATUSES:
                raise ValueError(f"unknown status {status!r}")
            return SupplierOrder(
                supplier=self.name,
                order_id=body["order_id"],
                status=status,
                tracking_number=body.get("tracking_number"),
                expected_delivery=date.fromisoformat(body["estimated_delivery"])
                if body.get("estimated_delivery")
                else None,
                total=money(_cents(body["total_cents"])) if body.get("total_cents") is not None else None,
                currency=body.get("currency", "USD"),
                shipped_at=_parse_datetime(body.get("shipped_at")),
                delivered_at=_parse_datetime(body.get("delivered_at")),
                cancelled_at=_parse_datetime(body.get("cancelled_at")),
                replayed=replayed,
                raw=body,
            )
        except _SHAPE_ERRORS as exc:
            raise self._shape_error(exc) from None

    def _rejection(self, body):
        error = body["error"]
        details = error.get("details") or []
        message = error["message"]
        if details:
            message += ": " + "; ".join(d.get("message", "") for d in details)
        return error.get("code"), message, details


# -- Coster: decimal strings, delivery weeks and an ETA, unknown codes marked UNAVAILABLE -----


def _decimal(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise TypeError(f"amount must be a decimal string, got {value!r}")
    return Decimal(value)


class CosterClient(SupplierClient):
    """Coster: `POST /v2/quote` {"line_items": [{"code", "qty"}]}, decimal strings, weeks."""

    name, label = "coster", "Coster"
    prices_batch_size = 1_000
    _availability = {"IN_STOCK": "in_stock", "BACKORDER": "backorder", "UNAVAILABLE": "unavailable"}
    _states = {"CONFIRMED": "confirmed", "DISPATCHED": "shipped", "DELIVERED": "delivered", "CANCELLED": "cancelled"}

    def quote(self, items, *, deadline=None) -> SupplierQuote:
        items = [QuoteItem.coerce(i) for i in items]
        payload = {"line_items": [{"code": i.sku, "qty": i.qty} for i in items]}
        body, _ = self._request("POST", "/v2/quote", json=payload, deadline=deadline)
        try:
            data = body["data"]
            lines = []
            for raw in data["line_items"]:
                availability = self._availability[raw["availability"]]
                qty = int(raw["qty"])
                line_total = _decimal(raw["line_total"])
                if availability == "unavailable":
                    lines.append(QuoteLine(raw["code"], qty, None, money(line_total), availability, None,
                                           raw.get("message") or "Not available from Coster"))  # fmt: skip
                    continue
                unit = _decimal(raw["unit_price"])
                _check(self.label, f"line total for {raw['code']}", money(unit * qty), line_total)
                weeks = int(raw["delivery_weeks"])
                lines.append(QuoteLine(raw["code"], qty, unit, line_total, availability, weeks * 7))
            totals = data["totals"]
            subtotal = sum((line.line_total for line in lines), Decimal("0.00"))
            _check(self.label, "net total", subtotal, _decimal(totals["net"]))
            tax, shipping = _decimal(totals["vat"]), _decimal(totals["freight"])
            total = subtotal + tax + shipping
            _check(self.label, "gross total", total, _decimal(totals["gross"]))
            return SupplierQuote(
                supplier=self.name,
                items=tuple(lines),
                subtotal=money(subtotal),
                tax=money(tax),
                shipping=money(shipping),
                total=money(total),
                currency=data["currency"],
                lead_time_days=max((line.lead_time_days or 0 for line in lines), default=0),
                availability=worst_availability(line.availability for line in lines),
                quoted_at=_parse_datetime(data.get("issued")) or datetime.now(UTC),
                reference=data.get("quote_ref"),
                expected_delivery=date.fromisoformat(data["eta"]) if data.get("eta") else None,
            )
        except SupplierBadResponse:
            raise
        except _SHAPE_ERRORS as exc:
            raise self._shape_error(exc) from None

    def _prices_chunk(self, skus, deadline) -> list[SkuPrice]:
        body, _ = self._request("POST", "/v2/catalog/prices", json={"codes": skus}, deadline=deadline)
        try:
            currency = body["meta"]["currency"]
            found = {}
            for raw in body["data"]:
                if raw["status"] != "AVAILABLE":
                    found[raw["code"]] = SkuPrice(self.name, raw["code"], None, (), 0, None, "unavailable", currency)
                    continue
                breaks = tuple(PriceBreak(int(t["from"]), _decimal(t["price"])) for t in raw["tiers"])
                stock = int(raw["on_hand"])
                found[raw["code"]] = SkuPrice(
                    supplier=self.name,
                    sku=raw["code"],
                    unit_price=breaks[0].unit_price if breaks else None,
                    breaks=breaks,
                    stock=stock,
                    lead_time_days=int(raw["delivery_weeks"]) * 7,
                    availability="in_stock" if stock > 0 else "backorder",
                    currency=currency,
                )
        except _SHAPE_ERRORS as exc:
            raise self._shape_error(exc) from None
        return [found.get(sku) or SkuPrice(self.name, sku, None, (), 0, None, "unavailable") for sku in skus]

    def submit_order(self, items, *, idempotency_key, ship_to, reference=None) -> SupplierOrder:
        items = [QuoteItem.coerce(i) for i in items]
        payload = {
            "line_items": [{"code": i.sku, "qty": i.qty} for i in items],
            "delivery_address": dict(ship_to),
            "customer_ref": reference,
        }
        body, response = self._request("POST", "/v2/orders", json=payload, headers={"Idempotency-Key": idempotency_key})
        return self._order(body, replayed=response.status_code == 200)

    def order_status(self, order_id) -> SupplierOrder:
        body, _ = self._request("GET", f"/v2/orders/{url_quote(order_id, safe='')}")
        return self._order(body)

    def cancel_order(self, order_id) -> SupplierOrder:
        body, _ = self._request("DELETE", f"/v2/orders/{url_quote(order_id, safe='')}")
        return self._order(body)

    def _order(self, body: dict, replayed: bool = False) -> SupplierOrder:
        try:
            data = body["data"]
            shipment = data.get("shipment") or {}
            return SupplierOrder(
                supplier=self.name,
                order_id=data["id"],
                status=self._states[data["state"]],
                tracking_number=shipment.get("tracking"),
                expected_delivery=date.fromisoformat(data["eta"]) if data.get("eta") else None,
                total=money(_decimal(data["totals"]["gross"])) if data.get("totals") else None,
                currency=data.get("currency", "USD"),
                shipped_at=_parse_datetime(shipment.get("dispatched")),
                delivered_at=_parse_datetime(data.get("delivered")),
                cancelled_at=_parse_datetime(data.get("cancelled")),
                replayed=replayed,
                raw=body,
            )
        except _SHAPE_ERRORS as exc:
            raise self._shape_error(exc) from None

    def _rejection(self, body):
        errors = body["errors"]
        parts = [e.get("detail") or e.get("title") or "" for e in errors]
        return errors[0].get("code"), "; ".join(p for p in parts if p), errors[1:]


CLIENT_CLASSES: dict[str, type[SupplierClient]] = {"spencer": SpencerClient, "coster": CosterClient}


def clients_from_config(config: Mapping[str, Any], **kwargs) -> list[SupplierClient]:
    """Both suppliers' clients from the app settings (SUPPLIER_<NAME>_URL/_KEY, timeout, retries)."""
    options = {
        "timeout": float(config.get("SUPPLIER_TIMEOUT_SECONDS", 5.0)),
        "retries": int(config.get("SUPPLIER_RETRIES", 2)),
    } | kwargs
    return [
        cls(config[f"SUPPLIER_{name.upper()}_URL"], config[f"SUPPLIER_{name.upper()}_KEY"], **options)
        for name, cls in CLIENT_CLASSES.items()
    ]
