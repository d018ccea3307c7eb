"""Own-actuator benchmark: what appending a workspace's own actuators costs the ranking.

    python -m bench.own_actuators [--skus 10000] [--own 200] [--repeats 100]

Builds the synthetic catalog of bench/engine.py, appends `--own` rows as own_actuators does for a workspace
(once: the result is cached per workspace between requests), and prints the median and p95 of `rank()` on the
catalog alone and with the own rows appended, and the one-off cost of the append. Figures, not a timed test.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from aerospec.catalog import own_actuators as own
from aerospec.engine import Fluid, Target, Targets, rank
from bench.engine import synthetic_catalog


def _times(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _fmt(ms: list[float]) -> str:
    return f"median {statistics.median(ms):.2f} ms, p95 {np.percentile(ms, 95):.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--own", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    base = synthetic_catalog(args.skus)
    extra = synthetic_catalog(args.own, seed=99)
    extra.supplier = np.full(args.own, own.OWN_SUPPLIER, dtype=object)
    append_ms = _times(lambda: own._append(base, extra), 20)
    joined = own._append(base, extra)
    fluid = Fluid(viscosity_cp=1.0, density_kg_m3=997.0, surface_tension_mn_m=72.0)
    targets = Targets(pressure_bar=5.0, cone_deg=Target(60.0, 5.0), dv50_um=Target(50.0, 10.0))
    rank(fluid, base, targets), rank(fluid, joined, targets)  # warm the per-catalog caches, as a server does
    alone = _times(lambda: rank(fluid, base, targets), args.repeats)
    with_own = _times(lambda: rank(fluid, joined, targets), args.repeats)
    print(f"catalog {args.skus:,} SKUs, own actuators {args.own:,}, {args.repeats} repeats")
    print(f"append (once per workspace and change, then cached): {_fmt(append_ms)}")
    print(f"rank, catalog alone:       {_fmt(alone)}")
    print(f"rank, catalog + own rows:  {_fmt(with_own)}")


if __name__ == "__main__":
    main()
