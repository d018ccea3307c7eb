"""The learned correction on a synthetic lab: held-out error of physics alone against physics + correction.

    python -m bench.correction [--seed 11] [--after 50 200 1000] [--train-rows 10000]

The lab is synthetic, and says so: 3 families of 20 SKUs each; the physics misses each SKU's flow,
cone angle and Dv50 by a factor exp(family bias + SKU bias) (family biases ~ N(0, 0.20²) in ln, SKU
biases ~ N(0, 0.12²) around them; cone angles half as much), and every lab result has its own noise
(σ = 0.06 in ln: a repeat measurement's scatter). Results arrive in time order for SKUs drawn unevenly
(some SKUs are tested far more often), at 1.5–8 bar with water or an ethanol blend.

After the first N results (for each N in --after) the real trainer runs as the job does
(engine.correction.split_by_time: the newest 20 % held out, train on the rest; promoted only if
better on them), and both are scored on the next 500 results, which no model saw: RMS of
ln(measured / predicted), ≈ the relative error. It then times one training on --train-rows results
(the issue's target: 10,000 in under a minute). Figures, not a test.
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from aerospec.engine import correction

QUANTITIES = ("flow_ml_min", "cone_deg", "dv50_um")
FLUIDS = (
    {"viscosity_cp": 0.89, "density_kg_m3": 997.0, "surface_tension_mn_m": 72.0},
    {"viscosity_cp": 1.6, "density_kg_m3": 870.0, "surface_tension_mn_m": 28.0},
)
START = datetime(2026, 1, 1, tzinfo=UTC)


def synthetic_lab(seed: int, n: int, families: int = 3, skus: int = 20, noise: float = 0.06):
    """`n` lab results in time order, each with the physics it was measured against and the true bias."""
    rng = np.random.default_rng(seed)
    keys, fams, biases = [], [], []
    for f in range(families):
        fam_bias = rng.normal(0, 0.20, len(QUANTITIES))
        for s in range(skus):
            keys.append(f"spencer:F{f}-{s:02d}")
            fams.append(f"family_{f}")
            biases.append(fam_bias + rng.normal(0, 0.12, len(QUANTITIES)))
    biases = np.array(biases) * np.array([1.0, 0.5, 1.0])  # cone angles are missed by less
    weights = rng.pareto(1.2, len(keys)) + 0.2
    weights /= weights.sum()
    picks = rng.choice(len(keys), size=n, p=weights)
    rows = []
    for t, i in enumerate(picks):
        pressure = float(rng.uniform(1.5, 8.0))
        fluid = FLUIDS[int(rng.integers(0, len(FLUIDS)))]
        physics = {"flow_ml_min": 40 * math.sqrt(pressure), "cone_deg": 55.0 + pressure, "dv50_um": 90 / pressure**0.35}
        measured = {q: physics[q] * math.exp(biases[i][j] + rng.normal(0, noise)) for j, q in enumerate(QUANTITIES)}
        rows.append(
            {
                "id": str(t),
                "key": keys[i],
                "family": fams[i],
                "pressure_bar": pressure,
                **fluid,
                "created_at": START + timedelta(hours=t),
                "measured": measured,
                "predicted": physics,
            }
        )
    return rows


def _fmt(scores: dict) -> str:
    return "  ".join(f"{q} {100 * scores[q]['rmse_ln']:5.1f} %" for q in QUANTITIES if q in scores)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--after", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--train-rows", type=int, default=10_000)
    args = parser.parse_args(argv)
    future_n = 500
    lab = synthetic_lab(args.seed, max(args.after) + future_n)
    print("Synthetic lab (see the module docstring); error = RMS of ln(measured/predicted) on the next 500 results")
    for n in args.after:
        seen, future = lab[:n], lab[n : n + future_n]
        train_rows, held = correction.split_by_time(seen)
        model = correction.train(train_rows)
        verdict = correction.compare([model], [], held)
        physics, corrected = correction.evaluate([], future), correction.evaluate([model], future)
        total_p = math.sqrt(correction.total_error(physics))
        total_c = math.sqrt(correction.total_error(corrected))
        print(
            f"after {n:5d} results (trained on {len(train_rows)}, judged on the {len(held)} newest: "
            f"{'promoted' if verdict['better'] else 'rejected'})"
        )
        print(f"    physics alone       {_fmt(physics)}   all {100 * total_p:5.1f} %")
        print(
            f"    physics+correction  {_fmt(corrected)}   all {100 * total_c:5.1f} %"
            f"   ({100 * (1 - total_c / total_p):.0f} % lower)"
        )
    big = synthetic_lab(args.seed + 1, args.train_rows)
    started = time.perf_counter()
    correction.train(big)
    print(f"training on {args.train_rows} results: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
