"""The fast ranking path answers exactly as the reference path does (issue 10/11 speed work).

Fast path: rank() over a whole catalog (compatible rows scored alone, one integer sort for the
order, subsets and distinct values in predict, the logistic form of norm_cdf). Reference path:
rank() on a one-row catalog per SKU (no subset, no sort), the probability in plain Python from
the documented tanh form of Φ, and the order from Python's sorted() on (score, price, lead
time, catalog index). The catalog has every family and full-cone insert, every anchor kind
(rating, rating with its fluid's density, flow number, exponent, angle table of one and of
several points, valve restrictions, vapour tap, nominal orifice), every compatibility rule
(pressure, viscosity, body and seal material) and out-of-range cases (swirl geometry outside
Rizk & Lefebvre's range or not given, sub-millimetre orifices, pressures outside the makers'
tables and outside a rating's validated ratio, a flashing propellant, a thick fluid), with
duplicated rows so that exact ties occur.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from aerospec.engine import Catalog, Fluid, Target, Targets, rank
from aerospec.engine.precedence import Z90, interp_rows, norm_cdf
from aerospec.engine.types import QUANTITIES
from tests.engine.test_rank_reference import FLUIDS, seeded_catalog

RANK = sys.modules["aerospec.engine.rank"]
N = 160
VALUES = (
    "flow_ml_min",
    "flow_ml_min_low",
    "flow_ml_min_high",
    "cone_deg",
    "cone_deg_low",
    "cone_deg_high",
    "smd_um",
    "smd_um_low",
    "smd_um_high",
    "dv10_um",
    "dv10_um_low",
    "dv10_um_high",
    "dv50_um",
    "dv50_um_low",
    "dv50_um_high",
    "dv90_um",
    "dv90_um_low",
    "dv90_um_high",
    "rosin_rammler_q",
    "confidence",
)
CASES = {
    "ethanol_5bar_3": ("ethanol", Targets(5.0, Target(60.0, 10.0), Target(50.0, 15.0), Target(80.0, 20.0))),
    "water_2bar_flow_cone": ("water", Targets(2.0, cone_deg=Target(70.0, 8.0), flow_ml_min=Target(300.0, 60.0))),
    "butane_6bar_2": ("butane", Targets(6.0, cone_deg=Target(50.0, 10.0), dv50_um=Target(40.0, 10.0))),
    "syrup_0.7bar_none": ("syrup", Targets(0.7)),
    "water_15bar_3": ("water", Targets(15.0, Target(80.0, 8.0), Target(30.0, 10.0), Target(2000.0, 500.0))),
    "thin_3bar_dv50": (
        Fluid(viscosity_cp=0.3, density_kg_m3=700.0, surface_tension_mn_m=18.0, flash_point_c=-20.0),
        Targets(3.0, dv50_um=Target(60.0, 20.0)),
    ),
}


def full_catalog(n: int = N) -> Catalog:
    """seeded_catalog (families, ratings, tables, inserts, swirl geometry in and out of range)
    plus valve restrictions, vapour taps, nominal orifices, seal and body materials not rated for
    flammable fluids, and duplicated rows (exact ties, broken by price then lead time)."""
    cat = seeded_catalog(n, seed=23)
    rng = np.random.default_rng(29)
    nan = np.full(n, np.nan)
    cat.stem_orifice_mm = np.where(rng.random(n) < 0.15, np.round(rng.uniform(0.2, 0.6, n), 2), nan)
    cat.housing_orifice_mm = np.where(rng.random(n) < 0.12, np.round(rng.uniform(0.3, 1.0, n), 2), nan)
    cat.vapour_tap_mm = np.where(rng.random(n) < 0.08, 0.3, nan)
    cat.orifice_nominal = np.where(rng.random(n) < 0.3, 1.0, np.where(rng.random(n) < 0.2, 0.0, nan))
    cat.seal_material = rng.choice(["NBR", "Viton", "EPDM", "silicone", "PTFE"], size=n)
    cat.body_material = rng.choice(["POM", "acetal", "ABS", "brass", "PC"], size=n)
    cat.min_viscosity_cp = rng.choice([0.1, 0.5, 1.5], size=n)
    # duplicates: the same geometry and anchors under other SKUs, prices and lead times
    dup = np.arange(0, n, 9)
    src = dup + 1
    for name in (
        "spray_type",
        "orifice_mm",
        "swirl_chamber_mm",
        "inlet_area_mm2",
        "orifice_length_mm",
        "rated_flow_ml_min",
        "rated_pressure_bar",
        "rated_density_kg_m3",
        "flow_number_ml_min_sqrtbar",
        "flow_exponent",
        "angle_table",
        "full_cone_insert",
        "stem_orifice_mm",
        "housing_orifice_mm",
        "vapour_tap_mm",
        "orifice_nominal",
        "max_pressure_bar",
        "min_viscosity_cp",
        "max_viscosity_cp",
        "body_material",
        "seal_material",
    ):
        column = getattr(cat, name)
        column[dup] = column[src]
    cat.lead_time_days[dup[::2]] = cat.lead_time_days[src[::2]]
    cat.unit_price[dup[::3]] = cat.unit_price[src[::3]]  # some ties go down to the lead time
    return cat


def one_row(cat: Catalog, i: int) -> Catalog:
    """Row i as a catalog of its own (the reference path ranks it alone)."""
    columns = {}
    for name in Catalog.__dataclass_fields__:
        if name == "_derived":
            continue
        column = getattr(cat, name)
        columns[name] = None if column is None else column[i : i + 1]
    return Catalog(**columns)


def _phi(z: float) -> float:
    """Page's tanh form of Φ, the documented formula, one number at a time."""
    return 0.5 * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z**3)))


def _p_within(value, low, high, target: Target, log_scale: bool) -> float:
    lo, hi = target.value - target.tolerance, target.value + target.tolerance
    if not (math.isfinite(value) and math.isfinite(low) and math.isfinite(high)):
        return 0.0
    if log_scale:
        centre, sigma = math.log(value), math.log(high / low) * 0.5 / Z90
        return _phi((math.log(hi) - centre) / sigma) - (_phi((math.log(lo) - centre) / sigma) if lo > 0 else 0.0)
    sigma = (high - low) * 0.5 / Z90
    return _phi((hi - value) / sigma) - _phi((lo - value) / sigma)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return full_catalog()


def test_the_catalog_exercises_every_branch(catalog):
    ranking = rank(FLUIDS["ethanol"], catalog, Targets(15.0, cone_deg=Target(60.0, 10.0)))
    counts = ranking.exclusion_counts
    assert min(counts.values()) > 0, counts  # pressure, viscosity and material rules all exclude some
    p = ranking.prediction
    assert {"maker_anchored", "extrapolated"} <= set(np.asarray(p.method["flow_ml_min"]))
    assert "maker_anchored" in set(np.asarray(p.method["cone_deg"]))
    words = " ".join(w for i in range(len(catalog)) for w in p.warnings[i])
    for fragment in ("Valve restrictions", "Vapour tap", "not given", "outside the", "below a 1 mm orifice"):
        assert fragment in words, fragment
    water = rank(FLUIDS["water"], catalog, Targets(2.0)).prediction
    assert "family_calibrated" in set(np.asarray(water.method["flow_ml_min"]))
    tied = np.sort(ranking.score[ranking.order])
    assert (tied[1:] == tied[:-1]).any()  # exact ties, broken by price and lead time


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_fast_path_ranks_and_scores_as_the_reference_path(catalog, case):
    fluid, targets = CASES[case]
    fluid = FLUIDS[fluid] if isinstance(fluid, str) else fluid
    fast = rank(fluid, catalog, targets)
    p = fast.prediction
    given = [(q, getattr(targets, q)) for q in ("cone_deg", "dv50_um", "flow_ml_min") if getattr(targets, q)]
    assert fast.targets_given == len(given)
    score = np.empty(len(catalog))
    for i in range(len(catalog)):
        ref = rank(fluid, one_row(catalog, i), targets)
        r = ref.prediction
        for name in VALUES:
            a, b = float(getattr(p, name)[i]), float(getattr(r, name)[0])
            assert a == pytest.approx(b, rel=1e-12, abs=1e-300, nan_ok=True), (i, name)
        for q in QUANTITIES:
            assert p.method[q][i] == r.method[q][0], (i, q)
        assert list(p.warnings[i]) == list(r.warnings[0]), i
        assert p.confidence_label[i] == r.confidence_label[0], i
        assert p.explain(i) == r.explain(0), i
        excluded = i in fast.excluded
        assert excluded == (0 in ref.excluded), i
        assert (list(fast.excluded[i]) if excluded else []) == (list(ref.excluded[0]) if excluded else []), i
        for q, target in given:
            expected = 0.0 if excluded else _p_within(
                float(getattr(r, q)[0]), float(getattr(r, f"{q}_low")[0]), float(getattr(r, f"{q}_high")[0]),
                target, q != "cone_deg",
            )  # fmt: skip
            assert fast.p_meet[q][i] == pytest.approx(expected, abs=1e-12), (i, q)
            assert fast.p_meet[q][i] == pytest.approx(float(ref.p_meet[q][0]), abs=1e-15), (i, q)
        assert int(fast.targets_met[i]) == int(ref.targets_met[0]), i
        assert bool(fast.within_tolerance[i]) == bool(ref.within_tolerance[0]), i
        assert fast.misses(i) == ref.misses(0), i
        score[i] = ref.score[0]
        assert fast.score[i] == score[i] or fast.score[i] == pytest.approx(score[i], rel=1e-15), i
    assert fast.exclusion_counts == {
        rule: sum(bool(rank(fluid, one_row(catalog, i), targets).exclusion_counts[rule]) for i in fast.excluded)
        for rule in fast.exclusion_counts
    }
    assert fast.order_note == rank(fluid, one_row(catalog, 0), targets).order_note
    price, lead = catalog.unit_price.astype(float), catalog.lead_time_days.astype(float)
    compatible = [i for i in range(len(catalog)) if i not in fast.excluded]
    expected_order = sorted(compatible, key=lambda i: (fast.score[i], price[i], lead[i], i))
    assert [int(i) for i in fast.order] == expected_order
    # ... and the scores the order was taken from are the reference ones
    assert sorted(compatible, key=lambda i: (score[i], price[i], lead[i], i)) == expected_order


def _python_order(s, idx, catalog):
    price, lead = catalog.unit_price.astype(float), catalog.lead_time_days.astype(float)
    return sorted(idx.tolist(), key=lambda i: (s[list(idx).index(i)], price[i], lead[i], i))


@pytest.mark.parametrize("n", [1, 2, 3, 17, 300, 20_000])
def test_the_integer_sort_orders_as_score_then_price_then_lead_time(n):
    """_order (one integer sort on the score's bits) against the exact argsort and Python's sort,
    on scores made to collide: exact ties, ties in all but the lowest bits, zeros, negative
    zero and negative scores, infinities (which go to the exact path)."""
    rng = np.random.default_rng(n)
    catalog = seeded_catalog(n, seed=n)
    catalog.unit_price = np.round(rng.uniform(0.0, 1.0, n), 1)
    catalog.lead_time_days = rng.integers(1, 4, n)
    position, _ = RANK._tie_break_rank(catalog)
    base = rng.choice([0.0, 0.25, 1.0, 1.0 + 2**-40, 1.5, 1.0 - 2**-52], size=n)
    cases = {
        "ties": base,
        "low_bits": base + rng.integers(0, 2, n) * np.spacing(np.maximum(base, 1e-300)) * rng.integers(1, 9, n),
        "random": rng.uniform(0.0, 2.0, n),
        "negative_zero": np.where(rng.random(n) < 0.5, -0.0, base),
        "negative": base - 0.5,
        "inf": np.where(rng.random(n) < 0.2, np.inf, base),
    }
    for name, scores in cases.items():
        idx = np.flatnonzero(rng.random(n) < 0.8) if n > 3 else np.arange(n)
        s = scores[idx].copy()
        full = np.full(n, np.inf)
        full[idx] = s
        got = RANK._order(s, idx, full, catalog)
        assert got.tolist() == RANK._order_exact(s, idx, position).tolist(), name
        if n <= 300:
            assert got.tolist() == _python_order(s, idx, catalog), name


def test_norm_cdf_is_the_tanh_form_to_rounding():
    z = np.concatenate([np.linspace(-12, 12, 4801), [-1e300, -50.0, 50.0, 1e300, -np.inf, np.inf, 0.0, -0.0]])
    with np.errstate(over="ignore", invalid="ignore"):  # z = ±1e300: z³ overflows in both forms
        tanh_form = 0.5 * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z**3)))
        fast = norm_cdf(z)
    assert np.max(np.abs(fast - tanh_form)) < 1e-15
    assert np.isnan(norm_cdf(np.array([np.nan]))).all()


def test_the_angle_tables_interpolate_as_np_interp_row_by_row():
    """interp_rows (every SKU's angle table at once) against np.interp on each row: points hit
    exactly, between points, before and after the table, one-point tables, repeated pressures."""
    rng = np.random.default_rng(5)
    m, k = 400, 4
    n = rng.integers(1, k + 1, m)
    xp = np.sort(np.round(rng.uniform(-1.0, 2.0, (m, k)), 1), axis=1)
    xp[rng.random(m) < 0.1, 1] = xp[rng.random(m) < 0.1, 0]  # some repeated pressures
    xp = np.sort(xp, axis=1)
    fp = np.round(rng.uniform(20.0, 120.0, (m, k)), 0)
    fp[rng.random(m) < 0.1] = 60.0  # flat tables
    for r in range(m):
        xp[r, n[r] :] = np.inf
    x = np.where(rng.random(m) < 0.3, xp[np.arange(m), rng.integers(0, k, m) % n], rng.uniform(-1.5, 2.5, m))
    got = interp_rows(x, xp, fp, n)
    for r in range(m):
        with np.errstate(divide="ignore", invalid="ignore"):
            want = np.interp(x[r], xp[r, : n[r]], fp[r, : n[r]])
        assert got[r] == want or (np.isnan(got[r]) and np.isnan(want)), (r, x[r], xp[r], fp[r], n[r])
