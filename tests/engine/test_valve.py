"""Aerosol valve restrictions in series: the actuator orifice gets its share of the pressure drop."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from aerospec.engine import Geometry, calibration, predict, prediction_item
from aerospec.engine.precedence import VALVE_CD
from tests.engine.conftest import WATER, make_catalog

ACTUATOR = Geometry("hollow_cone", 0.4, family="aerosol_actuator")


def _area_mm2(d_mm: float) -> float:
    return 0.25 * math.pi * d_mm * d_mm


def test_orifices_in_series_share_the_drop_by_their_effective_areas():
    valved = Geometry("hollow_cone", 0.4, stem_orifice_mm=0.33, housing_orifice_mm=0.5, family="aerosol_actuator")
    p = predict(WATER, valved, 5.0)
    # the actuator's C_D·A from the hollow-cone prior (Rizk & Lefebvre at the default geometry)
    cd = math.exp(calibration.load()["families"]["hollow_cone"]["flow"]["coef"][0])
    eff = cd * _area_mm2(0.4)
    resistance = 1 / eff**2 + 1 / (VALVE_CD * _area_mm2(0.33)) ** 2 + 1 / (VALVE_CD * _area_mm2(0.5)) ** 2
    u = math.sqrt(2 * 5e5 / WATER.density_kg_m3)
    expected_ml_min = u * 1e-6 / math.sqrt(resistance) * 6e7  # Q = √(2ΔP/ρ)/√Σ(1/(C_i·A_i)²)
    assert p.flow_ml_min[0] == pytest.approx(expected_ml_min, rel=1e-6)
    left = 5.0 * (1 / eff**2) / resistance
    # everything is predicted at the pressure left across the actuator orifice ...
    alone = predict(WATER, ACTUATOR, left)
    assert p.flow_ml_min[0] == pytest.approx(alone.flow_ml_min[0], rel=1e-9)
    assert p.cone_deg[0] == pytest.approx(alone.cone_deg[0], rel=1e-9)
    assert p.dv50_um[0] == pytest.approx(alone.dv50_um[0], rel=1e-9)
    # ... and said so, with the pressure the user gave kept as the prediction's pressure
    item = prediction_item(p, 0)
    assert item["pressure_bar"] == 5.0
    assert any(f"{left:.2f} bar is left across the actuator orifice" in w for w in item["warnings"])
    assert "valve restrictions in series, not validated" in item["confidence_label"]


def test_valve_restrictions_widen_the_flow_band_and_the_flow_is_never_called_validated():
    d = 2.0  # an orifice band the hollow-cone prior is validated in, at a rated pressure
    plain = predict(WATER, Geometry("hollow_cone", d), 1.5)
    valved = predict(WATER, Geometry("hollow_cone", d, stem_orifice_mm=3.0), 1.5)
    assert plain.method["flow_ml_min"][0] == "family_calibrated"
    assert valved.method["flow_ml_min"][0] == "extrapolated"
    ratio = lambda p: p.flow_ml_min_high[0] / p.flow_ml_min[0]  # noqa: E731
    assert math.log(ratio(valved)) == pytest.approx(2.0 * math.log(ratio(plain)), rel=1e-9)
    assert valved.flow_ml_min[0] < plain.flow_ml_min[0]
    # the angle moves only as ΔP^0.11 with the share: its method and band are those at the orifice's pressure
    left = float(re.search(r"([0-9.]+) bar is left", valved.warnings[0][-1]).group(1))
    alone = predict(WATER, Geometry("hollow_cone", d), left)
    assert valved.method["cone_deg"][0] == alone.method["cone_deg"][0]
    assert valved.cone_deg_high[0] - valved.cone_deg[0] == pytest.approx(alone.cone_deg_high[0] - alone.cone_deg[0])
    assert "valve" not in valved.explain(0)["cone_deg"]["label"]
    assert "the flow band is widened ×2" in valved.warnings[0][-1]


def test_a_makers_rating_is_taken_as_the_actuators_own_and_scaled_to_its_share():
    rated = Geometry("hollow_cone", 0.4, rated_flow_ml_min=60.0, rated_pressure_bar=3.0, stem_orifice_mm=0.33)
    p = predict(WATER, rated, 5.0)
    eff = 60.0 / 6e7 / math.sqrt(2 * 3e5 / 998.0) * 1e6  # mm², from the rating
    left = 5.0 / (1 + (eff / (VALVE_CD * _area_mm2(0.33))) ** 2)
    n = calibration.load()["families"]["hollow_cone"]["flow"]["flow_exponent"]
    assert p.flow_ml_min[0] == pytest.approx(60.0 * (left / 3.0) ** n * math.sqrt(998.0 / WATER.density_kg_m3))
    assert p.method["flow_ml_min"][0] == "maker_anchored"
    assert "through valve restrictions" in p.explain(0)["flow_ml_min"]["label"]


def test_a_vapour_tap_is_not_modelled_and_the_flow_is_an_upper_bound():
    p = predict(WATER, Geometry("hollow_cone", 0.4, vapour_tap_mm=0.3), 5.0)
    assert any("Vapour tap 0.300 mm" in w and "upper bound" in w for w in p.warnings[0])
    assert p.flow_ml_min_low[0] <= p.flow_ml_min[0] / 3.0 + 1e-9


def test_a_catalog_with_valve_columns_gives_what_each_geometry_gives_alone():
    rows = [
        {"orifice_mm": 0.3, "stem_orifice_mm": 0.25, "housing_orifice_mm": None},
        {"orifice_mm": 0.5, "stem_orifice_mm": None, "housing_orifice_mm": 0.6},
        {"orifice_mm": 0.4, "stem_orifice_mm": None, "housing_orifice_mm": None},
        {"orifice_mm": 0.6, "spray_type": "plain_orifice", "swirl_chamber_mm": None, "inlet_area_mm2": None,
         "stem_orifice_mm": 0.4, "housing_orifice_mm": 0.5},
    ]  # fmt: skip
    catalog = make_catalog(rows)
    together = predict(WATER, catalog, 4.0)
    for i, row in enumerate(rows):
        alone = predict(
            WATER,
            Geometry(
                str(catalog.spray_type[i]),
                row["orifice_mm"],
                *(() if np.isnan(catalog.swirl_chamber_mm[i]) else (1.2, 0.2)),
                stem_orifice_mm=row["stem_orifice_mm"],
                housing_orifice_mm=row["housing_orifice_mm"],
            ),
            4.0,
        )
        for key in ("flow_ml_min", "flow_ml_min_high", "cone_deg", "cone_deg_high", "dv50_um"):
            assert getattr(together, key)[i] == pytest.approx(getattr(alone, key)[0], rel=1e-9), (i, key)
        assert list(together.warnings[i]) == list(alone.warnings[0]), i
