"""Order cancellation at the sandbox suppliers: allowed before ship time, 409 after, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from aerospec.procurement.clients import CosterClient, SpencerClient, SupplierRejected
from aerospec.sandbox import pricing

SHIP_TO = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Boston", "postal_code": "02110", "country": "US"}
CREATE = {
    "spencer": ("/orders", lambda sku: {"items": [{"sku": sku, "quantity": 2}], "ship_to": SHIP_TO}),
    "coster": ("/v2/orders", lambda sku: {"line_items": [{"code": sku, "qty": 2}], "delivery_address": SHIP_TO}),
}
CANCEL = {"spencer": ("POST", "/orders/{id}/cancel"), "coster": ("DELETE", "/v2/orders/{id}")}
GET = {"spencer": "/orders/{id}", "coster": "/v2/orders/{id}"}


@pytest.fixture
def make_client(sandbox):
    """make_client("spencer") → a client on the sandbox with quick backoff (closed at teardown)."""
    made = []

    def _make(supplier: str):
        cls = {"spencer": SpencerClient, "coster": CosterClient}[supplier]
        made.append(cls(sandbox.url(supplier), sandbox.state.keys[supplier], timeout=2.0, retries=2, backoff=0.01))
        return made[-1]

    yield _make
    for client in made:
        client.close()


def call(sandbox, supplier, method, path, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {sandbox.state.keys[supplier]}", "Idempotency-Key": "cancel-test"}
    return httpx.request(method, sandbox.url(supplier) + path, headers=headers, timeout=5, **kwargs)


def place(sandbox, supplier) -> str:
    path, body = CREATE[supplier]
    response = call(sandbox, supplier, "POST", path, json=body(pricing.catalog_skus(supplier)[0]))
    assert response.status_code == 201
    data = response.json()
    return data["order_id"] if supplier == "spencer" else data["data"]["id"]


def cancel(sandbox, supplier, order_id) -> httpx.Response:
    method, path = CANCEL[supplier]
    return call(sandbox, supplier, method, path.format(id=order_id))


def status_of(supplier, body) -> str:
    return body["status"] if supplier == "spencer" else body["data"]["state"]


@pytest.mark.parametrize(("supplier", "cancelled"), [("spencer", "cancelled"), ("coster", "CANCELLED")])
def test_an_order_cancelled_before_ship_time_reports_cancelled(sandbox, supplier, cancelled):
    order_id = place(sandbox, supplier)
    first = cancel(sandbox, supplier, order_id)
    assert first.status_code == 200 and status_of(supplier, first.json()) == cancelled
    again = cancel(sandbox, supplier, order_id)  # a retried cancel (lost answer) is harmless
    assert again.status_code == 200 and again.json() == first.json()
    sandbox.advance(90 * 86400)  # the clock no longer moves a cancelled order along
    shown = call(sandbox, supplier, "GET", GET[supplier].format(id=order_id)).json()
    assert status_of(supplier, shown) == cancelled
    assert sandbox.state.orders[supplier][order_id].status_at(sandbox.state.clock.now()) == "cancelled"


def test_spencer_refuses_to_cancel_a_shipped_order_with_its_error_shape(sandbox):
    order_id = place(sandbox, "spencer")
    sandbox.advance((sandbox.state.orders["spencer"][order_id].ship_at - sandbox.state.clock.now()).total_seconds())
    response = cancel(sandbox, "spencer", order_id)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "order_shipped" and "can no longer be cancelled" in error["message"]
    assert status_of("spencer", call(sandbox, "spencer", "GET", f"/orders/{order_id}").json()) == "shipped"


def test_coster_refuses_to_cancel_a_dispatched_order_with_its_error_shape(sandbox):
    order_id = place(sandbox, "coster")
    sandbox.advance(90 * 86400)
    response = cancel(sandbox, "coster", order_id)
    assert response.status_code == 409
    errors = response.json()["errors"]
    assert errors[0]["code"] == "ORDER_DISPATCHED" and errors[0]["status"] == "409"
    assert "DELIVERED" in errors[0]["title"] and "left the warehouse" in errors[1]["detail"]


@pytest.mark.parametrize("supplier", ["spencer", "coster"])
def test_cancelling_an_unknown_order_is_404(sandbox, supplier):
    assert cancel(sandbox, supplier, "NOPE-1").status_code == 404


@pytest.mark.parametrize("supplier", ["spencer", "coster"])
def test_client_cancel_order_returns_the_cancelled_order_and_409_is_rejected(sandbox, make_client, supplier):
    client = make_client(supplier)
    sku = pricing.catalog_skus(supplier)[0]
    first = client.submit_order([(sku, 1)], idempotency_key=f"c1-{supplier}", ship_to=SHIP_TO)
    cancelled = client.cancel_order(first.order_id)
    assert cancelled.order_id == first.order_id and cancelled.status == "cancelled"
    assert cancelled.cancelled_at is not None and cancelled.tracking_number is None
    assert client.order_status(first.order_id).status == "cancelled"

    second = client.submit_order([(sku, 1)], idempotency_key=f"c2-{supplier}", ship_to=SHIP_TO)
    sandbox.advance(90 * 86400)
    with pytest.raises(SupplierRejected) as refused:
        client.cancel_order(second.order_id)
    assert refused.value.status_code == 409 and "cancel" in refused.value.message
    assert client.order_status(second.order_id).status == "delivered"
    assert client.requests_made == 6, "a 409 is not retried"


def test_client_cancel_is_retried_through_a_5xx(sandbox, make_client):
    client = make_client("coster")
    order = client.submit_order([(pricing.catalog_skus("coster")[0], 1)], idempotency_key="c5", ship_to=SHIP_TO)
    sandbox.faults(coster={"fail_next": 1})
    assert client.cancel_order(order.order_id).status == "cancelled"
    assert sandbox.requests("coster", "DELETE /v2/orders/<order_id>") == 2
