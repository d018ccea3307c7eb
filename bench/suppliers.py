"""Supplier benchmark against the sandbox over real HTTP on loopback.

    python -m bench.suppliers [--repeats 10] [--timeout 1.0] [--skus 10000] [--in-process]

Prints: quote-comparison latency with Spencer at 200 ms and Coster at 400 ms simulated
latency (target ≤ slowest + 20 ms); the same with Coster hanging (target: the healthy
quote, and the whole comparison, within the timeout + 50 ms); and a price sync pass of
N SKUs × 2 suppliers (requests made and seconds; fetch only, no database writes).
The sandbox runs as its own process (`python -m aerospec.sandbox`), as a supplier would,
so it does not share the client's GIL; `--in-process` serves it from a thread instead.
Faults are switched through the sandbox's `POST /_faults`. Figures, not a timed test.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx

from aerospec.procurement.clients import CosterClient, SpencerClient, SupplierClient
from aerospec.procurement.quotes import compare_quotes
from aerospec.sandbox import SandboxServer, pricing
from aerospec.sandbox.state import DEFAULT_KEYS

SUPPLIERS = ("spencer", "coster")


class Sandbox:
    """A running sandbox driven over HTTP: faults and reset through its admin endpoints."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self._admin = httpx.Client(base_url=base_url, timeout=5)

    def url(self, supplier: str) -> str:
        return f"{self.base_url}/{supplier}"

    def faults(self, **per_supplier: dict) -> None:
        self._admin.post("/_faults", json=per_supplier).raise_for_status()

    def reset(self) -> None:
        self._admin.post("/_reset").raise_for_status()

    def close(self) -> None:
        self._admin.close()


@contextlib.contextmanager
def running_sandbox(in_process: bool) -> Iterator[Sandbox]:
    """The sandbox in a thread of this process, or (default) as its own process on a free port."""
    if in_process:
        with SandboxServer() as server:
            sandbox = Sandbox(server.base_url)
            yield sandbox
            sandbox.close()
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "aerospec.sandbox", "--port", str(port), "--quiet"], stdout=subprocess.DEVNULL
    )
    sandbox = Sandbox(f"http://127.0.0.1:{port}")
    try:
        for _ in range(300):
            try:
                httpx.get(sandbox.base_url + "/_health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield sandbox
    finally:
        sandbox.close()
        proc.terminate()
        proc.wait(timeout=10)


def _clients(sandbox: Sandbox, timeout: float) -> list[SupplierClient]:
    return [
        SpencerClient(sandbox.url("spencer"), DEFAULT_KEYS["spencer"], timeout=timeout, retries=2),
        CosterClient(sandbox.url("coster"), DEFAULT_KEYS["coster"], timeout=timeout, retries=2),
    ]


def _items() -> dict[str, list[dict]]:
    quantities = (100, 250, 1000)
    return {s: [{"sku": sku, "qty": qty} for sku, qty in zip(pricing.catalog_skus(s)[:3], quantities, strict=True)]
            for s in SUPPLIERS}  # fmt: skip


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def bench_latency(sandbox: Sandbox, clients, repeats: int) -> None:
    sandbox.reset()
    sandbox.faults(spencer={"latency_ms": 200}, coster={"latency_ms": 400})
    items = _items()
    compare_quotes(clients, items, timeout=5, cache=None)  # warm-up: open keep-alive connections
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        results = compare_quotes(clients, items, timeout=5, cache=None)
        times.append(time.perf_counter() - t0)
        assert all(r.ok for r in results), [r.error for r in results]
    times.sort()
    target = 0.400 + 0.020
    print(f"comparison, Spencer 200 ms + Coster 400 ms latency ({repeats} runs, no cache)")
    print(f"  median {_ms(statistics.median(times))}   p95 {_ms(times[int(0.95 * (len(times) - 1))])}"
          f"   max {_ms(times[-1])}   (target ≤ {target * 1000:.0f} ms: "
          f"{'met' if times[-1] <= target else 'MISSED'})")  # fmt: skip


def bench_hang(sandbox: Sandbox, clients, repeats: int, timeout: float) -> None:
    sandbox.reset()
    sandbox.faults(spencer={"latency_ms": 200}, coster={"hang": True})
    items = _items()
    healthy, totals = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        arrived: dict[str, float] = {}
        results = compare_quotes(
            clients, items, timeout=timeout, cache=None,
            on_result=lambda r: arrived.setdefault(r.supplier, time.perf_counter() - t0),  # noqa: B023
        )  # fmt: skip
        totals.append(time.perf_counter() - t0)
        healthy.append(arrived["spencer"])
        assert results[0].ok and results[1].error_type == "SupplierTimeout"
    sandbox.reset()  # releases the hung sandbox threads
    target = timeout + 0.050
    print(f"comparison, Spencer 200 ms + Coster hanging, timeout {timeout:g} s ({repeats} runs)")
    print(f"  healthy quote shown after: median {_ms(statistics.median(healthy))}   max {_ms(max(healthy))}")
    print(f"  comparison returned after: median {_ms(statistics.median(totals))}   max {_ms(max(totals))}"
          f"   (target ≤ {target * 1000:.0f} ms: {'met' if max(totals) <= target else 'MISSED'})")  # fmt: skip


def bench_sync(sandbox: Sandbox, clients, n: int) -> None:
    sandbox.reset()
    skus = {s: pricing.sample_skus(s, n) for s in SUPPLIERS}
    before = {c.name: c.requests_made for c in clients}

    def run(client: SupplierClient) -> tuple[str, int, float]:
        t0 = time.perf_counter()
        prices = client.prices(skus[client.name])
        return client.name, len(prices), time.perf_counter() - t0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        rows = list(pool.map(run, clients))
    wall = time.perf_counter() - t0
    print(f"price sync pass, {n:,} SKUs × {len(clients)} suppliers (fetch only, suppliers in parallel)")
    for (name, count, seconds), client in zip(rows, clients, strict=True):
        made = client.requests_made - before[name]
        print(f"  {name:8} {count:,} prices in {made} requests ({client.prices_batch_size:,} per request), "
              f"{seconds:.2f} s")  # fmt: skip
    print(f"  total {sum(c.requests_made - before[c.name] for c in clients)} requests, {wall:.2f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=1.0, help="comparison timeout in seconds")
    parser.add_argument("--skus", type=int, default=10_000, help="SKUs per supplier in the sync pass")
    parser.add_argument("--in-process", action="store_true", help="serve the sandbox from a thread here")
    args = parser.parse_args()
    pricing.sample_skus("spencer", 1)  # build the sample catalog before timing anything
    with running_sandbox(args.in_process) as sandbox:
        clients = _clients(sandbox, timeout=args.timeout)
        try:
            where = "a thread of this process" if args.in_process else "its own process"
            print(f"sandbox on {sandbox.base_url} (threaded werkzeug in {where}, loopback)\n")
            bench_latency(sandbox, clients, args.repeats)
            print()
            bench_hang(sandbox, clients, args.repeats, args.timeout)
            print()
            bench_sync(sandbox, clients, args.skus)
        finally:
            for client in clients:
                client.close()


if __name__ == "__main__":
    main()
