"""The learned correction (aerospec.engine.correction): shrinkage, ranges, bands, layers, the split.

Synthetic data where the true bias of every SKU is known, and the real engine's predictions.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aerospec.engine import correction as cx
from aerospec.engine import predict
from tests.engine.conftest import WATER, make_catalog

START = datetime(2026, 1, 1, tzinfo=UTC)


def row(key, family, measured, predicted, *, q="flow_ml_min", pressure=3.0, viscosity=0.89, day=0, **extra):
    return {
        "key": key,
        "family": family,
        "pressure_bar": pressure,
        "viscosity_cp": viscosity,
        "density_kg_m3": 997.0,
        "surface_tension_mn_m": 72.0,
        "created_at": START + timedelta(days=day),
        "measured": {q: measured},
        "predicted": {q: predicted},
        **extra,
    }


def world(seed=1, families=3, skus_per_family=10, results=(2, 20), noise=0.05, pressure=(2.0, 8.0)):
    """SKUs whose physics is off by a known factor: exp(family bias + SKU bias); noisy lab results."""
    rng = np.random.default_rng(seed)
    truth, rows, day = {}, [], 0
    for f in range(families):
        fam_bias = rng.normal(0.0, 0.25)
        for s in range(skus_per_family):
            key = f"spencer:F{f}-S{s}"
            bias = fam_bias + rng.normal(0.0, 0.15)
            truth[key] = bias
            for _ in range(int(rng.integers(results[0], results[1] + 1))):
                p = float(rng.uniform(*pressure))
                predicted = 50.0 * math.sqrt(p)
                measured = predicted * math.exp(bias + rng.normal(0.0, noise))
                rows.append(row(key, f"fam{f}", measured, predicted, pressure=p, day=day))
                day += 1
    return truth, rows


def test_two_results_move_a_sku_little_and_twenty_close_to_its_own_mean():
    # Every SKU of the family is right but one; that one reads 1.5× its prediction, with no noise.
    rows = [row(f"s:ok{i}", "fam", 100.0, 100.0, day=i) for i in range(40)]
    few = [row("s:few", "fam", 150.0, 100.0, day=50 + i) for i in range(2)]
    many = [row("s:many", "fam", 150.0, 100.0, day=60 + i) for i in range(20)]
    model = cx.train(rows + few + many)
    part = model["quantities"]["flow_ml_min"]
    family = part["families"]["fam"]["shift"]
    target = math.log(1.5)
    moved_few = (part["skus"]["s:few"]["shift"] - family) / (target - family)
    moved_many = (part["skus"]["s:many"]["shift"] - family) / (target - family)
    assert part["k"]["sku"] >= cx.K_MIN
    assert moved_few <= 2 / (2 + cx.K_MIN) + 1e-9  # at most 2/7 of the way
    assert moved_many >= 20 / (20 + cx.K_MIN) - 1e-9  # at least 20/25
    assert moved_few < 0.3 and moved_many >= 0.8 - 1e-9


def test_k_is_estimated_from_between_and_within_variance():
    rng = np.random.default_rng(3)
    # Small between-SKU spread against noisy results: k is large (shrink hard).
    noisy = [list(rng.normal(b, 0.3, 6)) for b in rng.normal(0, 0.02, 12)]
    k_noisy, how = cx.estimate_k(noisy)
    assert k_noisy > 20 and "bounded" in how or "noise" in how
    # Large between-SKU spread against precise results: k hits the floor.
    precise = [list(rng.normal(b, 0.01, 6)) for b in rng.normal(0, 0.5, 12)]
    assert cx.estimate_k(precise)[0] == cx.K_MIN
    assert cx.estimate_k([[0.1, 0.2]])[0] == cx.K_DEFAULT  # one group cannot say


def test_trained_shifts_recover_a_known_bias_per_sku():
    truth, rows = world()
    model = cx.train(rows)
    skus = model["quantities"]["flow_ml_min"]["skus"]
    err = np.array([skus[k]["shift"] - b for k, b in truth.items()])
    physics_err = np.array(list(truth.values()))
    assert np.sqrt(np.mean(err**2)) < 0.35 * np.sqrt(np.mean(physics_err**2))
    # The SKUs with many results are recovered more closely than those with few.
    n = np.array([skus[k]["n"] for k in truth])
    assert np.abs(err[n >= 12]).mean() < np.abs(err[n <= 4]).mean()


def test_held_out_error_falls_on_new_results_of_the_same_skus():
    truth, rows = world(seed=7)
    _, fresh = world(seed=7)  # same truth (same seed draws the biases first) ...
    rng = np.random.default_rng(99)
    for r in fresh:  # ... new noise on new lab results
        bias = truth[r["key"]]
        r["measured"] = {"flow_ml_min": r["predicted"]["flow_ml_min"] * math.exp(bias + rng.normal(0, 0.05))}
    model = cx.train(rows)
    result = cx.compare([model], [], fresh)
    assert result["better"] is True
    flow = result["quantities"]["flow_ml_min"]
    assert flow["after"] < 0.3 * flow["before"]


def test_time_ordered_split_holds_out_the_newest():
    rows = [row("s:a", "f", 1.0, 1.0, day=d) for d in (5, 1, 9, 3, 7, 2, 8, 4, 6, 0)]
    train, held = cx.split_by_time(rows)
    assert [r["created_at"].day for r in held] == [START.day + 8, START.day + 9]
    assert max(r["created_at"] for r in train) < min(r["created_at"] for r in held)
    assert cx.split_by_time(rows[:1]) == (rows[:1], [])


def test_a_candidate_that_is_not_strictly_better_is_not_better():
    rows = [row("s:a", "f", 100.0, 100.0, day=d) for d in range(10)]
    model = cx.train(rows)
    assert cx.compare([model], [], rows)["better"] is False  # no bias: nothing to gain over physics
    assert cx.compare([model], [model], rows)["better"] is False


def _catalog_prediction(pressure=3.0):
    cat = make_catalog([{"sku": "A"}, {"sku": "B"}, {"sku": "C", "orifice_mm": 0.6}])
    return cat, predict(WATER, cat, pressure)


def _model_for_sku_a(factor=1.3, n=20, pressure=3.0, spread=0.0):
    rng = np.random.default_rng(5)
    rows = []
    for i in range(n):
        noise = rng.normal(0, spread) if spread else 0.0
        for q in ("flow_ml_min", "dv50_um", "cone_deg"):
            rows.append(
                row("Spencer:A", "pump_trigger", 10.0 * factor * math.exp(noise), 10.0, q=q, pressure=pressure, day=i)
            )
    return cx.train(rows)


def test_apply_corrects_the_sku_it_learned_and_labels_it():
    cat, physics = _catalog_prediction()
    model = _model_for_sku_a()
    keys = [cx.sku_key(str(s), str(k)) for s, k in zip(cat.supplier, cat.sku, strict=True)]
    corrected, applied = cx.apply([model], physics, keys, ["pump_trigger", "", ""], WATER, version="shared-v1")
    a = applied.item(0)
    factor = math.exp(model["quantities"]["flow_ml_min"]["skus"]["Spencer:A"]["shift"])
    assert corrected.flow_ml_min[0] == pytest.approx(physics.flow_ml_min[0] * factor)
    assert a["label"] == "calibrated with 20 lab results"  # the results behind the SKU level of each quantity
    assert a["quantities"]["flow_ml_min"] == {"level": "sku", "results": 20, "factor": round(factor, 4)}
    assert a["model_version"] == "shared-v1"
    # B and C have no SKU level and no family: the global level (all of A's results) applies to them.
    assert applied.item(1)["quantities"]["flow_ml_min"]["level"] == "global"
    assert corrected.flow_ml_min[1] > physics.flow_ml_min[1]
    # Drop sizes without a model of their own follow Dv50: still Dv10 < Dv50 < Dv90.
    assert corrected.dv10_um[0] < corrected.dv50_um[0] < corrected.dv90_um[0]
    assert corrected.dv90_um[0] / physics.dv90_um[0] == pytest.approx(corrected.dv50_um[0] / physics.dv50_um[0])


def test_outside_the_seen_pressure_the_prediction_is_physics_alone_and_says_so():
    model = _model_for_sku_a(pressure=3.0)
    cat, physics = _catalog_prediction(pressure=8.0)
    keys = [cx.sku_key(str(s), str(k)) for s, k in zip(cat.supplier, cat.sku, strict=True)]
    corrected, applied = cx.apply([model], physics, keys, ["pump_trigger", "", ""], WATER, version="shared-v1")
    assert np.array_equal(corrected.flow_ml_min, physics.flow_ml_min)
    item = applied.item(0)
    assert item["calibrated"] is False and item["model_version"] is None
    assert "outside the range" in item["label"]
    # Just inside the 10 % margin it applies again.
    _, physics_in = _catalog_prediction(pressure=3.0 * (1 + cx.RANGE_MARGIN) - 1e-6)
    assert cx.apply([model], physics_in, keys, ["pump_trigger", "", ""], WATER)[1].item(0)["calibrated"]


def test_outside_the_seen_fluid_it_is_physics_alone():
    model = _model_for_sku_a()
    cat, physics = _catalog_prediction()
    syrup = type(WATER)(viscosity_cp=50.0, density_kg_m3=1300.0, surface_tension_mn_m=70.0)
    keys = [cx.sku_key(str(s), str(k)) for s, k in zip(cat.supplier, cat.sku, strict=True)]
    _, applied = cx.apply([model], predict(syrup, cat, 3.0), keys, ["", "", ""], syrup)
    assert not applied.item(0)["calibrated"]


def test_no_model_says_physics_alone():
    cat, physics = _catalog_prediction()
    corrected, applied = cx.apply([], physics, ["Spencer:A", None, None], ["", "", ""], WATER)
    assert corrected is physics
    assert applied.item(0)["label"].startswith("Physics alone: no correction model")


def _band_ln_sigma(p, q, i=0):
    return math.log(getattr(p, f"{q}_high")[i] / getattr(p, f"{q}_low")[i]) / (2 * cx.Z90)


def test_bands_narrow_towards_the_measured_spread_but_never_below_it():
    cat, physics = _catalog_prediction()
    keys = ["Spencer:A", "Spencer:B", "Spencer:C"]
    phys_sigma = _band_ln_sigma(physics, "flow_ml_min")
    few = _model_for_sku_a(n=3, spread=0.02)
    many = _model_for_sku_a(n=200, spread=0.02)
    s_few = _band_ln_sigma(cx.apply([few], physics, keys, ["", "", ""], WATER)[0], "flow_ml_min")
    s_many = _band_ln_sigma(cx.apply([many], physics, keys, ["", "", ""], WATER)[0], "flow_ml_min")
    spread = many["quantities"]["flow_ml_min"]["skus"]["Spencer:A"]["spread"]
    assert spread < s_many < s_few < phys_sigma  # narrower with more results ...
    assert s_many >= spread - 1e-12  # ... never below the measured spread
    # Results scattered more widely than the physics band: the band widens to their spread.
    wide = _model_for_sku_a(n=200, spread=0.6)
    s_wide = _band_ln_sigma(cx.apply([wide], physics, keys, ["", "", ""], WATER)[0], "flow_ml_min")
    assert s_wide >= wide["quantities"]["flow_ml_min"]["skus"]["Spencer:A"]["spread"] - 1e-12
    assert s_wide > phys_sigma


def test_a_layer_over_the_shared_model_learns_what_the_shared_one_leaves():
    shared_rows = [row("s:a", "f", 120.0, 100.0, day=d) for d in range(30)]  # others: +20 %
    own_rows = [row("s:a", "f", 150.0, 100.0, day=40 + d) for d in range(30)]  # this workspace: +50 %
    shared = cx.train(shared_rows)
    layer = cx.train(cx.corrected_rows([shared], own_rows))
    layer["disjoint"] = True
    both = cx.row_shift([shared, layer], own_rows[0], "flow_ml_min")
    assert abs(both - math.log(1.5)) < abs(cx.row_shift([shared], own_rows[0], "flow_ml_min") - math.log(1.5))
    cat = make_catalog([{"sku": "a", "supplier": "s"}])
    physics = predict(WATER, cat, 3.0)
    _, applied = cx.apply([shared, layer], physics, ["s:a"], ["f"], WATER, version="shared-v1+workspace-v1")
    assert applied.item(0)["results"] == 60  # disjoint: the workspace's own results add to the shared ones


def test_trained_model_is_plain_json():
    import json

    _, rows = world(skus_per_family=3)
    model = cx.train(rows)
    assert json.loads(json.dumps(model)) == model
    assert model["rows"] == len(rows)
