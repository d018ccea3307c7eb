"""Custom models on a synthetic lab: training time and held-out error of each model type.

    python -m bench.custom_models [--seed 5] [--rows 10000] [--catalog 5000]

The lab is synthetic, and says so: the physics misses flow, cone angle and Dv50 by a residual with structure (it grows
with pressure, shrinks with the orifice, differs by family and by fluid), plus each result's own noise
(σ = 0.05 in ln). The rows are split by time as the job does (engine.correction.split_by_time: the newest
20 % held out); each model type trains on the rest, and is scored on the held-out rows: RMS of
ln(measured / predicted), ≈ the relative error. Then one prediction over a catalog of --catalog items is
timed with the trained gradient-boosting model (what a wizard ranking adds). Figures, not a test; the job
itself also reads the rows from the database (not timed here).
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from aerospec.engine import Fluid, boosting, correction
from aerospec.engine.precedence import Z90
from aerospec.engine.types import Prediction

START = datetime(2026, 1, 1, tzinfo=UTC)
FAMILIES = {"hollow_cone": 0.20, "full_cone": -0.15, "flat_fan": 0.05}
FLUIDS = (
    ({"viscosity_cp": 0.89, "density_kg_m3": 997.0, "surface_tension_mn_m": 72.0}, 0.0),
    ({"viscosity_cp": 1.6, "density_kg_m3": 870.0, "surface_tension_mn_m": 28.0}, 0.1),
)


def synthetic_lab(seed: int, n: int, noise: float = 0.05, structured: bool = True) -> list[dict]:
    """`n` results in time order; `structured` False: the physics is right, only noise (nothing to learn)."""
    rng = np.random.default_rng(seed)
    names = list(FAMILIES)
    rows = []
    for t in range(n):
        family = names[int(rng.integers(0, len(names)))]
        orifice = float(rng.uniform(0.3, 2.0))
        pressure = float(rng.uniform(1.5, 8.0))
        fluid, fluid_bias = FLUIDS[int(rng.integers(0, len(FLUIDS)))]
        physics = {
            "flow_ml_min": 40 * math.sqrt(pressure) * orifice**2,
            "cone_deg": 55.0 + pressure,
            "dv50_um": 90 / pressure**0.35,
        }
        r = 0.35 * math.log(pressure / 3.0) - 0.25 * math.log(orifice) + FAMILIES[family] + fluid_bias
        r = r if structured else 0.0
        rows.append(
            {
                "id": str(t),
                "key": f"spencer:{family}-{int(orifice * 10)}",
                "family": family,
                "orifice_mm": orifice,
                "pressure_bar": pressure,
                **fluid,
                "created_at": START + timedelta(minutes=t),
                "measured": {q: v * math.exp(r + rng.normal(0, noise)) for q, v in physics.items()},
                "predicted": physics,
            }
        )
    return rows


def flat_prediction(n: int, pressure: float, sigma: float) -> Prediction:
    """n items predicted at 100 (flow, Dv50) with a band of ±Z90·sigma in ln, the rest unknown."""
    v = np.full(n, 100.0)
    low, high = v * math.exp(-Z90 * sigma), v * math.exp(Z90 * sigma)
    nan = np.full(n, np.nan)
    return Prediction(
        flow_ml_min=v.copy(),
        flow_ml_min_low=low,
        flow_ml_min_high=high,
        cone_deg=nan,
        cone_deg_low=nan,
        cone_deg_high=nan,
        smd_um=nan,
        dv10_um=nan,
        dv50_um=v.copy(),
        dv50_um_low=low.copy(),
        dv50_um_high=high.copy(),
        dv90_um=nan,
        rosin_rammler_q=nan,
        confidence=np.ones(n),
        pressure_bar=np.full(n, pressure),
    )


def _overall(stack, rows) -> float:
    return 100 * math.sqrt(correction.total_error(correction.evaluate(stack, rows)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--catalog", type=int, default=5_000)
    args = parser.parse_args(argv)
    lab = synthetic_lab(args.seed, args.rows)
    train_rows, held = correction.split_by_time(lab)
    print(f"{args.rows} synthetic results: trained on {len(train_rows)}, scored on the {len(held)} newest")
    started = time.perf_counter()
    shrink = correction.train(train_rows)
    t_shrink = time.perf_counter() - started
    started = time.perf_counter()
    gbm = boosting.train(train_rows, held)
    t_gbm = time.perf_counter() - started
    print(f"    physics alone        held-out error {_overall([], held):5.1f} %")
    print(f"    shrinkage            held-out error {_overall([shrink], held):5.1f} %   trained in {t_shrink:6.2f} s")
    print(f"    gradient_boosting    held-out error {_overall([gbm], held):5.1f} %   trained in {t_gbm:6.2f} s")
    for q, part in gbm["quantities"].items():
        print(f"        {q}: held-out spread {part['spread']:.4f} on {part['held_n']} results (bands never narrower)")

    n = args.catalog
    rng = np.random.default_rng(args.seed + 1)
    prediction = flat_prediction(n, 4.0, 0.2)
    families = [list(FAMILIES)[i] for i in rng.integers(0, len(FAMILIES), n)]
    orifices = rng.uniform(0.3, 2.0, n)
    started = time.perf_counter()
    _, applied = correction.apply(
        [gbm], prediction, [None] * n, families, Fluid(**FLUIDS[0][0]), version="bench", orifice_mm=orifices
    )
    t_apply = time.perf_counter() - started
    print(f"applying it to a {n}-item catalog: {1000 * t_apply:.1f} ms")


if __name__ == "__main__":
    main()
