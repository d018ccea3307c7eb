"""The sandbox WSGI app: Spencer under /spencer, Coster under /coster, admin under /_*.

The two APIs differ on purpose, as real suppliers do:

Spencer (integer cents, days, 422 with per-item errors)
    POST /spencer/quotes        {"items": [{"sku", "quantity"}]}
    GET  /spencer/prices?skus=A,B,…   (≤ 500 SKUs; prices per 1,000 units in cents)
    POST /spencer/orders        {"items": [...], "ship_to": {...}, "reference"}  Idempotency-Key required
    GET  /spencer/orders/<id>
    POST /spencer/orders/<id>/cancel    200 before the ship time, 409 "order_shipped" after

Coster (decimal strings, delivery weeks and an ETA, unknown codes marked UNAVAILABLE)
    POST /coster/v2/quote           {"line_items": [{"code", "qty"}]}
    POST /coster/v2/catalog/prices  {"codes": [...]}   (≤ 1,000 codes)
    POST /coster/v2/orders          {"line_items": [...], "delivery_address": {...}}  Idempotency-Key honoured
    GET  /coster/v2/orders/<id>
    DELETE /coster/v2/orders/<id>       200 before dispatch, 409 "ORDER_DISPATCHED" after

Admin (sandbox only, no key): GET/POST/DELETE /_faults, GET/POST /_clock, GET /_stats, POST /_reset.
Every supplier endpoint wants `Authorization: Bearer <key>` and answers 401 without it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from aerospec.sandbox import pricing
from aerospec.sandbox.state import SUPPLIERS, Faults, Order, OrderAlreadyShipped, OrderNotFound, SandboxState

SPENCER_MAX_SKUS = 500
COSTER_MAX_CODES = 1_000
MAX_QUANTITY = 1_000_000
CENT = Decimal("0.01")
SPENCER_TAX_RATE = Decimal("0.0725")
COSTER_VAT_RATE = Decimal("0.06")
TRANSIT_DAYS = {"spencer": 2, "coster": 3}


class ApiError(Exception):
    """A supplier-style error answer (each supplier formats the body its own way)."""

    def __init__(self, status: int, code: str, message: str, details: list[dict] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []


def _json(data: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json", headers=headers)


def _cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class SandboxApp:
    """Both fake suppliers as one WSGI callable; all state lives in `self.state`."""

    def __init__(self, state: SandboxState | None = None):
        self.state = state or SandboxState()
        self.url_map = Map(
            [
                Rule("/spencer/quotes", endpoint="spencer_quote", methods=["POST"]),
                Rule("/spencer/prices", endpoint="spencer_prices", methods=["GET"]),
                Rule("/spencer/orders", endpoint="spencer_create_order", methods=["POST"]),
                Rule("/spencer/orders/<order_id>", endpoint="spencer_order", methods=["GET"]),
                Rule("/spencer/orders/<order_id>/cancel", endpoint="spencer_cancel_order", methods=["POST"]),
                Rule("/coster/v2/quote", endpoint="coster_quote", methods=["POST"]),
                Rule("/coster/v2/catalog/prices", endpoint="coster_prices", methods=["POST"]),
                Rule("/coster/v2/orders", endpoint="coster_create_order", methods=["POST"]),
                Rule("/coster/v2/orders/<order_id>", endpoint="coster_order", methods=["GET"]),
                Rule("/coster/v2/orders/<order_id>", endpoint="coster_cancel_order", methods=["DELETE"]),
                Rule("/_faults", endpoint="admin_faults", methods=["GET", "POST", "DELETE"]),
                Rule("/_clock", endpoint="admin_clock", methods=["GET", "POST"]),
                Rule("/_stats", endpoint="admin_stats", methods=["GET"]),
                Rule("/_reset", endpoint="admin_reset", methods=["POST"]),
                Rule("/_health", endpoint="admin_health", methods=["GET"]),
            ]
        )

    def __call__(self, environ, start_response):
        return self.dispatch(Request(environ))(environ, start_response)

    # -- plumbing ---------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            rule, args = adapter.match(return_rule=True)
        except HTTPException as exc:
            supplier = request.path.strip("/").split("/")[0]
            if supplier in SUPPLIERS:
                return self._error(supplier, ApiError(exc.code or 404, "not_found", exc.description or "Not found"))
            return exc
        endpoint = rule.endpoint
        if endpoint.startswith("admin_"):
            try:
                return getattr(self, endpoint)(request)
            except ValueError as exc:
                return _json({"error": str(exc)}, 400)
        supplier = endpoint.split("_")[0]
        return self._supplier_call(supplier, endpoint, rule.rule, request, args)

    def _supplier_call(self, supplier: str, endpoint: str, path: str, request: Request, args: dict) -> Response:
        self.state.count(supplier, f"{request.method} {path.removeprefix('/' + supplier)}")
        faults, fail = self.state.draw_failure(supplier)
        if faults.latency_ms:
            self.state.wait(faults.latency_ms / 1000)
        if faults.hang and not self.state.wait(faults.hang_seconds):
            return self._error(supplier, ApiError(504, "gateway_timeout", "Upstream timed out"))
        if fail:
            return self._error(supplier, ApiError(faults.error_status, "server_error", "Temporary failure, retry"))
        # SECURITY: sandbox keys are compared in constant time like a real API would.
        auth = request.headers.get("Authorization", "")
        expected = f"Bearer {self.state.keys[supplier]}"
        if not hmac.compare_digest(auth.encode(), expected.encode()):
            return self._error(supplier, ApiError(401, "unauthorized", "Missing or invalid API key"))
        try:
            response = getattr(self, endpoint)(request, **args)
        except ApiError as exc:
            return self._error(supplier, exc)
        if faults.malformed_json and response.status_code < 400:
            response.set_data(response.get_data()[: max(1, len(response.get_data()) // 2)])
        return response

    def _error(self, supplier: str, exc: ApiError) -> Response:
        if supplier == "spencer":
            body: dict = {"error": {"code": exc.code, "message": exc.message}}
            if exc.details:
                body["error"]["details"] = exc.details
        else:
            body = {"errors": [{"status": str(exc.status), "code": exc.code, "title": exc.message}]}
            body["errors"] += [{"status": str(exc.status), "code": exc.code, **d} for d in exc.details]
        return _json(body, exc.status)

    @staticmethod
    def _body(request: Request) -> dict:
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            raise ApiError(400, "invalid_json", "Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_request", "Request body must be a JSON object")
        return body

    @property
    def now(self) -> datetime:
        return self.state.clock.now()

    # -- Spencer ----------------------------------------------------------------------

    def _spencer_items(self, body: dict) -> list[tuple[str, int, pricing.Offer]]:
        items = body.get("items")
        if not isinstance(items, list) or not items:
            raise ApiError(422, "invalid_request", "items must be a non-empty list")
        out, details = [], []
        for index, item in enumerate(items):
            sku = item.get("sku") if isinstance(item, dict) else None
            qty = item.get("quantity") if isinstance(item, dict) else None
            if not isinstance(sku, str) or not sku:
                details.append({"index": index, "sku": sku, "message": "sku is required"})
            elif not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= MAX_QUANTITY:
                details.append({"index": index, "sku": sku, "message": f"quantity must be 1–{MAX_QUANTITY}"})
            elif (offer := pricing.offer("spencer", sku)) is None:
                details.append({"index": index, "sku": sku, "message": f"Unknown SKU {sku}"})
            else:
                out.append((sku, qty, offer))
        if details:
            raise ApiError(422, "invalid_items", f"{len(details)} of {len(items)} items could not be quoted", details)
        return out

    def _spencer_priced(self, items: list[tuple[str, int, pricing.Offer]]) -> dict:
        lines, subtotal, lead = [], 0, 0
        for sku, qty, offer in items:
            unit = offer.unit_price("spencer", qty)
            line_cents = _cents(unit * qty)
            subtotal += line_cents
            days = offer.lead_for(qty)
            lead = max(lead, days)
            lines.append(
                {
                    "sku": sku,
                    "quantity": qty,
                    "price_per_1000_cents": int(unit * 100_000),
                    "line_total_cents": line_cents,
                    "stock": offer.stock,
                    "lead_time_days": days,
                    "status": "in_stock" if qty <= offer.stock else "backorder",
                }
            )
        tax = _cents(Decimal(subtotal) / 100 * SPENCER_TAX_RATE)
        total_qty = sum(qty for _, qty, _ in items)
        shipping = 0 if subtotal >= 100_000 else 1250 + 150 * math.ceil(total_qty / 1000)
        return {
            "currency": "USD",
            "items": lines,
            "subtotal_cents": subtotal,
            "tax_cents": tax,
            "shipping_cents": shipping,
            "total_cents": subtotal + tax + shipping,
            "lead_time_days": lead,
        }

    def spencer_quote(self, request: Request) -> Response:
        priced = self._spencer_priced(self._spencer_items(self._body(request)))
        now = self.now
        quote_id = "SQ-" + hashlib.sha256(f"{now.isoformat()}{priced}".encode()).hexdigest()[:10].upper()
        return _json(
            {"quote_id": quote_id, "created_at": now.isoformat(), "valid_until": (now + timedelta(days=14)).isoformat()}
            | priced
        )

    def spencer_prices(self, request: Request) -> Response:
        skus = [s for s in request.args.get("skus", "").split(",") if s]
        if not skus:
            raise ApiError(422, "invalid_request", "skus is required (comma-separated)")
        if len(skus) > SPENCER_MAX_SKUS:
            raise ApiError(422, "too_many_skus", f"At most {SPENCER_MAX_SKUS} SKUs per request")
        prices, unknown = [], []
        for sku in skus:
            offer = pricing.offer("spencer", sku)
            if offer is None:
                unknown.append(sku)
                continue
            prices.append(
                {
                    "sku": sku,
                    "breaks": [
                        {"min_quantity": q, "price_per_1000_cents": int(p * 100_000)}
                        for q, p in offer.breaks("spencer")
                    ],
                    "stock": offer.stock,
                    "lead_time_days": offer.lead_for(1),
                    "backorder_lead_time_days": offer.backorder_days,
                }
            )
        return _json({"currency": "USD", "as_of": self.now.isoformat(), "prices": prices, "unknown_skus": unknown})

    def spencer_create_order(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            raise ApiError(400, "idempotency_key_required", "Send an Idempotency-Key header with every order")
        body = self._body(request)
        order, replayed = self._create_order("spencer", key, body, lambda: self._spencer_items(body))
        status = 200 if replayed else 201
        return _json(self._spencer_order_json(order), status, {"Idempotent-Replayed": str(replayed).lower()})

    def spencer_order(self, request: Request, order_id: str) -> Response:
        order = self.state.orders["spencer"].get(order_id)
        if order is None:
            raise ApiError(404, "not_found", f"No order {order_id}")
        return _json(self._spencer_order_json(order))

    def spencer_cancel_order(self, request: Request, order_id: str) -> Response:
        try:
            order = self.state.cancel_order("spencer", order_id, self.now)
        except OrderNotFound:
            raise ApiError(404, "not_found", f"No order {order_id}") from None
        except OrderAlreadyShipped as exc:
            raise ApiError(
                409,
                "order_shipped",
                f"Order {order_id} has already {exc.status} (tracking {exc.order.tracking_number}) "
                "and can no longer be cancelled",
            ) from None
        return _json(self._spencer_order_json(order))

    def _spencer_order_json(self, order: Order) -> dict:
        now = self.now
        status = order.status_at(now)
        moving = status in ("shipped", "delivered")
        return {
            "order_id": order.order_id,
            "status": status,
            "reference": order.reference,
            "created_at": order.created_at.isoformat(),
            "items": order.items,
            "total_cents": _cents(Decimal(order.total)),
            "currency": order.currency,
            "tracking_number": order.tracking_number if moving else None,
            "shipped_at": order.ship_at.isoformat() if moving else None,
            "delivered_at": order.deliver_at.isoformat() if status == "delivered" else None,
            "estimated_delivery": order.deliver_at.date().isoformat() if status != "cancelled" else None,
            "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
        }

    # -- Coster -----------------------------------------------------------------------

    def _coster_lines(self, body: dict) -> list[tuple[str, int, pricing.Offer | None]]:
        lines = body.get("line_items")
        if not isinstance(lines, list) or not lines:
            raise ApiError(400, "invalid_request", "line_items must be a non-empty array")
        out = []
        for index, line in enumerate(lines):
            code = line.get("code") if isinstance(line, dict) else None
            qty = line.get("qty") if isinstance(line, dict) else None
            if not isinstance(code, str) or not code:
                raise ApiError(400, "invalid_request", f"line_items[{index}].code is required")
            if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= MAX_QUANTITY:
                raise ApiError(400, "invalid_request", f"line_items[{index}].qty must be 1–{MAX_QUANTITY}")
            out.append((code, qty, pricing.offer("coster", code)))
        return out

    def _coster_priced(self, lines: list[tuple[str, int, pricing.Offer | None]]) -> dict:
        out, net, lead = [], Decimal(0), 0
        for code, qty, offer in lines:
            if offer is None:
                out.append(
                    {"code": code, "qty": qty, "availability": "UNAVAILABLE", "unit_price": None,
                     "line_total": "0.00", "delivery_weeks": None, "message": "Unknown product code"}
                )  # fmt: skip
                continue
            unit = offer.unit_price("coster", qty)
            line_total = _money(unit * qty)
            net += line_total
            days = offer.lead_for(qty)
            lead = max(lead, days)
            out.append(
                {
                    "code": code,
                    "qty": qty,
                    "availability": "IN_STOCK" if qty <= offer.stock else "BACKORDER",
                    "unit_price": str(unit),
                    "line_total": str(line_total),
                    "delivery_weeks": math.ceil(days / 7),
                }
            )
        vat = _money(net * COSTER_VAT_RATE)
        freight = Decimal("0.00") if net >= 2000 or net == 0 else Decimal("24.00")
        weeks = max((line["delivery_weeks"] or 0 for line in out), default=0)
        return {
            "line_items": out,
            "totals": {"net": str(net), "vat": str(vat), "freight": str(freight), "gross": str(net + vat + freight)},
            "currency": "USD",
            "eta": (self.now + timedelta(weeks=weeks)).date().isoformat(),
        }

    def coster_quote(self, request: Request) -> Response:
        priced = self._coster_priced(self._coster_lines(self._body(request)))
        now = self.now
        ref = "CQ-" + hashlib.sha256(f"{now.isoformat()}{priced}".encode()).hexdigest()[:8].upper()
        return _json({"data": {"quote_ref": ref, "issued": now.isoformat(), "vat_rate": str(COSTER_VAT_RATE)} | priced})

    def coster_prices(self, request: Request) -> Response:
        codes = self._body(request).get("codes")
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
            raise ApiError(400, "invalid_request", "codes must be a non-empty array of strings")
        if len(codes) > COSTER_MAX_CODES:
            raise ApiError(413, "too_many_codes", f"At most {COSTER_MAX_CODES} codes per request")
        data = []
        for code in codes:
            offer = pricing.offer("coster", code)
            if offer is None:
                data.append({"code": code, "status": "UNAVAILABLE", "tiers": [], "on_hand": 0, "delivery_weeks": None})
                continue
            data.append(
                {
                    "code": code,
                    "status": "AVAILABLE",
                    "tiers": [{"from": q, "price": str(p)} for q, p in offer.breaks("coster")],
                    "on_hand": offer.stock,
                    "delivery_weeks": math.ceil(offer.lead_for(1) / 7),
                }
            )
        return _json({"data": data, "meta": {"count": len(data), "currency": "USD", "as_of": self.now.isoformat()}})

    def coster_create_order(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip() or None
        body = self._body(request)

        def validate():
            lines = self._coster_lines(body)
            unknown = [
                {"detail": f"Unknown product code {code}", "source": {"pointer": f"/line_items/{i}/code"}}
                for i, (code, _, offer) in enumerate(lines)
                if offer is None
            ]
            if unknown:
                raise ApiError(422, "unprocessable", "Order contains unavailable products", unknown)
            return lines

        order, replayed = self._create_order("coster", key, body, validate)
        return _json({"data": self._coster_order_json(order)}, 200 if replayed else 201)

    def coster_order(self, request: Request, order_id: str) -> Response:
        order = self.state.orders["coster"].get(order_id)
        if order is None:
            raise ApiError(404, "not_found", f"Order {order_id} not found")
        return _json({"data": self._coster_order_json(order)})

    def coster_cancel_order(self, request: Request, order_id: str) -> Response:
        try:
            order = self.state.cancel_order("coster", order_id, self.now)
        except OrderNotFound:
            raise ApiError(404, "not_found", f"Order {order_id} not found") from None
        except OrderAlreadyShipped as exc:
            state = {"shipped": "DISPATCHED", "delivered": "DELIVERED"}[exc.status]
            raise ApiError(
                409,
                "ORDER_DISPATCHED",
                f"Order {order_id} is {state} and cannot be cancelled",
                [{"detail": f"Shipment {exc.order.tracking_number} left the warehouse on "
                            f"{exc.order.ship_at.date().isoformat()}", "source": {"pointer": "/state"}}],
            ) from None  # fmt: skip
        return _json({"data": self._coster_order_json(order)})

    def _coster_order_json(self, order: Order) -> dict:
        status = order.status_at(self.now)
        states = {"confirmed": "CONFIRMED", "shipped": "DISPATCHED", "delivered": "DELIVERED", "cancelled": "CANCELLED"}
        return {
            "id": order.order_id,
            "state": states[status],
            "customer_ref": order.reference,
            "created": order.created_at.isoformat(),
            "line_items": order.items,
            "totals": {"gross": order.total},
            "currency": order.currency,
            "eta": order.deliver_at.date().isoformat() if status != "cancelled" else None,
            "shipment": {"carrier": "DHL", "tracking": order.tracking_number, "dispatched": order.ship_at.isoformat()}
            if status in ("shipped", "delivered")
            else None,
            "delivered": order.deliver_at.isoformat() if status == "delivered" else None,
            "cancelled": order.cancelled_at.isoformat() if order.cancelled_at else None,
        }

    # -- orders (shared) ----------------------------------------------------------------

    def _create_order(self, supplier: str, key: str | None, body: dict, validate) -> tuple[Order, bool]:
        """Create an order, or return the one this idempotency key already created."""
        fingerprint = _fingerprint(body)
        with self.state.lock:  # check-and-create is atomic, so two racing retries make one order
            if key and key in self.state.idempotency[supplier]:
                seen_fingerprint, order_id = self.state.idempotency[supplier][key]
                if seen_fingerprint != fingerprint:
                    raise ApiError(422, "idempotency_key_reused", "Idempotency-Key was used with a different request")
                return self.state.orders[supplier][order_id], True
            items = validate()
            number = self.state.next_order_number(supplier)
            order_id = f"SO-{100000 + number}" if supplier == "spencer" else f"CV-ORD-{number:06d}"
            if supplier == "spencer":
                priced = self._spencer_priced(items)
                total, lead = str(Decimal(priced["total_cents"]) / 100), priced["lead_time_days"]
                lines = [{"sku": s, "quantity": q} for s, q, _ in items]
                reference, ship_to = body.get("reference"), body.get("ship_to") or {}
            else:
                priced = self._coster_priced(items)
                total = priced["totals"]["gross"]
                lead = max(offer.lead_for(q) for _, q, offer in items)
                lines = [{"code": c, "qty": q} for c, q, _ in items]
                reference, ship_to = body.get("customer_ref"), body.get("delivery_address") or {}
            now = self.now
            transit = TRANSIT_DAYS[supplier]
            digest = hashlib.sha256(f"{supplier}:{order_id}".encode()).hexdigest().upper()
            tracking = "1Z" + digest[:16] if supplier == "spencer" else "JD01" + str(int(digest[:12], 16))[:14]
            order = Order(
                supplier=supplier,
                order_id=order_id,
                created_at=now,
                items=lines,
                total=total,
                currency="USD",
                ship_at=now + timedelta(days=max(1, lead - transit)),
                deliver_at=now + timedelta(days=max(lead, 1 + transit)),
                tracking_number=tracking,
                reference=reference,
                ship_to=ship_to,
            )
            self.state.orders[supplier][order_id] = order
            if key:
                self.state.idempotency[supplier][key] = (fingerprint, order_id)
            return order, False

    # -- admin ------------------------------------------------------------------------

    def admin_faults(self, request: Request) -> Response:
        """GET shows faults; POST {"spencer": {...}, "coster": {...}} changes them; DELETE clears."""
        if request.method == "POST":
            body = json.loads(request.get_data(as_text=True) or "{}")
            if not isinstance(body, dict) or not set(body) <= set(SUPPLIERS):
                raise ValueError(f"send {{supplier: {{fault: value}}}} with supplier in {SUPPLIERS}")
            for supplier, data in body.items():
                if not isinstance(data, dict):
                    raise ValueError(f"{supplier}: faults must be an object")
                self.state.set_faults(supplier, data)
        elif request.method == "DELETE":
            for supplier in request.args.get("supplier", ",".join(SUPPLIERS)).split(","):
                if supplier not in SUPPLIERS:
                    raise ValueError(f"unknown supplier {supplier!r}")
                self.state.clear_faults(supplier)
        return _json({s: vars(self.state.faults[s]) for s in SUPPLIERS})

    def admin_clock(self, request: Request) -> Response:
        """GET the sandbox time; POST {"advance_seconds": N} moves it forward."""
        if request.method == "POST":
            body = json.loads(request.get_data(as_text=True) or "{}")
            seconds = body.get("advance_seconds") if isinstance(body, dict) else None
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                raise ValueError("advance_seconds must be a non-negative number")
            advance = getattr(self.state.clock, "advance", None)
            if advance is None:
                raise ValueError("this sandbox runs on an injected clock; advance it directly")
            advance(seconds)
        return _json({"now": self.now.isoformat()})

    def admin_stats(self, request: Request) -> Response:
        """Requests received per supplier endpoint since the last reset."""
        with self.state.lock:
            counts = dict(self.state.requests)
            orders = {s: len(self.state.orders[s]) for s in SUPPLIERS}
        return _json({"requests": counts, "orders": orders})

    def admin_reset(self, request: Request) -> Response:
        """Back to the configured faults, no orders, zero counters, clock offset zero."""
        self.state.reset()
        return _json({"ok": True})

    def admin_health(self, request: Request) -> Response:
        return _json({"ok": True, "suppliers": list(SUPPLIERS)})


def create_sandbox_app(
    keys: dict[str, str] | None = None, faults: dict[str, dict] | None = None, clock=None
) -> SandboxApp:
    """A sandbox with these keys, starting faults ({"coster": {"latency_ms": 200}}) and clock."""
    for supplier, data in (faults or {}).items():
        if supplier not in SUPPLIERS:
            raise ValueError(f"unknown supplier {supplier!r}")
        Faults.from_dict(data)  # fail fast on a typo in configuration
    return SandboxApp(SandboxState(keys=keys, faults=faults, clock=clock))
