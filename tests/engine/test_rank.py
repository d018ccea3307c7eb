"""rank() and explain_empty(): exclusions with reasons, score, tie-breaks, empty states."""

from __future__ import annotations

import numpy as np
import pytest

from aerospec.engine import Target, Targets, explain_empty, rank
from aerospec.engine.rank import DISTANCE_WEIGHT, normalise_material
from tests.engine.conftest import BUTANE_BLEND, ETHANOL, WATER, make_catalog

SWIRL = {"spray_type": "hollow_cone", "orifice_mm": 0.4, "swirl_chamber_mm": 1.2, "inlet_area_mm2": 0.2}


def test_pressure_above_rating_is_excluded_with_reason():
    catalog = make_catalog([{**SWIRL, "max_pressure_bar": 4.0}, SWIRL])
    r = rank(WATER, catalog, Targets(pressure_bar=6.0))
    assert list(r.order) == [1]
    assert r.excluded[0] == ["Operating pressure 6.00 bar is above this actuator's 4.00 bar rating."]
    assert np.isinf(r.score[0])
    assert r.exclusion_counts["pressure"] == 1


def test_viscosity_outside_range_is_excluded_with_reason():
    catalog = make_catalog([{**SWIRL, "min_viscosity_cp": 2.0}, {**SWIRL, "max_viscosity_cp": 0.5}, SWIRL])
    r = rank(WATER, catalog, Targets(pressure_bar=5.0))
    assert set(r.excluded) == {0, 1}
    assert "outside this actuator's 2.00–100 cP range" in r.excluded[0][0]
    assert list(r.order) == [2]


def test_flammable_fluid_excludes_unrated_seal_and_body_materials():
    catalog = make_catalog(
        [
            {**SWIRL, "seal_material": "EPDM"},
            {**SWIRL, "body_material": "ABS"},
            {**SWIRL, "seal_material": "Viton", "body_material": "Acetal"},
            {**SWIRL, "seal_material": "nitrile"},
        ]
    )
    r = rank(ETHANOL, catalog, Targets(pressure_bar=5.0))
    assert sorted(r.order.tolist()) == [2, 3]
    assert "Seal material EPDM is not rated" in r.excluded[0][0] and "swells in hydrocarbons" in r.excluded[0][0]
    assert r.excluded[1] == ["Body material ABS is not rated for flammable solvents or propellants."]
    assert r.exclusion_counts["material"] == 2
    # water is not flammable: the same catalog is all compatible
    assert len(rank(WATER, catalog, Targets(pressure_bar=5.0)).order) == 4


def test_liquefied_propellant_counts_as_flammable():
    catalog = make_catalog([{**SWIRL, "seal_material": "EPDM"}, SWIRL])
    r = rank(BUTANE_BLEND, catalog, Targets(pressure_bar=5.0))
    assert list(r.order) == [1]


def test_material_aliases():
    assert normalise_material(" Viton ") == "fkm"
    assert normalise_material("Buna-N") == "nbr"
    assert normalise_material("Stainless Steel") == "stainless_steel"


def test_score_is_the_probability_of_a_miss_plus_a_small_distance_term():
    catalog = make_catalog([SWIRL])
    r0 = rank(WATER, catalog, Targets(pressure_bar=5.0))
    pred = r0.prediction
    targets = Targets(
        pressure_bar=5.0,
        cone_deg=Target(float(pred.cone_deg[0]) + 10.0, 5.0),  # 2 tolerances off
        dv50_um=Target(float(pred.dv50_um[0]), 10.0),  # on target
    )
    r = rank(WATER, catalog, targets)
    p_all = r.p_meet["cone_deg"][0] * r.p_meet["dv50_um"][0]
    expected = 1.0 - p_all + DISTANCE_WEIGHT * np.sqrt((2.0**2 + 0.0) / 2)
    assert r.score[0] == pytest.approx(expected)
    assert not r.within_tolerance[0]
    assert r.targets_given == 2 and r.targets_met[0] == 1
    cone = float(pred.cone_deg[0])
    assert r.misses(0) == [f"cone {cone:.3g}° against {cone + 10.0:.3g} ± 5°"]


def test_order_is_best_first():
    catalog = make_catalog([{**SWIRL, "orifice_mm": d} for d in (0.2, 0.4, 0.8)])
    flows = rank(WATER, catalog, Targets(pressure_bar=5.0)).prediction.flow_ml_min
    targets = Targets(pressure_bar=5.0, flow_ml_min=Target(float(flows[1]), 5.0))
    r = rank(WATER, catalog, targets)
    assert r.order[0] == 1
    assert r.within_tolerance.tolist() == [False, True, False]


def test_lower_confidence_ranks_lower_at_equal_distance():
    # same predicted flow (same K and Ds/do) but one without swirl geometry: defaults, lower confidence
    catalog = make_catalog(
        [
            {**SWIRL, "swirl_chamber_mm": None, "inlet_area_mm2": None},
            {**SWIRL, "swirl_chamber_mm": 1.2, "inlet_area_mm2": 0.192},
        ]
    )
    r = rank(WATER, catalog, Targets(pressure_bar=5.0))
    assert r.prediction.confidence[0] < r.prediction.confidence[1]
    assert list(r.order) == [1, 0]
    assert r.order_note.startswith("No target given: ordered by the engine's confidence")


def test_ties_are_broken_by_price_then_lead_time():
    catalog = make_catalog(
        [
            {**SWIRL, "unit_price": 2.0, "lead_time_days": 5},
            {**SWIRL, "unit_price": 1.0, "lead_time_days": 30},
            {**SWIRL, "unit_price": 1.0, "lead_time_days": 3},
        ]
    )
    r = rank(WATER, catalog, Targets(pressure_bar=5.0, cone_deg=Target(50.0, 10.0)))
    assert list(r.order) == [2, 1, 0]


def test_non_positive_tolerance_is_rejected():
    with pytest.raises(ValueError, match="tolerance"):
        rank(WATER, make_catalog([SWIRL]), Targets(pressure_bar=5.0, cone_deg=Target(50.0, 0.0)))


def test_explain_empty_when_nothing_is_compatible_names_the_main_constraint():
    catalog = make_catalog(
        [
            {**SWIRL, "max_pressure_bar": 3.0},
            {**SWIRL, "max_pressure_bar": 4.0},
            {**SWIRL, "max_viscosity_cp": 0.5},
        ]
    )
    r = rank(WATER, catalog, Targets(pressure_bar=6.0))
    out = explain_empty(r, Targets(pressure_bar=6.0))
    assert out["status"] == "none_compatible"
    assert out["top_constraint"] == "pressure"
    assert out["excluded_by"] == {"pressure": 2, "viscosity": 1, "material": 0}
    assert "pressure rating" in out["message"]


def test_explain_empty_when_none_within_tolerance_reports_how_far_the_nearest_miss():
    catalog = make_catalog([{**SWIRL, "orifice_mm": 0.3}, {**SWIRL, "orifice_mm": 0.4, "max_pressure_bar": 2.0}])
    targets = Targets(pressure_bar=5.0, flow_ml_min=Target(5000.0, 100.0), cone_deg=Target(50.0, 20.0))
    r = rank(WATER, catalog, targets)
    out = explain_empty(r, targets)
    assert out["status"] == "none_within_tolerance"
    nearest = out["nearest"][0]
    assert nearest["index"] == 0
    assert nearest["misses"]["flow_ml_min"]["off_by"] < -4000
    assert out["closest_per_target"]["flow_ml_min"]["index"] == 0
    assert "closest flow rate" in out["message"] and "ml/min" in out["message"]


def test_explain_empty_ok_when_something_fits():
    catalog = make_catalog([SWIRL])
    r = rank(WATER, catalog, Targets(pressure_bar=5.0))
    assert explain_empty(r, Targets(pressure_bar=5.0))["status"] == "ok"
