"""predict(): physics wiring, trends, bands and warnings, vectorisation, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from aerospec.engine import Fluid, Geometry, calibration, predict, prediction_item
from aerospec.engine import correlations as c
from aerospec.engine.precedence import family_angle
from tests.engine.conftest import BUTANE_BLEND, ETHANOL, WATER, make_catalog

SWIRL = Geometry("hollow_cone", 0.4, swirl_chamber_mm=1.2, inlet_area_mm2=0.2)


def item(fluid, geometry, pressure):
    return prediction_item(predict(fluid, geometry, pressure), 0)


def test_hollow_cone_equals_the_reference_correlations():
    p = predict(WATER, SWIRL, 5.0)
    mu, rho, sigma, dp, d = 0.89e-3, 997.0, 0.072, 5e5, 0.4e-3
    k = 0.2 / (1.2 * 0.4)
    cd = c.cd_rizk_lefebvre(k, 3.0)
    q = c.flow_rate(cd, d, dp, rho)
    cone = c.cone_angle_rizk_lefebvre(k, dp, d, rho, mu)
    t = c.film_thickness_suyari_lefebvre(d, rho * q, mu, rho, dp)
    smd = c.smd_wang_lefebvre(sigma, mu, rho, dp, t, math.radians(cone / 2))
    assert p.flow_ml_min[0] == pytest.approx(q * 6e7, rel=1e-9)
    # engine v2: the angle is the calibrated family shape (R-L still feeds the SMD's cos θ)
    shape = family_angle(np.array([0]), np.log(np.array([0.4])), np.array([5.0]))[0]
    assert p.cone_deg[0] == pytest.approx(shape * (0.89**-0.22) * (997.0 / 998.0) ** 0.11, rel=1e-9)
    assert p.smd_um[0] == pytest.approx(smd * 1e6, rel=1e-9)
    dv10, dv50, dv90 = c.rosin_rammler_from_smd(smd * 1e6, 2.5)
    assert (p.dv10_um[0], p.dv50_um[0], p.dv90_um[0]) == pytest.approx((dv10, dv50, dv90), rel=1e-9)


def test_full_cone_and_plain_orifice_equal_the_reference_correlations():
    full = predict(WATER, Geometry("full_cone", 1.0, 3.0, 1.2), 3.0)
    assert full.smd_um[0] == pytest.approx(c.smd_estes_mudawar(1e-3, 3e5, 997.0, 0.89e-3, 0.072) * 1e6, rel=1e-9)
    plain = predict(ETHANOL, Geometry("plain_orifice", 0.3, orifice_length_mm=0.3), 4.0)
    u = c.ideal_velocity(4e5, 785.0)
    cd = c.cd_lichtarowicz(c.reynolds(785.0, u, 0.3e-3, 1.08e-3), 1.0)
    factor = math.exp(calibration.load()["families"]["plain_orifice"]["flow"]["coef"][0])  # fitted, calibrate.py
    assert plain.flow_ml_min[0] == pytest.approx(c.flow_rate(cd, 0.3e-3, 4e5, 785.0) * 6e7 * factor, rel=1e-9)
    nu = 1.08e-3 / 785.0
    mr = c.smd_merrington_richardson(0.3e-3, nu, u)
    ek = c.smd_elkotb(nu, 0.022, 785.0, 4e5)
    assert plain.smd_um[0] == pytest.approx(math.sqrt(mr * ek) * 1e6, rel=1e-9)
    assert plain.cone_deg[0] == pytest.approx(c.cone_angle_reitz_bracco(1.0, 785.0), rel=1e-9)


@pytest.mark.parametrize("geometry", [SWIRL, Geometry("full_cone", 1.0, 3.0, 1.2), Geometry("plain_orifice", 0.4)])
def test_more_pressure_gives_more_flow_and_finer_drops(geometry):
    p = predict(WATER, geometry, np.array([2.0, 4.0, 8.0]))
    assert np.all(np.diff(p.flow_ml_min) > 0)
    assert np.all(np.diff(p.dv50_um) < 0)
    assert np.all(np.diff(p.smd_um) < 0)


def test_more_viscosity_gives_coarser_drops_and_a_narrower_cone():
    thin = predict(WATER, SWIRL, 5.0)
    thick = predict(Fluid(10.0, 1150.0, 65.0), SWIRL, 5.0)
    assert thick.dv50_um[0] > thin.dv50_um[0]
    assert thick.cone_deg[0] < thin.cone_deg[0]
    assert (
        predict(Fluid(10.0, 1150.0, 65.0), Geometry("plain_orifice", 0.4), 5.0).dv50_um[0]
        > predict(WATER, Geometry("plain_orifice", 0.4), 5.0).dv50_um[0]
    )


def test_bands_contain_the_value_and_are_ordered():
    p = predict(WATER, SWIRL, 5.0)
    for key in ("flow_ml_min", "cone_deg", "dv50_um", "dv10_um", "dv90_um", "smd_um"):
        assert getattr(p, f"{key}_low")[0] < getattr(p, key)[0] < getattr(p, f"{key}_high")[0]
    assert p.dv10_um[0] < p.dv50_um[0] < p.dv90_um[0]


def test_inside_every_range_confidence_is_one_and_no_warning():
    # a gas-turbine-size simplex: FN in Wang & Lefebvre's range, water at 7 bar
    geometry = Geometry("hollow_cone", 1.2, swirl_chamber_mm=3.6, inlet_area_mm2=1.0)
    p = predict(WATER, geometry, 5.0)
    assert p.warnings[0] == []
    assert p.confidence[0] == 1.0


def test_out_of_range_widens_the_band_lowers_confidence_and_says_why():
    inside = predict(WATER, Geometry("hollow_cone", 1.2, 3.6, 1.0), 5.0)
    low_p = predict(WATER, Geometry("hollow_cone", 1.2, 3.6, 1.0), 1.5)
    width = lambda p: p.dv50_um_high[0] / p.dv50_um_low[0]  # noqa: E731
    assert width(low_p) > width(inside)
    assert low_p.confidence[0] < inside.confidence[0]
    text = " ".join(low_p.warnings[0])
    assert "Wang & Lefebvre (1987)" in text and "pressure 1.50 bar is below" in text


def test_viscous_fluid_outside_wang_lefebvre_names_viscosity():
    p = predict(Fluid(50.0, 1200.0, 60.0), SWIRL, 5.0)
    assert any("viscosity 50.0 cP is above" in w and "Wang & Lefebvre" in w for w in p.warnings[0])


def test_missing_swirl_geometry_uses_documented_defaults_and_warns():
    given = predict(WATER, Geometry("hollow_cone", 0.4, 1.2, 0.192), 5.0)  # K = 0.4, Ds = 3 d_o
    defaulted = predict(WATER, Geometry("hollow_cone", 0.4), 5.0)
    # v2: real swirl geometry -> Rizk & Lefebvre (extrapolated); none -> the hollow-cone family prior,
    # the same correlation at the default geometry, unfitted, validated on the WhirlJet table
    assert given.explain(0)["flow_ml_min"]["source"].startswith("Rizk & Lefebvre (1985), J. Propulsion")
    assert given.method["flow_ml_min"][0] == "extrapolated"
    assert defaulted.explain(0)["flow_ml_min"]["source"].startswith("Rizk & Lefebvre (1985) C_D at K = 0.4")
    assert defaulted.flow_ml_min[0] == pytest.approx(given.flow_ml_min[0], rel=1e-5)  # same C_D at K = 0.4
    assert defaulted.confidence[0] < given.confidence[0]
    assert any("were not given" in w for w in defaulted.warnings[0])


def test_flashing_propellant_is_flagged_and_bands_widen_a_lot():
    normal = predict(ETHANOL, SWIRL, 5.0)
    flashing = predict(BUTANE_BLEND, SWIRL, 5.0)
    assert flashing.flashing[0]
    assert any("Flash-boiling" in w and "no droplet size is given" in w for w in flashing.warnings[0])
    assert flashing.confidence[0] <= 0.3 * normal.confidence[0] + 1e-12
    assert flashing.flow_ml_min_low[0] <= flashing.flow_ml_min[0] / 3 + 1e-9
    # no flash calibration: no single droplet size, method not modelled, a regime in words
    assert math.isnan(flashing.dv50_um[0]) and flashing.method["dv50_um"][0] == "not_modelled"
    assert flashing.regime[0].startswith("transitional flashing")  # 172 kPa: 1.7× ambient
    item = prediction_item(flashing, 0)
    assert item["dv50_um"] is None and item["method"]["dv50_um"] == "not_modelled"


def test_vapour_pressure_above_ambient_also_flashes():
    fluid = Fluid(0.3, 700.0, 15.0, vapour_pressure_kpa=250.0)
    p = predict(fluid, SWIRL, 5.0)
    assert p.flashing[0] and "vapour pressure 250 kPa" in " ".join(p.warnings[0])


def test_catalog_prediction_equals_per_item_predictions(mixed_catalog):
    whole = predict(ETHANOL, mixed_catalog, 6.0)
    for i in range(len(mixed_catalog)):
        ds = mixed_catalog.swirl_chamber_mm[i]
        ap = mixed_catalog.inlet_area_mm2[i]
        single = predict(
            ETHANOL,
            Geometry(
                str(mixed_catalog.spray_type[i]),
                float(mixed_catalog.orifice_mm[i]),
                None if np.isnan(ds) else float(ds),
                None if np.isnan(ap) else float(ap),
            ),
            6.0,
        )
        assert prediction_item(whole, i) == prediction_item(single, 0)


def test_per_item_pressures_over_a_catalog(mixed_catalog):
    pressures = np.array([2.0, 4.0, 6.0, 8.0, 10.0])
    whole = predict(WATER, mixed_catalog, pressures)
    for i, p in enumerate(pressures):
        assert whole.flow_ml_min[i] == pytest.approx(predict(WATER, mixed_catalog, p).flow_ml_min[i])


def test_prediction_item_is_json_ready_with_units_in_keys():
    out = item(WATER, SWIRL, 5.0)
    json.dumps(out)
    for key in ("flow_ml_min", "cone_deg", "dv10_um", "dv50_um", "dv90_um", "smd_um"):
        assert {key, f"{key}_low", f"{key}_high"} <= out.keys()
    assert out["rosin_rammler_q"] == 2.5
    assert 0 < out["confidence"] <= 1
    assert isinstance(out["warnings"], list)


@pytest.mark.parametrize(
    ("fluid", "geometry", "pressure", "message"),
    [
        (WATER, SWIRL, 0.0, "pressure_bar must be a positive"),
        (WATER, SWIRL, -2.0, "pressure_bar must be a positive"),
        (WATER, SWIRL, float("nan"), "pressure_bar must be a positive"),
        (Fluid(0.0, 998.0, 72.0), SWIRL, 5.0, "viscosity_cp must be a positive"),
        (Fluid(1.0, -1.0, 72.0), SWIRL, 5.0, "density_kg_m3 must be a positive"),
        (Fluid(1.0, 998.0, 0.0), SWIRL, 5.0, "surface_tension_mn_m must be a positive"),
        (WATER, Geometry("fan", 0.4), 5.0, "unknown spray type 'fan'"),
        (WATER, Geometry("hollow_cone", 0.0), 5.0, "orifice_mm must be a positive"),
        (WATER, Geometry("hollow_cone", 0.4, 0.3, 0.1), 5.0, "swirl_chamber_mm must be larger"),
    ],
)
def test_bad_input_raises_a_clear_value_error(fluid, geometry, pressure, message):
    with pytest.raises(ValueError, match=message):
        predict(fluid, geometry, pressure)


def test_catalog_with_unknown_spray_type_names_the_sku():
    catalog = make_catalog([{"spray_type": "hollow_cone"}, {"spray_type": "mist"}])
    with pytest.raises(ValueError, match="SKU-1.*'mist'"):
        predict(WATER, catalog, 5.0)


def test_pressure_array_length_must_match_the_catalog(mixed_catalog):
    with pytest.raises(ValueError, match="give one or one per item"):
        predict(WATER, mixed_catalog, np.array([1.0, 2.0]))
