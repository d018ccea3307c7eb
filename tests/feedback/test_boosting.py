"""The gradient-boosting custom model (aerospec.engine.boosting) on a synthetic lab whose physics misses by a
structured residual (a pressure trend, an orifice trend and a family offset): it must beat physics alone and the
shrinkage model on the newest results, evaluate its stored JSON trees exactly as scikit-learn predicts, stay out
of what it has not seen, and narrow bands no further than its held-out spread."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aerospec.engine import Fluid, boosting, correction
from aerospec.engine.precedence import Z90

START = datetime(2026, 1, 1, tzinfo=UTC)
WATER = {"viscosity_cp": 0.89, "density_kg_m3": 997.0, "surface_tension_mn_m": 72.0}
BLEND = {"viscosity_cp": 1.6, "density_kg_m3": 870.0, "surface_tension_mn_m": 28.0}


def true_residual(pressure: float, orifice: float, family: str, fluid: dict) -> float:
    """What the physics misses by, in ln: it grows with pressure, shrinks with the orifice, depends on family."""
    offset = {"hollow_cone": 0.20, "full_cone": -0.15, "flat_fan": 0.05}[family]
    return 0.35 * math.log(pressure / 3.0) - 0.25 * math.log(orifice) + offset + (0.1 if fluid is BLEND else 0.0)


def lab(n: int, seed: int = 3, noise: float = 0.03, structured: bool = True) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    families = ("hollow_cone", "full_cone", "flat_fan")
    for t in range(n):
        family = families[int(rng.integers(0, 3))]
        orifice = float(rng.uniform(0.3, 2.0))
        pressure = float(rng.uniform(1.5, 8.0))
        fluid = WATER if rng.random() < 0.5 else BLEND
        physics = {"flow_ml_min": 40 * math.sqrt(pressure) * orifice**2, "dv50_um": 90 / pressure**0.35}
        r = true_residual(pressure, orifice, family, fluid) if structured else 0.0
        measured = {q: v * math.exp(r + rng.normal(0, noise)) for q, v in physics.items()}
        rows.append(
            {
                "id": str(t),
                "key": f"spencer:{family}-{t % 7}",
                "family": family,
                "orifice_mm": orifice,
                "pressure_bar": pressure,
                **fluid,
                "created_at": START + timedelta(hours=t),
                "measured": measured,
                "predicted": physics,
            }
        )
    return rows


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


def _prediction(n: int, pressure: float, sigma: float):
    from aerospec.engine.types import Prediction

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


@pytest.mark.parametrize("physics_sigma", [0.5, 0.01])
def test_bands_narrow_only_as_far_as_the_held_out_spread_allows(physics_sigma):
    train, held = correction.split_by_time(lab(300))
    model = boosting.train(train, held)
    part = model["quantities"]["flow_ml_min"]
    s, m = part["spread"], part["held_n"]
    fluid = Fluid(**WATER)
    corrected, applied = correction.apply(
        [model], _prediction(2, 4.0, physics_sigma), [None, None], ["hollow_cone", "nope"], fluid, orifice_mm=[1.0, 1.0]
    )
    half = math.log(corrected.flow_ml_min_high[0] / corrected.flow_ml_min[0]) / Z90
    expected = max(s, math.sqrt((m * s**2 + boosting.K_BAND * physics_sigma**2) / (m + boosting.K_BAND)))
    assert half == pytest.approx(expected, rel=1e-6)
    assert half >= s - 1e-12  # never narrower than what it missed by on the held-out results
    item, outside = applied.item(0), applied.item(1)
    assert item["calibrated"] and item["quantities"]["flow_ml_min"]["level"] == "boosting"
    assert item["quantities"]["flow_ml_min"]["results"] == part["n"]
    assert not outside["calibrated"] and corrected.flow_ml_min[1] == 100.0  # an unseen family: physics alone
