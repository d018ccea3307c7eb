"""Each published correlation against worked examples and its expected trends."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aerospec.engine import correlations as c


def test_lichtarowicz_matches_science_worked_example_ethanol_4_bar():
    # SCIENCE.md §2.8: ethanol at 4 bar through 0.3 mm: U = 31.9 m/s, Re = 6960, C_D = 0.81 (l/d = 1)
    rho, mu, d = 785.2, 1.083e-3, 0.3e-3
    u = c.ideal_velocity(4e5, rho)
    re = c.reynolds(rho, u, d, mu)
    assert u == pytest.approx(31.9, abs=0.05)
    assert re == pytest.approx(6960, rel=0.01)
    assert c.cd_lichtarowicz(re, 1.0) == pytest.approx(0.81, abs=0.005)


def test_lichtarowicz_tends_to_cdu_at_high_reynolds_and_falls_at_low():
    assert c.cd_lichtarowicz(1e9, 2.0) == pytest.approx(0.827 - 0.017, rel=1e-6)
    cds = c.cd_lichtarowicz(np.array([50.0, 500.0, 5000.0]), 2.0)
    assert np.all(np.diff(cds) > 0)


def test_rizk_lefebvre_cd_formula_and_cap():
    assert c.cd_rizk_lefebvre(0.5, 3.0) == pytest.approx(0.35 * math.sqrt(0.5) * 3.0**0.25)
    assert c.cd_rizk_lefebvre(10.0, 8.0) == pytest.approx(0.8)  # capped: never above a plain orifice


def test_flow_rate_is_cd_area_velocity():
    q = c.flow_rate(0.6, 0.5e-3, 3e5, 998.0)
    assert q == pytest.approx(0.6 * math.pi * 0.25 * 0.5e-3**2 * math.sqrt(2 * 3e5 / 998.0))


def test_flow_number_us_units():
    # FN_US = 0.66e6·√ρ·ṁ/√(ΔP ρ): 1 kg/s water at 1 MPa
    assert c.flow_number_us(1.0, 1e6, 1000.0) == pytest.approx(0.66e6 / math.sqrt(1e6))


def test_rizk_lefebvre_cone_angle_formula_and_trends():
    k, dp, d, rho, mu = 0.5, 5e5, 0.4e-3, 998.0, 1e-3
    expected = 6 * k**-0.15 * (dp * d * d * rho / mu**2) ** 0.11
    assert c.cone_angle_rizk_lefebvre(k, dp, d, rho, mu) == pytest.approx(expected)
    assert 40 < expected < 60  # a typical simplex nozzle angle
    assert c.cone_angle_rizk_lefebvre(k, 2 * dp, d, rho, mu) > expected
    assert c.cone_angle_rizk_lefebvre(k, dp, d, rho, 10 * mu) < expected
    assert c.cone_angle_rizk_lefebvre(2 * k, dp, d, rho, mu) < expected  # angle falls as K rises


def test_suyari_lefebvre_film_thickness_is_dimensionally_sane():
    t = c.film_thickness_suyari_lefebvre(0.4e-3, 1.2e-3, 1e-3, 998.0, 5e5)
    assert t == pytest.approx(2.7 * (0.4e-3 * 1.2e-3 * 1e-3 / (998 * 5e5)) ** 0.25)
    assert 5e-6 < t < 0.2e-3  # microns to a fraction of the orifice


def test_wang_lefebvre_smd_trends():
    base = dict(sigma=0.072, mu_l=1e-3, rho_l=998.0, dp_pa=5e5, film_m=30e-6, half_angle_rad=math.radians(30))
    smd = c.smd_wang_lefebvre(**base)
    assert 10e-6 < smd < 200e-6
    assert c.smd_wang_lefebvre(**{**base, "dp_pa": 1e6}) < smd
    assert c.smd_wang_lefebvre(**{**base, "mu_l": 10e-3}) > smd
    assert c.smd_wang_lefebvre(**{**base, "sigma": 0.03}) < smd


def test_wang_lefebvre_second_term_uses_liquid_density():
    # SCIENCE.md warns of a public implementation using ρ_A in the inertial term.
    a = c.smd_wang_lefebvre(0.072, 1e-3, 998.0, 5e5, 30e-6, 0.5)
    b = c.smd_wang_lefebvre(0.072, 1e-3, 2 * 998.0, 5e5, 30e-6, 0.5)
    assert b > a


def test_lefebvre_1983_cross_check_agrees_within_a_factor_of_two_in_range():
    mdot, dp = 5e-3, 7e5
    t = c.film_thickness_suyari_lefebvre(1e-3, mdot, 1e-3, 998.0, dp)
    wl = c.smd_wang_lefebvre(0.072, 1e-3, 998.0, dp, t, math.radians(35))
    l83 = c.smd_lefebvre_1983(0.072, 1e-3, mdot, dp)
    assert 0.5 < wl / l83 < 2.0


def test_estes_mudawar_full_cone_formula():
    d, dp, rho, mu, sigma = 1.0e-3, 5e5, 998.0, 1e-3, 0.072
    u = math.sqrt(2 * dp / rho)
    we = 1.2 * u * u * d / sigma
    re = rho * u * d / mu
    assert c.smd_estes_mudawar(d, dp, rho, mu, sigma) == pytest.approx(3.67 * d * (we**0.5 * re) ** -0.259)


def test_elkotb_matches_the_coded_constant_in_bar_and_microns():
    # SCIENCE.md: 6156·ν^0.385(σρ)^0.737 ρ_A^0.06 ΔP[bar]^-0.54 in µm is equivalent
    nu, sigma, rho, dp_bar = 1e-6, 0.072, 998.0, 5.0
    si = c.smd_elkotb(nu, sigma, rho, dp_bar * 1e5) * 1e6
    coded = 6156 * nu**0.385 * (sigma * rho) ** 0.737 * 1.2**0.06 * dp_bar**-0.54
    assert si == pytest.approx(coded, rel=0.005)


def test_merrington_richardson_formula():
    assert c.smd_merrington_richardson(0.4e-3, 1e-6, 30.0) == pytest.approx(500 * 0.4e-3**1.2 * 1e-6**0.2 / 30)


def test_reitz_bracco_plain_jet_angle_is_narrow():
    angle = c.cone_angle_reitz_bracco(2.0, 998.0)
    assert 2 < angle < 8


def test_rosin_rammler_matches_fluids_demo():
    # SCIENCE.md §5.2: X = 60 µm, q = 2.5 -> Dv10 24.39, Dv50 51.82, Dv90 83.76, SMD 40.29 µm
    smd = 60.0 / math.gamma(1 - 1 / 2.5)
    assert smd == pytest.approx(40.29, abs=0.01)
    dv10, dv50, dv90 = c.rosin_rammler_from_smd(np.array([smd]), np.array([2.5]))
    assert dv10[0] == pytest.approx(24.39, abs=0.01)
    assert dv50[0] == pytest.approx(51.82, abs=0.01)
    assert dv90[0] == pytest.approx(83.76, abs=0.01)
    assert c.rosin_rammler_x(smd, 2.5) == pytest.approx(60.0)


def test_rosin_rammler_ratio_table_from_science():
    # SCIENCE.md §2.7 table: q = 3 -> Dv10/Dv50 0.534, Dv90/Dv50 1.492, SMD/Dv50 0.834
    dv10, dv50, dv90 = c.rosin_rammler_from_smd(1.0, 3.0)
    assert dv10 / dv50 == pytest.approx(0.534, abs=0.001)
    assert dv90 / dv50 == pytest.approx(1.492, abs=0.001)
    assert 1.0 / dv50 == pytest.approx(0.834, abs=0.001)
    assert c.rosin_rammler_q_from_dv(dv50, dv90) == pytest.approx(3.0)


def test_rosin_rammler_cross_checked_with_fluids_package():
    psd = pytest.importorskip("fluids.particle_size_distribution")
    x, q = 60e-6, 2.5
    dist = psd.PSDRosinRammler(k=x**-q, m=q)
    dv10, dv50, dv90 = c.rosin_rammler_from_smd(x / math.gamma(1 - 1 / q), q)
    assert dist.dn(0.5) == pytest.approx(dv50, rel=1e-6)
    assert dist.dn(0.9) == pytest.approx(dv90, rel=1e-6)
    assert dist.mean_size(3, 2) == pytest.approx(x / math.gamma(1 - 1 / q), rel=1e-4)


def test_rosin_rammler_rejects_q_at_or_below_one():
    with pytest.raises(ValueError, match="above 1"):
        c.rosin_rammler_x(50.0, 1.0)
