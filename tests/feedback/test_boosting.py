"""The gradient-boosting custom model (aerospec.engine.boosting) on a synthetic lab whose physics misses by a
structured residual (a pressure trend, an orifice trend and a family offset): it must beat physics alone and the
shrinkage model on the newest results, evaluate its stored JSON trees exactly as scikit-learn predicts, stay out
of what it has not seen, and narrow bands no further than its held-out spread."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from aerospec.engine import Fluid, boosting, correction
from aerospec.engine.precedence import Z90
from bench.custom_models import FLUIDS, flat_prediction, synthetic_lab

WATER = FLUIDS[0][0]


def lab(n: int, seed: int = 3, noise: float = 0.03, structured: bool = True) -> list[dict]:
    return synthetic_lab(seed, n, noise=noise, structured=structured)


def overall(stack, rows) -> float:
    return math.sqrt(correction.total_error(correction.evaluate(stack, rows)))


def test_it_beats_physics_alone_and_shrinkage_on_the_newest_results_of_a_structured_residual():
    train, held = correction.split_by_time(lab(400))
    model = boosting.train(train, held)
    physics, shrink, boosted = overall([], held), overall([correction.train(train)], held), overall([model], held)
    assert physics > 0.2, physics  # the physics really misses
    assert boosted < 0.5 * physics, (boosted, physics)
    assert boosted < shrink, "the trees see the pressure and orifice trend a per-SKU shift cannot"
    part = model["quantities"]["flow_ml_min"]
    assert part["held_n"] == len(held) and part["spread"] == pytest.approx(
        correction.evaluate([model], held)["flow_ml_min"]["rmse_ln"]
    )


def test_with_no_residual_to_learn_it_ties_physics_instead_of_inventing_one():
    train, held = correction.split_by_time(lab(200, structured=False, noise=0.0))
    model = boosting.train(train, held)
    assert overall([model], held) == pytest.approx(overall([], held), abs=1e-9)


def test_the_stored_json_trees_predict_exactly_what_scikit_learn_predicts():
    from sklearn.ensemble import GradientBoostingRegressor

    rows = lab(300)
    model = json.loads(json.dumps(boosting.train(rows)))  # as it is stored: JSON, nothing pickled
    part = model["quantities"]["dv50_um"]
    usable, r = boosting._usable(rows, "dv50_um")
    x = boosting.features(boosting._columns(usable), [u["family"] for u in usable], part["families"])
    reference = GradientBoostingRegressor(loss="squared_error", **boosting.HYPER).fit(x, r)
    assert np.array_equal(boosting.predict(part["trees"], x), reference.predict(x))
    assert "pickle" not in json.dumps(model)


def test_it_refuses_too_few_results_with_a_clear_message():
    with pytest.raises(ValueError, match="gradient boosting needs at least 10"):
        boosting.train(lab(9))


def test_outside_the_seen_range_or_an_unseen_family_it_applies_nothing():
    model = boosting.train(lab(200))
    part = model["quantities"]["flow_ml_min"]
    numeric = {
        "pressure_bar": np.array([4.0, 40.0, 4.0, 4.0]),
        "orifice_mm": np.array([1.0, 1.0, 9.0, 1.0]),
        **{k: np.full(4, v) for k, v in WATER.items()},
    }
    shift, used = boosting.shifts(part, numeric, ["hollow_cone", "hollow_cone", "hollow_cone", "air_atomising"])
    assert used.tolist() == [True, False, False, False]
    assert shift[0] != 0 and shift[1:].tolist() == [0, 0, 0]


@pytest.mark.parametrize("physics_sigma", [0.5, 0.01])
def test_bands_narrow_only_as_far_as_the_held_out_spread_allows(physics_sigma):
    train, held = correction.split_by_time(lab(300))
    model = boosting.train(train, held)
    part = model["quantities"]["flow_ml_min"]
    s, m = part["spread"], part["held_n"]
    fluid = Fluid(**WATER)
    physics = flat_prediction(2, 4.0, physics_sigma)
    families = ["hollow_cone", "nope"]
    corrected, applied = correction.apply([model], physics, [None, None], families, fluid, orifice_mm=[1.0, 1.0])
    half = math.log(corrected.flow_ml_min_high[0] / corrected.flow_ml_min[0]) / Z90
    expected = max(s, math.sqrt((m * s**2 + boosting.K_BAND * physics_sigma**2) / (m + boosting.K_BAND)))
    assert half == pytest.approx(expected, rel=1e-6)
    assert half >= s - 1e-12  # never narrower than what it missed by on the held-out results
    item, outside = applied.item(0), applied.item(1)
    assert item["calibrated"] and item["quantities"]["flow_ml_min"]["level"] == "boosting"
    assert item["quantities"]["flow_ml_min"]["results"] == part["n"]
    assert not outside["calibrated"] and corrected.flow_ml_min[1] == 100.0  # an unseen family: physics alone
