"""Spencer and Coster clients over real HTTP against the sandbox: normalising, faults, orders."""

from __future__ import annotations

import random
import socket
import time
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from aerospec.config import load_config
from aerospec.procurement.clients import (
    CosterClient,
    QuoteItem,
    SpencerClient,
    SupplierAuthError,
    SupplierBadResponse,
    SupplierRejected,
    SupplierTimeout,
    SupplierUnavailable,
    clients_from_config,
    money,
)
from aerospec.sandbox import pricing

SPENCER_SKU = pricing.catalog_skus("spencer")[0]
COSTER_SKU = pricing.catalog_skus("coster")[0]
SKUS = {"spencer": SPENCER_SKU, "coster": COSTER_SKU}
ENDPOINTS = {"spencer": "POST /quotes", "coster": "POST /v2/quote"}


def _in_stock_sku(supplier: str) -> str:
    return next(s for s in pricing.catalog_skus(supplier) if pricing.offer(supplier, s).stock >= 10)


# -- normalising ---------------------------------------------------------------------------------


@pytest.mark.parametrize("supplier", ["spencer", "coster"])
def test_quote_is_normalised_to_decimal_money(make_client, supplier):
    quote = make_client(supplier).quote([{"sku": SKUS[supplier], "qty": 250}])
    assert quote.supplier == supplier and quote.currency == "USD"
    for amount in (quote.subtotal, quote.tax, quote.shipping, quote.total, quote.items[0].line_total):
        assert isinstance(amount, Decimal) and amount == amount.quantize(Decimal("0.01"))
    (line,) = quote.items
    assert isinstance(line.unit_price, Decimal) and line.line_total == money(line.unit_price * 250)
    assert quote.total == quote.subtotal + quote.tax + quote.shipping
    assert quote.availability in ("in_stock", "backorder") and quote.lead_time_days > 0
    assert quote.quoted_at.tzinfo is not None and quote.reference


def test_to_dict_carries_money_as_strings_never_floats(spencer):
    data = spencer.quote([QuoteItem(SPENCER_SKU, 3)]).to_dict()
    assert isinstance(data["total"], str) and isinstance(data["items"][0]["unit_price"], str)
    assert not any(isinstance(v, float) for v in data.values())


def test_money_rounds_half_up_to_cents():
    assert money(Decimal("0.005")) == Decimal("0.01")
    assert money(Decimal("2.675")) == Decimal("2.68")  # a float would give 2.67
    assert money(Decimal("0.0195") * 3) == Decimal("0.06")  # 0.0585
    assert money(Decimal("-0.005")) == Decimal("-0.01")


@pytest.mark.parametrize("supplier", ["spencer", "coster"])
def test_volume_breaks_lower_the_unit_price(make_client, supplier):
    client = make_client(supplier)
    units = [client.quote([(SKUS[supplier], qty)]).items[0].unit_price for qty in (1, 99, 100, 1_000, 10_000)]
    assert units[0] == units[1] > units[2] > units[3] > units[4]
    assert units[4] / units[0] < Decimal("0.7")


def test_coster_unknown_code_is_an_unavailable_line_not_an_error(coster):
    quote = coster.quote([(COSTER_SKU, 5), ("CV.NOPE.000.00", 5)])
    assert [line.availability for line in quote.items][1] == "unavailable"
    assert quote.items[1].unit_price is None and quote.items[1].line_total == Decimal("0.00")
    assert quote.availability == "unavailable"
    assert quote.subtotal == quote.items[0].line_total


def test_a_quote_whose_sums_do_not_add_up_is_refused():
    body = {
        "quote_id": "SQ-1", "currency": "USD", "lead_time_days": 3, "tax_cents": 0, "shipping_cents": 0,
        "items": [{"sku": "SP-X", "quantity": 3, "price_per_1000_cents": 1950, "line_total_cents": 5,
                   "lead_time_days": 3, "status": "in_stock"}],
        "subtotal_cents": 5, "total_cents": 5,
    }  # fmt: skip
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    with SpencerClient("http://spencer.test", "k", transport=transport) as client:
        with pytest.raises(SupplierBadResponse, match="line total for SP-X does not add up"):
            client.quote([("SP-X", 3)])  # 3 × 0.0195 = 0.0585 → 0.06, not 0.05
        body["items"][0]["line_total_cents"] = body["subtotal_cents"] = body["total_cents"] = 6
        assert client.quote([("SP-X", 3)]).total == Decimal("0.06")


def test_items_are_validated_before_sending(spencer):
    with pytest.raises(ValueError, match="qty"):
        spencer.quote([{"sku": SPENCER_SKU, "qty": 0}])


# -- faults ----------------------------------------------------------------------------------------


def test_latency_slows_the_quote_but_it_arrives(sandbox, make_client):
    sandbox.faults(coster={"latency_ms": 250})
    started = time.monotonic()
    quote = make_client("coster").quote([(COSTER_SKU, 1)])
    assert time.monotonic() - started >= 0.25 and quote.total > 0


@pytest.mark.parametrize("supplier", ["spencer", "coster"])
def test_5xx_is_retried_with_backoff_then_succeeds(sandbox, make_client, supplier):
    sandbox.faults(**{supplier: {"fail_next": 2}})
    client = make_client(supplier, retries=2, backoff=0.1, rng=random.Random(1))
    quote = client.quote([(SKUS[supplier], 1)])
    assert quote.total > 0
    assert sandbox.requests(supplier, ENDPOINTS[supplier]) == 3 == client.requests_made
    first, second = make_client.sleeps
    assert 0.05 <= first <= 0.1 and 0.1 <= second <= 0.2  # exponential, jittered


def test_5xx_exhausting_retries_raises_unavailable(sandbox, make_client):
    sandbox.faults(spencer={"error_rate": 1})
    client = make_client("spencer", retries=3)
    with pytest.raises(SupplierUnavailable) as caught:
        client.quote([(SPENCER_SKU, 1)])
    assert not isinstance(caught.value, SupplierTimeout)
    assert caught.value.status_code == 503 and "gave up after 4 attempts" in str(caught.value)
    assert sandbox.requests("spencer", "POST /quotes") == 4


def test_4xx_is_not_retried_and_carries_the_suppliers_message(sandbox, spencer):
    with pytest.raises(SupplierRejected) as caught:
        spencer.quote([(SPENCER_SKU, 1), ("SP-NOPE", 2)])
    assert caught.value.status_code == 422
    assert "Unknown SKU SP-NOPE" in str(caught.value) and caught.value.details[0]["sku"] == "SP-NOPE"
    assert sandbox.requests("spencer", "POST /quotes") == 1


def test_a_hanging_supplier_raises_timeout(sandbox, make_client):
    sandbox.faults(coster={"hang": True})
    client = make_client("coster", timeout=0.3, retries=1)
    started = time.monotonic()
    with pytest.raises(SupplierTimeout, match="did not answer within 0.3 s; gave up after 2 attempts"):
        client.quote([(COSTER_SKU, 1)])
    assert time.monotonic() - started < 1.5
    assert sandbox.requests("coster", "POST /v2/quote") == 2


def test_a_deadline_caps_retries_of_a_hanging_supplier(sandbox, make_client):
    sandbox.faults(coster={"hang": True})
    client = make_client("coster", timeout=5, retries=5)
    started = time.monotonic()
    with pytest.raises(SupplierTimeout):
        client.quote([(COSTER_SKU, 1)], deadline=time.monotonic() + 0.4)
    assert time.monotonic() - started < 0.8


@pytest.mark.parametrize("supplier", ["spencer", "coster"])
def test_malformed_json_raises_bad_response_without_retrying(sandbox, make_client, supplier):
    sandbox.faults(**{supplier: {"malformed_json": True}})
    with pytest.raises(SupplierBadResponse, match="not valid JSON"):
        make_client(supplier).quote([(SKUS[supplier], 1)])
    assert sandbox.requests(supplier, ENDPOINTS[supplier]) == 1


@pytest.mark.parametrize("supplier", ["spencer", "coster"])
def test_a_bad_key_is_a_clear_auth_error(sandbox, make_client, supplier):
    client = make_client(supplier, key="wrong-key")
    with pytest.raises(SupplierAuthError) as caught:
        client.quote([(SKUS[supplier], 1)])
    assert caught.value.status_code == 401
    assert "refused our API key (HTTP 401" in str(caught.value)
    assert f"SUPPLIER_{supplier.upper()}_KEY" in str(caught.value)
    assert sandbox.requests(supplier, ENDPOINTS[supplier]) == 1


def test_connection_refused_is_unavailable_after_retries(make_client):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the client connects
    sleeps: list[float] = []
    client = CosterClient(f"http://127.0.0.1:{port}", "k", retries=2, backoff=0.01, sleep=sleeps.append)
    with client, pytest.raises(SupplierUnavailable, match="Could not reach Coster"):
        client.quote([(COSTER_SKU, 1)])
    assert client.requests_made == 3 and len(sleeps) == 2


def test_backoff_doubles_with_jitter_and_is_capped():
    client = SpencerClient("http://x.test", "k", backoff=0.2, backoff_cap=1.0, rng=random.Random(7))
    try:
        delays = [client._backoff_delay(n) for n in range(6)]
    finally:
        client.close()
    for n, delay in enumerate(delays):
        ceiling = min(1.0, 0.2 * 2**n)
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jittered


# -- batched prices --------------------------------------------------------------------------


def test_prices_for_1200_skus_are_batched(sandbox, make_client):
    # A 500-SKU page can take over the fixtures' 2 s on a loaded machine; a timeout would be retried and
    # counted as a fourth request, so these clients wait long enough that only the batching is counted.
    spencer, coster = make_client("spencer", timeout=30.0), make_client("coster", timeout=30.0)
    spencer_skus = pricing.sample_skus("spencer", 1_199) + ["SP-UNKNOWN"]
    coster_skus = pricing.sample_skus("coster", 1_200)
    spencer_prices = spencer.prices(spencer_skus)
    coster_prices = coster.prices(coster_skus)
    assert sandbox.requests("spencer", "GET /prices") == 3  # 500 + 500 + 200
    assert sandbox.requests("coster", "POST /v2/catalog/prices") == 2  # 1,000 + 200
    assert [p.sku for p in spencer_prices] == spencer_skus and [p.sku for p in coster_prices] == coster_skus
    assert spencer_prices[-1].availability == "unavailable" and spencer_prices[-1].unit_price is None
    price = spencer_prices[0]
    assert [b.min_qty for b in price.breaks] == [1, 100, 1000, 10000]
    assert price.unit_price == price.breaks[0].unit_price and price.price_for(150) == price.breaks[1].unit_price
    assert all(isinstance(p.unit_price, Decimal) for p in coster_prices)


def test_batched_prices_match_the_quoted_unit_prices(spencer, coster):
    for client, sku in ((spencer, SPENCER_SKU), (coster, COSTER_SKU)):
        (listed,) = client.prices([sku])
        assert client.quote([(sku, 1_000)]).items[0].unit_price == listed.price_for(1_000)


# -- orders --------------------------------------------------------------------------------------

SHIP_TO = {"name": "Lab", "line1": "1 Bench Rd", "city": "Cambridge", "postcode": "CB1 1AA", "country": "GB"}


@pytest.mark.parametrize("supplier", ["spencer", "coster"])
def test_submitting_twice_with_one_idempotency_key_makes_one_order(sandbox, make_client, supplier):
    client = make_client(supplier)
    items = [(_in_stock_sku(supplier), 5)]
    first = client.submit_order(items, idempotency_key="proc-42-1", ship_to=SHIP_TO, reference="P-42")
    again = client.submit_order(items, idempotency_key="proc-42-1", ship_to=SHIP_TO, reference="P-42")
    assert first.order_id == again.order_id and first.status == "confirmed"
    assert not first.replayed and again.replayed
    assert sandbox.admin("GET", "/_stats")["orders"][supplier] == 1
    other = client.submit_order(items, idempotency_key="proc-43-1", ship_to=SHIP_TO)
    assert other.order_id != first.order_id


def test_an_idempotency_key_reused_for_a_different_order_is_rejected(make_client):
    client = make_client("spencer")
    client.submit_order([(SPENCER_SKU, 1)], idempotency_key="k1", ship_to=SHIP_TO)
    with pytest.raises(SupplierRejected, match="different request"):
        client.submit_order([(SPENCER_SKU, 2)], idempotency_key="k1", ship_to=SHIP_TO)


def test_submit_retried_through_an_outage_still_makes_one_order(sandbox, make_client):
    sandbox.faults(coster={"fail_next": 1})
    client = make_client("coster")
    order = client.submit_order([(COSTER_SKU, 1)], idempotency_key="k-outage", ship_to=SHIP_TO)
    assert order.status == "confirmed" and client.requests_made == 2
    assert sandbox.admin("GET", "/_stats")["orders"]["coster"] == 1


@pytest.mark.parametrize("supplier", ["spencer", "coster"])
def test_order_status_advances_with_the_sandbox_clock(sandbox, make_client, supplier):
    client = make_client(supplier)
    sku = _in_stock_sku(supplier)
    lead = pricing.offer(supplier, sku).lead_time_days
    order = client.submit_order([(sku, 1)], idempotency_key=f"clock-{supplier}", ship_to=SHIP_TO)
    assert order.status == "confirmed" and order.tracking_number is None and order.expected_delivery

    sandbox.advance(timedelta(days=1).total_seconds())
    assert client.order_status(order.order_id).status in ("confirmed", "shipped")
    sandbox.advance(timedelta(days=max(1, lead - 3)).total_seconds())
    shipped = client.order_status(order.order_id)
    assert shipped.status == "shipped" and shipped.tracking_number and shipped.shipped_at

    sandbox.advance(timedelta(days=lead + 4).total_seconds())
    delivered = client.order_status(order.order_id)
    assert delivered.status == "delivered" and delivered.delivered_at
    assert delivered.tracking_number == shipped.tracking_number
    assert delivered.delivered_at.date() == order.expected_delivery


def test_unknown_order_is_rejected_with_404(make_client):
    with pytest.raises(SupplierRejected) as caught:
        make_client("coster").order_status("CV-ORD-999999")
    assert caught.value.status_code == 404


def test_clients_come_from_settings_with_sandbox_defaults():
    config = load_config({"SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    spencer, coster = clients_from_config(config)
    try:
        assert spencer.base_url == "http://127.0.0.1:5100/spencer" and coster.base_url.endswith("/coster")
        assert spencer.timeout == 5.0 and spencer.retries == 2
    finally:
        spencer.close()
        coster.close()
