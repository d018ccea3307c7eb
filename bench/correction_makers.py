"""The learned correction on published makers' tables: held-out error of physics alone against physics + correction.

    python -m bench.correction_makers [--seeds 20] [--after 50 200] [--train-rows 10000]

Every table in tests/data (README.md there and in tests/data/calibration/ cites each) is read as the lab
results a workspace would record: one result per nozzle and pressure, measured flow at the maker's rated
pressure (the only flow the tables state) and the cone angle at each tabulated pressure, water at 20 °C.
The physics each result is compared with is the engine's own `predict()` from the spray type, orifice and
insert alone (no maker's anchors: with the rated flow given, the engine reproduces it and there is nothing
to learn), which is what a catalog SKU without anchors, or a typed-in geometry, is predicted with.

Two pools, kept apart, because the engine was calibrated on some of these tables:
- **validation-only** (no engine constant was fitted on them, calibrate.py's rules): the WhirlJet
  hollow-cone table (all 35 rows, including the 1/2- and 3/4-inch rows that list one orifice for a whole
  connection size), the FullJet 1/8-inch sizes (held out of the calibration) and the 0.15–0.51 mm misting
  nozzles (hollow cone, 69 bar). This is the measurement.
- **calibrated-on** (the family constants were fitted on them: FullJet 1/4 in and up, the pressure-washer
  tips): the physics already sits on their mean, so a correction cannot be expected to lower the error;
  printed to show it does no harm, not as the measurement.

Split by nozzle: in each family half the nozzles (seeded) are the lab, the other half is held out and
never trained on. Split by series (a nozzle series = one connection size of one series, as the maker lists
it, which share biases): half the series of each family are the lab; a family with one series only is left
out of this split. Results arrive in a seeded random order; after the first N results of a quantity the
real trainer runs as the job does (engine.correction.split_by_time: the newest 20 % judged, promoted only
if better on them) and the model is scored on the held-out nozzles. The held-out nozzles are other SKUs,
so only the family and global levels of the model reach them. Error = RMS of ln(measured / predicted),
≈ the relative error. The issue's goal: at least 30 % lower after 200 results. Figures, not a test
(tests/engine/test_correction_makers.py asserts the direction).

The public tables hold fewer results than 200 per quantity on half their nozzles; where a budget is more
than the lab holds it is printed as not reachable, with what all the lab's results give.

Training time, two figures: the pure part (split, train, judge) on 10,000 results cycled from the tables
(500 SKUs), and the job itself (learning.train_all, reading 10,000 stored results from a throwaway SQLite
database of a configuration's ranked SKUs, training the shared model and the workspace's layer, storing both);
`--no-job` skips the second.
"""

from __future__ import annotations

import argparse
import csv
import functools
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from aerospec.engine import calibrate, correction
from aerospec.engine.predict import predict
from aerospec.engine.types import Geometry

QUANTITIES = ("flow_ml_min", "cone_deg")
GOAL = 0.30
WATER = {"viscosity_cp": 1.0, "density_kg_m3": 998.0, "surface_tension_mn_m": 72.8}
FULL_CONES = ("full_cone_standard", "full_cone_wide", "full_cone_square", "full_cone_wide_square")
START = datetime(2026, 1, 1, tzinfo=UTC)
PSI_TO_BAR = 0.0689476
GPM_TO_ML_MIN = 3785.41


def _fluid():
    from aerospec.engine.validate import WATER_20C

    return WATER_20C


def _result(nozzle: dict, pressure: float, quantity: str, measured: float, physics: float) -> dict:
    return {
        "nozzle": nozzle["id"],
        "series": nozzle["series"],
        "key": correction.sku_key("maker", nozzle["id"]),
        "family": nozzle["family"],
        "pressure_bar": float(pressure),
        **WATER,
        "measured": {quantity: float(measured)},
        "predicted": {quantity: float(physics)},
    }


def _swirl_nozzles(family: str) -> list[dict]:
    """One family's nozzles from calibrate.load_family, each with its results against predict()."""
    pts = calibrate.load_family(family)
    full = family != "hollow_cone"
    spray_type, insert = ("full_cone", family.removeprefix("full_cone_")) if full else ("hollow_cone", None)
    out = []
    for i in range(len(pts["d"])):
        nozzle = {
            "id": f"{family}/{pts['group'][i]}/{i}",
            "family": family,
            "series": str(pts["group"][i]),
            "connection": str(pts["connection"][i]),
        }
        geometry = Geometry(spray_type, float(pts["d"][i]), full_cone_insert=insert)
        fluid = _fluid()
        rated = float(pts["p_rated"][i])
        flow = predict(fluid, geometry, rated)
        results = [_result(nozzle, rated, "flow_ml_min", pts["q"][i] * 1000.0, flow.flow_ml_min[0])]
        angles = predict(fluid, geometry, pts["angle_p"][i])
        for j in range(pts["angle_p"].shape[1]):
            results.append(_result(nozzle, pts["angle_p"][i, j], "cone_deg", pts["angle"][i, j], angles.cone_deg[j]))
        nozzle["results"] = results
        out.append(nozzle)
    return out


def _flow_table(path, family: str, spray_type: str, series_of) -> list[dict]:
    """Nozzles of a flow-only table (orifice, pressure in psi, flow in US gpm) against predict()."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    nozzles: dict[str, dict] = {}
    for r in rows:
        name = series_of(r)
        nozzle = nozzles.setdefault(
            name, {"id": f"{family}/{name}", "family": family, "series": name, "connection": "", "results": []}
        )
        pressure = float(r["pressure_psi"]) * PSI_TO_BAR
        p = predict(_fluid(), Geometry(spray_type, float(r["orifice_mm"])), pressure)
        nozzle["results"].append(
            _result(nozzle, pressure, "flow_ml_min", float(r["flow_gpm"]) * GPM_TO_ML_MIN, p.flow_ml_min[0])
        )
    return list(nozzles.values())


@functools.cache
def makers_nozzles() -> dict[str, list[dict]]:
    """{"validation_only": [...], "calibrated_on": [...]}: every public nozzle with its results (see the docstring)."""
    validation, calibrated = [], []
    validation += _swirl_nozzles("hollow_cone")
    # The misting chart: one nozzle per orifice (one pressure each), hollow cones, nothing fitted on them.
    validation += _flow_table(
        calibrate.DATA / "engine_small_orifice_misting_nozzles.csv",
        "hollow_cone",
        "hollow_cone",
        lambda r: f"misting {r['orifice_mm']} mm",
    )
    for family in FULL_CONES:
        for nozzle in _swirl_nozzles(family):
            held_out = nozzle["connection"] == calibrate.HELD_OUT_CONNECTION
            (validation if held_out else calibrated).append(nozzle)
    # Pressure-washer tips (one tip = one nozzle and its series): the plain-orifice factor is fitted on them.
    calibrated += _flow_table(
        calibrate.DATA / "engine_flow_pressure_washer_nozzles.csv",
        "plain_orifice",
        "plain_orifice",
        lambda r: f"washer tip {r['nozzle_size']}",
    )
    return {"validation_only": validation, "calibrated_on": calibrated}


def split(nozzles: Sequence[dict], seed: int, by: str = "nozzle") -> tuple[list[dict], list[dict]] | None:
    """(lab nozzles, held-out nozzles): half of each family's nozzles, or of its series (`by="series"`).

    A family with a single nozzle (or series) is left out. None when no family can be split.
    """
    rng = np.random.default_rng(seed)
    lab, held = [], []
    families = sorted({n["family"] for n in nozzles})
    for family in families:
        members = [n for n in nozzles if n["family"] == family]
        units = sorted({n["id"] if by == "nozzle" else n["series"] for n in members})
        if len(units) < 2:
            continue
        order = rng.permutation(len(units))
        chosen = {units[i] for i in order[: len(units) // 2]}
        for n in members:
            (lab if (n["id"] if by == "nozzle" else n["series"]) in chosen else held).append(n)
    if not lab or not held:
        return None
    return lab, held


def arrivals(lab: Sequence[dict], seed: int) -> list[dict]:
    """The lab nozzles' results in a seeded random order, time-stamped one hour apart."""
    rows = [r for n in lab for r in n["results"]]
    order = np.random.default_rng(seed + 1).permutation(len(rows))
    return [{**rows[j], "id": str(t), "created_at": START + timedelta(hours=t)} for t, j in enumerate(order)]


def held_out_rows(held: Sequence[dict]) -> list[dict]:
    return [r for n in held for r in n["results"]]


def first_of(rows: Sequence[dict], quantity: str, n: int) -> list[dict]:
    """The first `n` results that measured `quantity`."""
    return [r for r in rows if quantity in r["measured"]][:n]


def measure(lab: Sequence[dict], held: Sequence[dict], quantity: str, n: int, seed: int) -> dict:
    """Train on the first `n` lab results of `quantity` as the job does; score physics and correction on `held`.

    {"n", "trained_on", "judged_on", "promoted", "physics", "corrected", "lower"} (errors as RMS ln).
    """
    seen = first_of(arrivals(lab, seed), quantity, n)
    target = [r for r in held_out_rows(held) if quantity in r["measured"]]
    train_rows, judged = correction.split_by_time(seen)
    model = correction.train(train_rows)
    verdict = correction.compare([model], [], judged)
    physics = correction.evaluate([], target)[quantity]["rmse_ln"]
    corrected = correction.evaluate([model], target)[quantity]["rmse_ln"]
    in_use = correction.evaluate([model] if verdict["better"] else [], target)[quantity]["rmse_ln"]
    by_family = {}
    for family in sorted({r["family"] for r in target}):
        rows = [r for r in target if r["family"] == family]
        by_family[family] = (
            correction.evaluate([], rows)[quantity]["rmse_ln"],
            correction.evaluate([model], rows)[quantity]["rmse_ln"],
            len(rows),
        )
    return {
        "n": len(seen),
        "trained_on": len(train_rows),
        "judged_on": len(judged),
        "held_out": len(target),
        "promoted": bool(verdict["better"]),
        "physics": physics,
        "corrected": corrected,
        "in_use": in_use,
        "lower": 1.0 - corrected / physics if physics > 0 else 0.0,
        "by_family": by_family,
    }


def report(seed: int, budgets: Sequence[int]) -> dict:
    """Every figure main() prints, as data: {pool: {split: {quantity: [measure(...) per budget], ...}}}."""
    pools = makers_nozzles()
    out: dict = {}
    for pool, nozzles in pools.items():
        out[pool] = {}
        for by in ("nozzle", "series"):
            parts = split(nozzles, seed, by)
            if parts is None:
                out[pool][by] = None
                continue
            lab, held = parts
            figures = {"families": sorted({n["family"] for n in lab}), "quantities": {}}
            for q in QUANTITIES:
                available = len(first_of(arrivals(lab, seed), q, 10**9))
                if available < 2 or not any(q in r["measured"] for r in held_out_rows(held)):
                    continue
                rows = []
                for n in budgets:
                    if n <= available:
                        rows.append({"budget": n, "reachable": True, **measure(lab, held, q, n, seed)})
                    else:
                        rows.append({"budget": n, "reachable": False, "available": available})
                rows.append({"budget": "all", "reachable": True, **measure(lab, held, q, available, seed)})
                figures["quantities"][q] = rows
            out[pool][by] = figures
    return out


def time_training(rows_wanted: int, seed: int) -> dict:
    """Seconds for the job's pure part (split, train, judge) on `rows_wanted` results cycled from the tables."""
    base = [r for n in sum(makers_nozzles().values(), []) for r in n["results"]]
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(rows_wanted):
        r = base[t % len(base)]
        # 500 SKUs of 20 results each, and a repeat's scatter, so the trainer sees a lab of that size.
        q = next(iter(r["measured"]))
        rows.append(
            {
                **r,
                "id": str(t),
                "key": f"maker:sku-{t % 500}",
                "created_at": START + timedelta(minutes=t),
                "measured": {q: r["measured"][q] * math.exp(rng.normal(0, 0.05))},
            }
        )
    started = time.perf_counter()
    train_rows, judged = correction.split_by_time(rows)
    model = correction.train(train_rows)
    correction.compare([model], [], judged)
    return {"rows": rows_wanted, "seconds": time.perf_counter() - started, "skus": len({r["key"] for r in rows})}


def time_training_job(rows_wanted: int) -> dict:
    """Seconds for the training job itself (learning.train_all: read the results from the database, the shared
    model and the workspace's layer, each judged and stored) on `rows_wanted` stored results, on SQLite."""
    from sqlalchemy import select

    from aerospec.configurations import services as configs
    from aerospec.extensions import db
    from aerospec.feedback import learning
    from aerospec.feedback.models import Feedback
    from aerospec.limits import counters
    from aerospec.tenancy.models import Membership, Tenant
    from aerospec.tenancy.scoping import tenant_scope
    from bench.feedback_import import bench_workspace
    from tests.configurations.conftest import BASE

    base = [r for n in sum(makers_nozzles().values(), []) for r in n["results"]]
    app, tenant_id = bench_workspace("bench-correction-")
    with app.test_request_context():
        tenant = db.session.get(Tenant, tenant_id)
        with tenant_scope(db.session, tenant.id):
            member = db.session.scalar(select(Membership).where(Membership.tenant_id == tenant.id))
            config, _ = configs.create_configuration(
                db.session, tenant, member, dict(BASE), counter=counters.DatabaseCounter()
            )
            db.session.commit()
            entries = [e for e in config.compatible_actuators if isinstance(e, dict) and e.get("sku")]
            fields = {"flow_ml_min": "flow_rate_actual_ml_min", "cone_deg": "spray_cone_angle_actual"}
            for t in range(rows_wanted):
                r, entry = base[t % len(base)], entries[t % len(entries)]
                q = next(iter(r["measured"]))
                db.session.add(
                    Feedback(
                        tenant_id=tenant.id,
                        configuration_id=config.id,
                        actuator_sku=entry["sku"],
                        actuator_supplier=entry["supplier"],
                        pressure_bar=r["pressure_bar"],
                        prediction={"physics": {q: r["predicted"][q]}},
                        created_by_id=member.user_id,
                        created_at=START + timedelta(minutes=t),
                        **{fields[q]: r["measured"][q]},
                    )
                )
            db.session.commit()
        started = time.perf_counter()
        report = learning.train_all(db.session)
        elapsed = time.perf_counter() - started
    return {"rows": rows_wanted, "seconds": elapsed, "skus": len(entries), "trained": report}


WORDS = {"flow_ml_min": "flow", "cone_deg": "cone angle"}
POOL_WORDS = {
    "validation_only": "Validation-only tables (no engine constant fitted on them): the measurement",
    "calibrated_on": "Tables the engine was calibrated on (physics already fitted to their mean): a no-harm check",
}


def over_seeds(seeds: Sequence[int], budgets: Sequence[int]) -> dict:
    """report() for each seed, gathered per pool, split, quantity and budget: the lists of figures."""
    runs = [report(s, budgets) for s in seeds]
    out: dict = {}
    for pool, splits in runs[0].items():
        out[pool] = {}
        for by, first in splits.items():
            if first is None:
                out[pool][by] = None
                continue
            out[pool][by] = {"families": first["families"], "quantities": {}}
            for q, rows in first["quantities"].items():
                gathered = []
                for i, row in enumerate(rows):
                    per_seed = [run[pool][by]["quantities"][q][i] for run in runs]
                    gathered.append({"budget": row["budget"], "runs": per_seed})
                out[pool][by]["quantities"][q] = gathered
    return out


def _line(q: str, budget, all_runs: list[dict], goal_budget: int) -> str:
    runs = [r for r in all_runs if r["reachable"]]
    if not runs:
        held = sorted({r["available"] for r in all_runs})
        holds = f"{held[0]}" if len(held) == 1 else f"{held[0]}–{held[-1]}"
        return f"    {WORDS[q]:10s} after {budget!s:5s} not reachable: the lab half holds {holds}"
    some = f" (reachable in {len(runs)} of {len(all_runs)} splits)" if len(runs) < len(all_runs) else ""
    lower = np.array([r["lower"] for r in runs])
    physics = np.mean([r["physics"] for r in runs])
    corrected = np.mean([r["corrected"] for r in runs])
    in_use = np.mean([r["in_use"] for r in runs])
    promoted = np.mean([r["promoted"] for r in runs])
    ns = sorted({r["n"] for r in runs})
    n_words = f"{ns[0]}" if len(ns) == 1 else f"{ns[0]}–{ns[-1]}"
    label = f"after {budget}" if budget != "all" else f"after all {n_words}"
    if budget == goal_budget:
        goal = "  goal met" if np.median(lower) >= GOAL else "  goal MISSED"
    elif budget == "all":
        goal = f"  ({goal_budget} not reachable; {'≥' if np.median(lower) >= GOAL else '<'} {GOAL:.0%} at {n_words})"
    else:
        goal = ""
    return (
        f"    {WORDS[q]:10s} {label:13s} physics {100 * physics:5.1f} %  corrected {100 * corrected:5.1f} %  "
        f"median {100 * np.median(lower):+4.0f} % lower (seeds {100 * lower.min():+.0f}…{100 * lower.max():+.0f} %); "
        f"promoted {promoted:.0%}, in use {100 * in_use:5.1f} %; {held_words(runs)} held out{goal}{some}"
    )


def _families_line(runs: list[dict]) -> str:
    """Per family, after all results: mean physics → corrected error over the splits."""
    parts = []
    for family in sorted({f for r in runs for f in r["by_family"]}):
        got = [r["by_family"][family] for r in runs if family in r["by_family"]]
        physics, corrected = np.mean([g[0] for g in got]), np.mean([g[1] for g in got])
        parts.append(f"{family} {100 * physics:.1f} → {100 * corrected:.1f} %")
    return "      by family, after all: " + "; ".join(parts)


def held_words(runs: list[dict]) -> str:
    held = sorted({r["held_out"] for r in runs})
    return f"{held[0]}" if len(held) == 1 else f"{held[0]}–{held[-1]}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="how many seeded splits to average (seeds 0…N−1)")
    parser.add_argument("--after", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--train-rows", type=int, default=10_000)
    parser.add_argument("--no-job", action="store_true", help="skip timing the training job on a SQLite database")
    args = parser.parse_args(argv)
    goal_budget = max(args.after)
    figures = over_seeds(range(args.seeds), args.after)
    print(
        "Correction model on published makers' tables (tests/data); error = RMS of ln(measured/predicted) on the "
        f"held-out nozzles (mean over {args.seeds} seeded splits), physics alone against physics + correction; "
        f"goal ≥ {GOAL:.0%} lower after {goal_budget} results; 'in use' = what the job would serve (promoted or not)"
    )
    print("Droplet size: no public table of measured sizes beyond two points (tests/data/README.md): not measured.")
    for pool, splits in figures.items():
        print(f"\n{POOL_WORDS[pool]}")
        for by, f in splits.items():
            if f is None:
                print(f"  split by {by}: not possible (no family has two {by}s)")
                continue
            print(f"  split by {by} (families {', '.join(f['families'])}):")
            for q, rows in f["quantities"].items():
                for row in rows:
                    print(_line(q, row["budget"], row["runs"], goal_budget))
                print(_families_line(rows[-1]["runs"]))
    t = time_training(args.train_rows, 0)
    print(
        f"\ntraining on {t['rows']} results ({t['skus']} SKUs; split, train and judge, the job's pure part, "
        f"without reading the rows from the database): {t['seconds']:.2f} s (goal < 60 s)"
    )
    if not args.no_job:
        j = time_training_job(args.train_rows)
        print(
            f"the training job (learning.train_all: read from SQLite, shared model and the workspace's layer, judged "
            f"and stored) on {j['rows']} stored results of {j['skus']} SKUs: {j['seconds']:.2f} s (goal < 60 s)"
        )


if __name__ == "__main__":
    main()
