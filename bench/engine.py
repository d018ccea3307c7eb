"""Engine benchmark: rank a synthetic 10,000-SKU catalog for one fluid.

    python -m bench.engine [--skus 10000] [--repeats 200]

Prints the median, p95 and p5–p95 spread of the wall time of `rank()` (target ≤ 2 ms with the
catalog held as column arrays), beside a bare numpy baseline measured in the same run,
interleaved call by call (ten vectorised power laws over the same number of rows: on a loaded
machine both move together), the same with another fluid each call (nothing is cached per
fluid: only the catalog's fluid-independent arrays are kept), and the ratio against a per-SKU
Python loop calling `predict()` on single `Geometry` objects. Figures, not a timed test.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import numpy as np

from aerospec.engine import Catalog, Fluid, Geometry, Target, Targets, predict, rank


def synthetic_catalog(n: int, seed: int = 7) -> Catalog:
    """A deterministic catalog over realistic ranges (sample data, not real SKUs)."""
    rng = np.random.default_rng(seed)
    types = rng.choice(["hollow_cone", "full_cone", "plain_orifice"], size=n, p=[0.6, 0.25, 0.15])
    orifice = np.round(rng.uniform(0.15, 1.5, n), 2)
    swirl = types != "plain_orifice"
    chamber = np.where(swirl, np.round(orifice * rng.uniform(2.0, 5.0, n), 2), np.nan)
    k = rng.uniform(0.15, 1.0, n)
    inlet = np.where(swirl, np.round(k * chamber * orifice, 4), np.nan)
    missing = swirl & (rng.random(n) < 0.1)  # some rows without swirl geometry
    chamber[missing] = np.nan
    inlet[missing] = np.nan
    return Catalog(
        sku=np.array([f"SKU-{i:05d}" for i in range(n)]),
        supplier=rng.choice(["Spencer", "Coster"], size=n),
        spray_type=types,
        orifice_mm=orifice,
        swirl_chamber_mm=chamber,
        inlet_area_mm2=inlet,
        max_pressure_bar=rng.choice([6.0, 10.0, 12.0, 20.0], size=n),
        min_viscosity_cp=rng.choice([0.1, 0.5, 1.0], size=n),
        max_viscosity_cp=rng.choice([20.0, 50.0, 200.0], size=n),
        body_material=rng.choice(["POM", "PP", "brass", "ABS"], size=n),
        seal_material=rng.choice(["NBR", "FKM", "EPDM", "PTFE"], size=n),
        unit_price=np.round(rng.uniform(0.05, 3.0, n), 2),
        lead_time_days=rng.integers(2, 40, n),
    )


def workload(skus: int = 10_000) -> tuple[Fluid, Catalog, Targets]:
    """The benchmark's fluid (an ethanol-like solvent), catalog and three targets (also used by bench.pages)."""
    fluid = Fluid(viscosity_cp=1.08, density_kg_m3=785.0, surface_tension_mn_m=22.0, flash_point_c=12.0)
    targets = Targets(
        pressure_bar=5.0,
        cone_deg=Target(60.0, 10.0),
        dv50_um=Target(50.0, 15.0),
        flow_ml_min=Target(80.0, 20.0),
    )
    return fluid, synthetic_catalog(skus), targets


def numpy_baseline(n: int) -> callable:
    """Ten vectorised power laws over n rows: what bare numpy costs for a comparable amount of maths."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0.2, 2.0, n)
    coefs = [(float(a), float(b)) for a, b in rng.uniform(0.1, 2.0, (10, 2))]

    def run() -> float:
        total = 0.0
        for a, b in coefs:
            total += float((a * x**b)[0])
        return total

    return run


def _time(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--loop-skus", type=int, default=1_000, help="SKUs timed in the per-SKU loop (extrapolated)")
    args = parser.parse_args()

    fluid, catalog, targets = workload(args.skus)
    rank(fluid, catalog, targets)  # warm-up: fills the catalog's derived-array cache
    baseline = numpy_baseline(args.skus)
    # rank, the numpy baseline and rank with another fluid each call, interleaved call by call, so
    # that a loaded machine slows all three alike
    fluids = [replace(fluid, viscosity_cp=fluid.viscosity_cp * (1.0 + 1e-3 * (k + 1))) for k in range(args.repeats)]
    times, base, fresh = [], [], []
    for k in range(args.repeats):
        times += _time(lambda: rank(fluid, catalog, targets), 1)  # noqa: B023
        base += _time(baseline, 1)
        fresh += _time(lambda: rank(fluids[k], catalog, targets), 1)  # noqa: B023
    times.sort()
    base.sort()
    fresh.sort()
    median = statistics.median(times)
    p95 = times[int(0.95 * (len(times) - 1))]

    cold = _time(lambda: rank(fluid, synthetic_catalog(args.skus), targets), 1)  # noqa: B023
    gen = _time(lambda: synthetic_catalog(args.skus), 1)

    m = min(args.loop_skus, args.skus)
    geoms = [
        Geometry(
            str(catalog.spray_type[i]),
            float(catalog.orifice_mm[i]),
            None if np.isnan(catalog.swirl_chamber_mm[i]) else float(catalog.swirl_chamber_mm[i]),
            None if np.isnan(catalog.inlet_area_mm2[i]) else float(catalog.inlet_area_mm2[i]),
        )
        for i in range(m)
    ]
    t0 = time.perf_counter()
    for geom in geoms:
        predict(fluid, geom, targets.pressure_bar)
    loop_ms = (time.perf_counter() - t0) * 1e3 * args.skus / m

    base_median = statistics.median(base)

    def spread(t: list[float]) -> str:
        return f"p5–p95 {t[int(0.05 * (len(t) - 1))]:.3f}–{t[int(0.95 * (len(t) - 1))]:.3f} ms   min {t[0]:.3f} ms"

    print(f"engine rank, {args.skus:,} SKUs, one fluid, 3 targets ({args.repeats} repeats, warm catalog cache)")
    print(f"  median {median:.3f} ms   p95 {p95:.3f} ms   min {times[0]:.3f} ms   (target ≤ 2 ms)")
    print(f"  spread: {spread(times)}")
    print(
        f"  bare numpy baseline, ten vectorised power laws over {args.skus:,} rows, same run, interleaved: "
        f"median {base_median:.3f} ms   {spread(base)}"
    )
    print(f"  rank / baseline: {median / base_median:.1f}×")
    print(
        f"  another fluid each call (nothing is cached per fluid): median {statistics.median(fresh):.3f} ms   "
        f"{spread(fresh)}"
    )
    print(f"  first call on a fresh catalog (builds the geometry/material cache): {cold[0] - gen[0]:.2f} ms")
    print(
        f"  per-SKU Python loop of predict(Geometry): {loop_ms:,.0f} ms for {args.skus:,} SKUs"
        f" (timed on {m:,}, extrapolated)"
    )
    print(f"  speed-up of the vectorised rank over the loop: {loop_ms / median:,.0f}×")


if __name__ == "__main__":
    main()
