"""The sandbox speaks both suppliers' wire formats over real HTTP, with switchable faults."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from decimal import Decimal

import httpx
import pytest

from aerospec.sandbox import SandboxServer, create_sandbox_app, pricing
from aerospec.sandbox.app import SPENCER_MAX_SKUS

SPENCER_SKU = pricing.catalog_skus("spencer")[0]
COSTER_SKU = pricing.catalog_skus("coster")[0]


def call(sandbox, supplier, method, path, *, key=True, timeout=5.0, **kwargs):
    headers = {"Authorization": f"Bearer {sandbox.state.keys[supplier]}"} if key else {}
    return httpx.request(method, sandbox.url(supplier) + path, headers=headers, timeout=timeout, **kwargs)


@pytest.mark.parametrize(
    ("supplier", "path", "body"),
    [
        ("spencer", "/quotes", {"items": [{"sku": SPENCER_SKU, "quantity": 1}]}),
        ("coster", "/v2/quote", {"line_items": [{"code": COSTER_SKU, "qty": 1}]}),
    ],
)
def test_supplier_endpoints_answer_401_without_the_bearer_key(sandbox, supplier, path, body):
    assert call(sandbox, supplier, "POST", path, key=False, json=body).status_code == 401
    wrong = httpx.post(sandbox.url(supplier) + path, json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert call(sandbox, supplier, "POST", path, json=body).status_code == 200


def test_spencer_quotes_in_integer_cents_and_days(sandbox):
    body = call(sandbox, "spencer", "POST", "/quotes", json={"items": [{"sku": SPENCER_SKU, "quantity": 250}]}).json()
    (line,) = body["items"]
    assert isinstance(line["price_per_1000_cents"], int) and isinstance(line["line_total_cents"], int)
    assert body["total_cents"] == body["subtotal_cents"] + body["tax_cents"] + body["shipping_cents"]
    assert isinstance(body["lead_time_days"], int) and line["status"] in ("in_stock", "backorder")


def test_coster_quotes_in_decimal_strings_and_weeks(sandbox):
    body = call(sandbox, "coster", "POST", "/v2/quote", json={"line_items": [{"code": COSTER_SKU, "qty": 250}]})
    data = body.json()["data"]
    (line,) = data["line_items"]
    assert isinstance(line["unit_price"], str) and isinstance(line["delivery_weeks"], int)
    totals = {k: Decimal(v) for k, v in data["totals"].items()}
    assert totals["gross"] == totals["net"] + totals["vat"] + totals["freight"]
    assert data["eta"] and line["availability"] in ("IN_STOCK", "BACKORDER")


def test_spencer_answers_422_with_per_item_errors_for_unknown_skus(sandbox):
    items = [{"sku": SPENCER_SKU, "quantity": 1}, {"sku": "SP-NOPE", "quantity": 1}, {"sku": "X", "quantity": 0}]
    response = call(sandbox, "spencer", "POST", "/quotes", json={"items": items})
    assert response.status_code == 422
    error = response.json()["error"]
    assert [d["index"] for d in error["details"]] == [1, 2]
    assert "Unknown SKU SP-NOPE" in error["details"][0]["message"]


def test_coster_marks_unknown_codes_unavailable_and_quotes_the_rest(sandbox):
    lines = [{"code": COSTER_SKU, "qty": 10}, {"code": "CV.NOPE", "qty": 5}]
    data = call(sandbox, "coster", "POST", "/v2/quote", json={"line_items": lines}).json()["data"]
    assert [line["availability"] for line in data["line_items"]][1] == "UNAVAILABLE"
    assert data["line_items"][1]["unit_price"] is None
    assert Decimal(data["totals"]["net"]) == Decimal(data["line_items"][0]["line_total"])


def test_prices_are_deterministic_with_falling_volume_breaks(sandbox):
    first = call(sandbox, "spencer", "GET", "/prices", params={"skus": SPENCER_SKU}).json()["prices"]
    again = call(sandbox, "spencer", "GET", "/prices", params={"skus": SPENCER_SKU}).json()["prices"]
    assert first == again
    cents = [b["price_per_1000_cents"] for b in first[0]["breaks"]]
    assert [b["min_quantity"] for b in first[0]["breaks"]] == [1, 100, 1000, 10000]
    assert cents == sorted(cents, reverse=True) and cents[0] > cents[-1]
    # derived from the catalog generator: within a few per cent of the sample catalog's price
    row = next(r for r in pricing._catalog().values() if r["sku"] == SPENCER_SKU)
    assert abs(Decimal(cents[0]) / 100_000 / row["unit_price"] - 1) <= Decimal("0.07")


def test_offers_come_from_the_sku_string_alone():
    synthetic = pricing.sample_skus("coster", 800)[-1]
    assert pricing.offer("coster", synthetic) == pricing.offer("coster", synthetic)
    assert pricing.offer("coster", "SP-HC-0300-AC") is None  # another supplier's format
    assert pricing.offer("spencer", "bogus") is None


def test_spencer_prices_refuse_more_than_the_batch_limit(sandbox):
    skus = ",".join(pricing.sample_skus("spencer", SPENCER_MAX_SKUS + 1))
    response = call(sandbox, "spencer", "GET", "/prices", params={"skus": skus})
    assert response.status_code == 422 and response.json()["error"]["code"] == "too_many_skus"


def test_latency_fault_is_switchable_at_runtime(sandbox):
    sandbox.faults(coster={"latency_ms": 300})
    started = time.monotonic()
    call(sandbox, "coster", "POST", "/v2/catalog/prices", json={"codes": [COSTER_SKU]})
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    call(sandbox, "spencer", "GET", "/prices", params={"skus": SPENCER_SKU})
    assert time.monotonic() - started < 0.25  # the other supplier is unaffected
    sandbox.admin("DELETE", "/_faults?supplier=coster")
    assert sandbox.admin("GET", "/_faults")["coster"]["latency_ms"] == 0


def test_error_rate_one_always_fails_and_zero_never(sandbox):
    sandbox.faults(spencer={"error_rate": 1})
    assert {call(sandbox, "spencer", "GET", "/prices", params={"skus": SPENCER_SKU}).status_code for _ in range(5)} == {
        503
    }
    sandbox.faults(spencer={"error_rate": 0})
    assert {call(sandbox, "spencer", "GET", "/prices", params={"skus": SPENCER_SKU}).status_code for _ in range(5)} == {
        200
    }


def test_fail_next_fails_exactly_that_many_requests(sandbox):
    sandbox.faults(coster={"fail_next": 2, "error_status": 502})
    codes = [call(sandbox, "coster", "POST", "/v2/catalog/prices", json={"codes": [COSTER_SKU]}).status_code
             for _ in range(3)]  # fmt: skip
    assert codes == [502, 502, 200]


def test_malformed_json_fault_truncates_the_body(sandbox):
    sandbox.faults(spencer={"malformed_json": True})
    response = call(sandbox, "spencer", "GET", "/prices", params={"skus": SPENCER_SKU})
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_hang_fault_outlasts_the_client_timeout_and_reset_releases_it(sandbox):
    sandbox.faults(spencer={"hang": True})
    with pytest.raises(httpx.ReadTimeout):
        call(sandbox, "spencer", "GET", "/prices", params={"skus": SPENCER_SKU}, timeout=0.3)
    sandbox.faults(spencer={"hang": False})
    assert call(sandbox, "spencer", "GET", "/prices", params={"skus": SPENCER_SKU}).status_code == 200


def test_unknown_fault_names_are_refused(sandbox):
    response = httpx.post(sandbox.base_url + "/_faults", json={"spencer": {"latencyms": 5}})
    assert response.status_code == 400 and "unknown fault" in response.json()["error"]
    response = httpx.post(sandbox.base_url + "/_faults", json={"acme": {"latency_ms": 5}})
    assert response.status_code == 400


def test_faults_can_be_set_by_configuration():
    app = create_sandbox_app(faults={"spencer": {"error_rate": 1}})
    with SandboxServer(app) as server:
        response = httpx.get(
            server.url("spencer") + "/prices",
            params={"skus": SPENCER_SKU},
            headers={"Authorization": f"Bearer {app.state.keys['spencer']}"},
        )
        assert response.status_code == 503
        server.state.reset()  # back to the configured faults, not to none
        assert server.state.faults["spencer"].error_rate == 1
    with pytest.raises(ValueError, match="unknown fault"):
        create_sandbox_app(faults={"coster": {"hang_ms": 1}})


def test_clock_endpoint_moves_sandbox_time(sandbox):
    before = sandbox.admin("GET", "/_clock")["now"]
    after = sandbox.advance(86_400)
    assert after[:10] > before[:10]


def test_stats_count_requests_per_endpoint(sandbox):
    for _ in range(3):
        call(sandbox, "spencer", "GET", "/prices", params={"skus": SPENCER_SKU})
    assert sandbox.requests("spencer", "GET /prices") == 3
    assert sandbox.requests("coster", "POST /v2/catalog/prices") == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_runner_serves_both_suppliers_under_path_prefixes():
    port = _free_port()
    env = os.environ | {"SANDBOX_FAULTS": '{"coster": {"latency_ms": 1}}'}
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "aerospec.sandbox", "--port", str(port), "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(base + "/_health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(base + "/_faults").json()["coster"]["latency_ms"] == 1
        spencer = httpx.get(
            base + "/spencer/prices",
            params={"skus": SPENCER_SKU},
            headers={"Authorization": "Bearer sandbox-spencer-key"},
        )
        coster = httpx.post(
            base + "/coster/v2/catalog/prices",
            json={"codes": [COSTER_SKU]},
            headers={"Authorization": "Bearer sandbox-coster-key"},
        )
        assert spencer.status_code == coster.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
