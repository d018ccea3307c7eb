"""Engine v2: each precedence branch, bands from the calibration, flashing, plain jets, ranking probabilities."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from aerospec.engine import (
    Fluid,
    Geometry,
    Target,
    Targets,
    calibrate,
    calibration,
    explain_empty,
    predict,
    prediction_item,
    rank,
)
from aerospec.engine.precedence import family_angle, norm_cdf
from aerospec.engine.rank import probability_within
from tests.engine.conftest import BUTANE_BLEND, make_catalog

WATER_20C = Fluid(1.0, 998.0, 72.8)


def test_maker_rating_is_scaled_by_pressure_exponent_and_density():
    g = Geometry("full_cone", 2.4, full_cone_insert="standard", rated_flow_ml_min=4800.0, rated_pressure_bar=3.0)
    fluid = Fluid(1.0, 1200.0, 60.0)
    p = predict(fluid, g, 1.5)
    n = calibration.load()["families"]["full_cone_standard"]["flow"]["flow_exponent"]
    assert n == 0.46  # the maker's stated exponent for standard full cones
    assert p.flow_ml_min[0] == pytest.approx(4800.0 * (1.5 / 3.0) ** n * math.sqrt(998.0 / 1200.0), rel=1e-9)
    assert p.method["flow_ml_min"][0] == "maker_anchored"
    assert prediction_item(p, 0)["method"]["flow_ml_min"] == "maker_anchored"
    own = predict(
        WATER_20C, Geometry("hollow_cone", 1.6, rated_flow_ml_min=380.0, rated_pressure_bar=0.7, flow_exponent=0.4), 2.8
    )
    assert own.flow_ml_min[0] == pytest.approx(380.0 * 4.0**0.4, rel=1e-9)


def test_flow_number_is_a_rating_at_one_bar():
    p = predict(WATER_20C, Geometry("hollow_cone", 0.4, flow_number_ml_min_sqrtbar=30.0), 4.0)
    assert p.flow_ml_min[0] == pytest.approx(60.0, rel=1e-9)
    assert p.method["flow_ml_min"][0] == "maker_anchored"


def test_rating_band_is_the_cross_validated_scaling_error_and_widens_far_from_the_rating():
    g = Geometry("hollow_cone", 1.6, rated_flow_ml_min=380.0, rated_pressure_bar=0.7)
    q90 = calibration.load()["rated_scaling"]["cv"]["q90"]
    near = predict(WATER_20C, g, 1.4)
    assert near.flow_ml_min_high[0] / near.flow_ml_min[0] == pytest.approx(math.exp(q90), rel=1e-9)
    far = predict(WATER_20C, g, 20.0)  # ×29 the rating's pressure: beyond the ×8 validated
    assert far.flow_ml_min_high[0] / far.flow_ml_min[0] == pytest.approx(math.exp(2 * q90), rel=1e-9)
    assert any("beyond the ×8 pressure ratio" in w for w in far.warnings[0])


def test_family_prior_without_rating_and_never_the_swirl_formula_for_full_cones():
    with_geometry = predict(WATER_20C, Geometry("full_cone", 4.0, 12.0, 4.0, full_cone_insert="standard"), 3.0)
    without = predict(WATER_20C, Geometry("full_cone", 4.0, full_cone_insert="standard"), 3.0)
    assert with_geometry.flow_ml_min[0] == pytest.approx(without.flow_ml_min[0], rel=1e-12)
    b0, b1 = calibration.load()["families"]["full_cone_standard"]["flow"]["coef"]
    cd = math.exp(b0 + b1 * math.log(4.0))
    ideal = 0.25 * math.pi * 4.0e-3**2 * math.sqrt(2 * 3e5 / 998.0) * 6e7
    assert without.flow_ml_min[0] == pytest.approx(cd * ideal, rel=1e-9)
    assert without.method["flow_ml_min"][0] == "family_calibrated"
    assert without.confidence_label[0].startswith("flow family-calibrated (validated for")


def test_hollow_cone_uses_rizk_lefebvre_only_with_real_in_range_swirl_geometry():
    real = predict(WATER_20C, Geometry("hollow_cone", 1.2, 3.6, 1.0), 3.0)
    default = predict(WATER_20C, Geometry("hollow_cone", 1.2), 3.0)
    out_of_range = predict(WATER_20C, Geometry("hollow_cone", 1.2, 3.6, 20.0), 3.0)  # K = 4.6 > 1.5
    assert real.explain(0)["flow_ml_min"]["source"].startswith("Rizk & Lefebvre")
    assert real.method["flow_ml_min"][0] == "extrapolated"
    # without real swirl geometry: the family prior, which for hollow cones is the same published
    # correlation at the default geometry with no constant fitted (the WhirlJet table validates it)
    for p in (default, out_of_range):
        source = p.explain(0)["flow_ml_min"]["source"]
        assert source.startswith("Rizk & Lefebvre (1985) C_D at K = 0.4, D_s = 3·d_o (no fit)")
        assert "no constant fitted; validated on hollow cones" in source
        assert p.method["flow_ml_min"][0] == "family_calibrated"
    cd = calibration.load()["families"]["hollow_cone"]["flow"]["coef"]
    assert cd == [pytest.approx(math.log(0.2913), abs=1e-3), 0.0]  # Rizk & Lefebvre at K = 0.4, D_s/d_o = 3


def test_angle_table_follows_the_family_shape_through_its_points_and_is_held_flat_outside():
    table = ((0.5, 52.0), (1.5, 65.0), (6.0, 59.0))
    g = Geometry("full_cone", 2.0, full_cone_insert="standard", angle_table=table)
    p = predict(WATER_20C, g, np.array([1.0, 1.5, 10.0]))
    # inside: the family shape through the table's points (their offsets interpolated in ln P)
    f = family_angle(np.ones(3, dtype=int), np.full(3, math.log(2.0)), np.array([1.0, 0.5, 1.5]))
    t = math.log(1.0 / 0.5) / math.log(1.5 / 0.5)
    off = (52.0 - f[1]) + t * ((65.0 - f[2]) - (52.0 - f[1]))
    assert p.cone_deg[0] == pytest.approx(f[0] + off, rel=1e-9)
    assert p.cone_deg[1] == pytest.approx(65.0, rel=1e-9)
    assert p.cone_deg[2] == pytest.approx(59.0, rel=1e-9)
    assert list(p.method["cone_deg"]) == ["maker_anchored"] * 3
    assert p.warnings[0] == [] or not any("outside the angle table" in w for w in p.warnings[0])
    assert any("outside the angle table (0.500–6.00 bar)" in w for w in p.warnings[2])
    assert (p.cone_deg_high[2] - p.cone_deg[2]) > (p.cone_deg_high[1] - p.cone_deg[1])  # widened outside


def test_a_hollow_cone_angle_table_is_interpolated_in_p_to_the_minus_half():
    # hollow cones open steeply and level off: the table is interpolated in P^-1/2 (θ = θ_∞ − B·P^-1/2
    # through each pair of neighbouring points), flat outside it
    table = ((0.7, 39.0), (1.5, 58.0), (6.0, 69.0))
    p = predict(WATER_20C, Geometry("hollow_cone", 1.2, angle_table=table), np.array([1.0, 3.0, 10.0]))
    t = (0.7**-0.5 - 1.0) / (0.7**-0.5 - 1.5**-0.5)
    assert p.cone_deg[0] == pytest.approx(39.0 + t * (58.0 - 39.0), rel=1e-9)
    t = (1.5**-0.5 - 3.0**-0.5) / (1.5**-0.5 - 6.0**-0.5)
    assert p.cone_deg[1] == pytest.approx(58.0 + t * (69.0 - 58.0), rel=1e-9)
    assert p.cone_deg[2] == pytest.approx(69.0, rel=1e-9)
    # levelling off: above a straight line in ln P between the same points
    t_ln = math.log(1.0 / 0.7) / math.log(1.5 / 0.7)
    assert p.cone_deg[0] > 39.0 + t_ln * (58.0 - 39.0) + 0.5
    assert "interpolated in P^−½" in p.explain(0)["cone_deg"]["source"]
    q90 = calibration.load()["families"]["hollow_cone"]["angle"]["table_middle_point"]["q90"]
    assert p.cone_deg_high[0] - p.cone_deg[0] == pytest.approx(q90, rel=1e-9)


def test_one_tabulated_angle_is_scaled_by_the_family_shape():
    g = Geometry("full_cone", 2.0, full_cone_insert="standard", angle_table=((1.5, 61.0),))
    p = predict(WATER_20C, g, 6.0)
    f = family_angle(np.array([1, 1]), np.log(np.array([2.0, 2.0])), np.array([6.0, 1.5]))
    assert p.cone_deg[0] == pytest.approx(61.0 + f[0] - f[1], rel=1e-9)
    assert p.explain(0)["cone_deg"]["source"].endswith("(one tabulated angle scaled by the family's pressure shape)")


def test_one_tabulated_hollow_cone_angle_follows_the_levelling_off_form():
    # no fitted constant: θ_∞ − B·P^-1/2 with Rizk & Lefebvre's slope 0.11 at the tabulated pressure
    g = Geometry("hollow_cone", 2.0, angle_table=((1.5, 61.0),))
    p = predict(WATER_20C, g, np.array([0.7, 6.0, 50.0]))
    expected = 61.0 * (1.0 + 0.22 * (1.0 - np.sqrt(1.5 / np.array([0.7, 6.0, 6.0]))))  # held at 6 bar above it
    assert p.cone_deg == pytest.approx(expected, rel=1e-9)
    # the very rule the validation measures (calibrate.py), not a second copy that could drift
    assert p.cone_deg[:2] == pytest.approx(calibrate.hollow_one_angle(61.0, 1.5, np.array([0.7, 6.0])), rel=1e-9)
    # levels off: per unit of ln P it rises less from 1.5 to 6 bar than from 0.7 to 1.5 bar
    assert (p.cone_deg[1] - 61.0) / math.log(6.0 / 1.5) < (61.0 - p.cone_deg[0]) / math.log(1.5 / 0.7)
    assert "levelling-off form" in p.explain(0)["cone_deg"]["source"]


def test_hollow_cone_prior_is_rizk_lefebvre_and_full_cone_prior_narrows_at_high_pressure():
    # no levelling-off form: the only public hollow-cone table is kept for validation, so the prior
    # is the published power law, 2θ = 6·K^-0.15·(ΔP·d²·ρ/μ²)^0.11 at K = 0.4
    hollow = predict(WATER_20C, Geometry("hollow_cone", 2.0), np.array([0.7, 1.5, 6.0])).cone_deg
    expected = 6.0 * 0.4**-0.15 * (np.array([0.7, 1.5, 6.0]) * 1e5 * (2.0e-3) ** 2 * 998.0 / 1e-6) ** 0.11
    assert hollow == pytest.approx(expected, rel=1e-5)  # its constant is stored to 6 decimals
    full = predict(WATER_20C, Geometry("full_cone", 3.2, full_cone_insert="standard"), np.array([1.5, 6.0])).cone_deg
    assert full[1] < full[0]


def test_viscosity_narrows_the_calibrated_angle_and_widens_its_band():
    thin = predict(WATER_20C, Geometry("hollow_cone", 2.0), 3.0)
    thick = predict(Fluid(20.0, 998.0, 72.8), Geometry("hollow_cone", 2.0), 3.0)
    assert thick.cone_deg[0] == pytest.approx(thin.cone_deg[0] * 20.0**-0.22, rel=1e-9)
    assert thick.method["cone_deg"][0] == "extrapolated"
    assert (thick.cone_deg_high[0] - thick.cone_deg[0]) > (thin.cone_deg_high[0] - thin.cone_deg[0])


def test_band_is_the_cells_cross_validated_half_width_and_doubles_below_one_millimetre():
    cal = calibration.load()
    p = predict(WATER_20C, Geometry("full_cone", 4.0, full_cone_insert="standard"), 3.0)
    cell = cal["families"]["full_cone_standard"]["flow"]["cv"]["cells"]["3–10 mm|rated pressures|water-like"]
    assert p.flow_ml_min_high[0] / p.flow_ml_min[0] == pytest.approx(math.exp(cell["half_width"]), rel=1e-9)
    small = predict(WATER_20C, Geometry("full_cone", 0.4, full_cone_insert="standard"), 3.0)
    family_q90 = cal["families"]["full_cone_standard"]["flow"]["cv"]["q90"]
    assert small.flow_ml_min_high[0] / small.flow_ml_min[0] == pytest.approx(math.exp(2 * family_q90), rel=1e-9)
    assert small.method["flow_ml_min"][0] == "extrapolated"
    assert any("No public data validates predictions below a 1 mm orifice" in w for w in small.warnings[0])
    assert "no public data below a 1 mm orifice" in small.confidence_label[0]


def test_unknown_insert_uses_standard_constants_with_widened_bands_and_says_so():
    known = predict(WATER_20C, Geometry("full_cone", 4.0, full_cone_insert="standard"), 3.0)
    unknown = predict(WATER_20C, Geometry("full_cone", 4.0), 3.0)
    assert unknown.flow_ml_min[0] == pytest.approx(known.flow_ml_min[0])
    assert unknown.flow_ml_min_high[0] > known.flow_ml_min_high[0]
    assert any("full-cone insert is not given" in w for w in unknown.warnings[0])
    with pytest.raises(ValueError, match="unknown full_cone_insert"):
        predict(WATER_20C, Geometry("full_cone", 4.0, full_cone_insert="oval"), 3.0)


def test_flashing_propellant_gets_flow_bounds_a_regime_and_no_droplet_size():
    p = predict(BUTANE_BLEND, Geometry("hollow_cone", 0.4), 4.0)
    assert p.flow_ml_min_low[0] <= p.flow_ml_min[0] / 3.0
    assert p.method["flow_ml_min"][0] == "extrapolated" and p.method["dv50_um"][0] == "not_modelled"
    assert all(math.isnan(v[0]) for v in (p.dv10_um, p.dv50_um, p.dv90_um, p.smd_um))
    assert "not modelled (transitional flashing" in p.confidence_label[0]
    item = prediction_item(p, 0)
    json.dumps(item, allow_nan=False)  # JSON-ready: no NaN
    assert item["regime"] == p.regime[0] and item["dv50_um"] is None
    r = rank(BUTANE_BLEND, make_catalog([{"seal_material": "FKM"}]), Targets(4.0, dv50_um=Target(50.0, 10.0)))
    assert r.p_meet["dv50_um"][0] == 0.0
    assert r.misses(0) == ["Dv50 not modelled (flashing propellant) against 50 ± 10 µm"]


def test_plain_jet_at_low_pressure_says_it_may_not_atomise():
    low = predict(WATER_20C, Geometry("plain_orifice", 0.4), 3.0)
    high = predict(WATER_20C, Geometry("plain_orifice", 0.4), 200.0)
    assert any("may not atomise" in w for w in low.warnings[0])
    assert not any("may not atomise" in w for w in high.warnings[0])
    assert "the jet may not atomise" in low.explain(0)["dv50_um"]["label"]


def test_probability_of_meeting_a_target_falls_with_distance_and_with_band_width():
    value = np.array([60.0, 60.0, 60.0, 70.0])
    low = np.array([55.0, 50.0, 40.0, 65.0])
    high = np.array([65.0, 70.0, 80.0, 75.0])
    p = probability_within(value, low, high, 55.0, 65.0, log_scale=False)
    assert p[0] > p[1] > p[2]  # on target: the narrower the band, the surer
    assert p[0] > p[3]  # same band width, off target
    assert p[0] == pytest.approx(0.90, abs=2e-3)  # the band itself is the 90 % interval
    flows = np.array([100.0, 100.0])
    pf = probability_within(flows, flows / 1.2, flows * 1.2, 100 / 1.2, 100 * 1.2, log_scale=True)
    assert pf[0] == pytest.approx(0.90, abs=2e-3)


def test_normal_cdf_matches_erf():
    z = np.linspace(-5, 5, 201)
    exact = np.array([0.5 * (1 + math.erf(x / math.sqrt(2))) for x in z])
    assert np.max(np.abs(norm_cdf(z) - exact)) < 2e-4


def test_ranking_counts_targets_met_and_words_the_misses():
    catalog = make_catalog([{"spray_type": "full_cone", "orifice_mm": 2.4, "full_cone_insert": "standard"}])
    base = rank(WATER_20C, catalog, Targets(3.0)).prediction
    cone, flow = float(base.cone_deg[0]), float(base.flow_ml_min[0])
    targets = Targets(3.0, cone_deg=Target(cone + 12.0, 5.0), flow_ml_min=Target(flow, 100.0), dv50_um=Target(5.0, 1.0))
    r = rank(WATER_20C, catalog, targets)
    assert r.targets_given == 3 and r.targets_met[0] == 1
    assert r.misses(0) == [
        f"cone {cone:.3g}° against {cone + 12.0:.3g} ± 5°",
        f"Dv50 {float(base.dv50_um[0]):.3g} µm against 5 ± 1 µm",
    ]
    assert r.order_note == ""
    assert set(r.p_meet) == {"cone_deg", "flow_ml_min", "dv50_um"}


def test_a_likely_hit_outranks_a_closer_point_with_a_wide_band():
    catalog = make_catalog(
        [
            {"spray_type": "full_cone", "orifice_mm": 4.0, "full_cone_insert": "standard", "swirl_chamber_mm": None},
            {"spray_type": "full_cone", "orifice_mm": 4.0, "full_cone_insert": None, "swirl_chamber_mm": None},
        ]
    )
    pred = rank(WATER_20C, catalog, Targets(3.0)).prediction
    target = Targets(3.0, flow_ml_min=Target(float(pred.flow_ml_min[0]), float(pred.flow_ml_min[0]) * 0.1))
    r = rank(WATER_20C, catalog, target)
    assert r.p_meet["flow_ml_min"][0] > r.p_meet["flow_ml_min"][1]  # same point, narrower band
    assert list(r.order) == [0, 1]


def test_importing_the_engine_loads_no_scipy_or_pandas():
    code = "import sys, aerospec.engine; print(sorted(m for m in ('scipy', 'pandas', 'sklearn') if m in sys.modules))"
    run = subprocess.run  # noqa: S603 - fixed argv: this interpreter and a literal snippet
    out = run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_explain_empty_stays_json_ready_when_the_droplet_size_is_not_modelled():
    catalog = make_catalog([{"seal_material": "FKM"}])
    targets = Targets(4.0, dv50_um=Target(50.0, 10.0), flow_ml_min=Target(1.0, 0.5))
    result = explain_empty(rank(BUTANE_BLEND, catalog, targets), targets)
    json.dumps(result, allow_nan=False)
    assert result["nearest"][0]["misses"]["dv50_um"]["predicted"] is None
    assert "dv50_um" not in result["closest_per_target"]


def test_catalog_anchor_columns_give_the_same_answers_as_single_geometries():
    rows = [
        {"spray_type": "hollow_cone", "orifice_mm": 1.6, "rated_flow_ml_min": 380.0, "rated_pressure_bar": 0.7},
        {"spray_type": "hollow_cone", "orifice_mm": 1.2, "angle_table": [[0.7, 39.0], [6.0, 69.0]]},
        {"spray_type": "full_cone", "orifice_mm": 4.0, "full_cone_insert": "wide", "swirl_chamber_mm": None},
        {"spray_type": "full_cone", "orifice_mm": 4.0, "full_cone_insert": None, "swirl_chamber_mm": None},
    ]
    catalog = make_catalog(rows)
    whole = predict(WATER_20C, catalog, 2.0)
    singles = [
        # the fixture's 1.2 mm swirl chamber is not larger than these orifices: treated as not given
        Geometry("hollow_cone", 1.6, rated_flow_ml_min=380.0, rated_pressure_bar=0.7),
        Geometry("hollow_cone", 1.2, angle_table=((0.7, 39.0), (6.0, 69.0))),
        Geometry("full_cone", 4.0, full_cone_insert="wide"),
        Geometry("full_cone", 4.0),
    ]
    for i, g in enumerate(singles):
        one = predict(WATER_20C, g, 2.0)
        assert whole.cone_deg[i] == pytest.approx(one.cone_deg[0], rel=1e-9), i
        assert whole.method["cone_deg"][i] == one.method["cone_deg"][0]
        assert whole.flow_ml_min[i] == pytest.approx(one.flow_ml_min[0], rel=1e-9), i
        assert whole.flow_ml_min_high[i] == pytest.approx(one.flow_ml_min_high[0], rel=1e-9), i
    assert list(whole.method["flow_ml_min"])[0] == "maker_anchored"
    assert np.asarray(whole.method["cone_deg"]).tolist()[1] == "maker_anchored"


def test_a_nominal_or_measured_orifice_is_said_in_the_flow_band_and_the_band_is_not_narrowed():
    g = lambda nominal: Geometry("full_cone", 4.0, full_cone_insert="standard", orifice_nominal=nominal)  # noqa: E731
    unknown, nominal, measured = (predict(WATER_20C, g(v), 3.0) for v in (None, True, False))
    assert "nominal" not in unknown.explain(0)["flow_ml_min"]["band_note"]
    assert "nominal catalog size, as in every calibration table" in nominal.explain(0)["flow_ml_min"]["band_note"]
    assert "measured, not nominal: the band is not narrowed" in measured.explain(0)["flow_ml_min"]["band_note"]
    for p in (nominal, measured):
        assert p.flow_ml_min_high[0] == unknown.flow_ml_min_high[0] and p.flow_ml_min[0] == unknown.flow_ml_min[0]


def test_the_flow_band_note_says_how_many_times_it_was_widened():
    # 0.3 mm at 69 bar: no orifice band validated and outside the makers' pressures, ×2 each
    note = predict(WATER_20C, Geometry("hollow_cone", 0.3), 69.0).explain(0)["flow_ml_min"]["band_note"]
    assert note.endswith("widened ×4 outside the validated cells")
