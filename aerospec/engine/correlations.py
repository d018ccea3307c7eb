"""Published atomisation correlations, one function each, vectorised over numpy arrays.

Every function takes SI units (m, Pa, kg/m³, Pa·s, N/m, kg/s) unless its docstring
says otherwise, and returns SI. Each docstring names the source, the unit of every
argument and the validity range the engine checks (`VALIDITY` holds the same ranges as
data so `predict` can flag extrapolation). Where a range was not read in the original
paper it is marked "assumed" and says what it rests on.

Marks follow ../shared/SCIENCE.md: [V] checked against independent implementations,
[M] from Lefebvre & McDonell, *Atomization and Sprays* (2nd ed., 2017), [A] assumption.
"""

from __future__ import annotations

import math

import numpy as np

#: Ambient air at 20 °C, 1 atm (kg/m³, Pa·s); ρ_A = 1.225 in the 1976 standard atmosphere at 15 °C.
AIR_DENSITY_KG_M3 = 1.20
AIR_VISCOSITY_PA_S = 1.81e-5
#: Standard atmospheric pressure (kPa): a vapour pressure above it means the liquid flashes.
AMBIENT_PRESSURE_KPA = 101.325


# (low, high, what the range rests on) per quantity and correlation. Units in the key.
VALIDITY: dict[str, dict[str, tuple[float, float]]] = {
    # Rizk & Lefebvre (1985) fitted simplex nozzles of gas-turbine size. The ranges of
    # K and D_s/d_o are the span of typical simplex geometries [A: not read in the paper].
    "rizk_lefebvre_cd": {"atomiser_constant_K": (0.1, 1.5), "swirl_to_orifice_ratio": (1.5, 8.0)},
    # Lichtarowicz, Duggins & Markland (1965): 2 ≤ l/d ≤ 10, 10 ≤ Re ≤ 2·10⁴ [V].
    "lichtarowicz_cd": {"reynolds": (10.0, 2.0e4), "length_to_diameter": (2.0, 10.0)},
    # Rizk & Lefebvre (1985) cone angle: same data base as their C_D [A for the ranges].
    "rizk_lefebvre_cone": {
        "atomiser_constant_K": (0.1, 1.5),
        "pressure_bar": (1.0, 30.0),
        "viscosity_cp": (0.5, 20.0),
    },
    # Wang & Lefebvre (1987): ΔP 0.3–1.4 MPa, μ 1–18 cP, σ 26–73 mN/m, FN 3–11 (US units) [M].
    # The viscosity floor is 0.8 cP so water at 25–30 °C (their "1 cP" water at ~20 °C) passes.
    "wang_lefebvre_smd": {
        "pressure_bar": (3.0, 14.0),
        "viscosity_cp": (0.8, 18.0),
        "surface_tension_mn_m": (26.0, 73.0),
        "flow_number_us": (3.0, 11.0),
    },
    # Estes & Mudawar (1995): water, FC-72 and FC-87 through full-cone nozzles,
    # d_o 0.76–1.70 mm [M]; pressure range assumed from the spray-cooling tests.
    "estes_mudawar_smd": {
        "orifice_mm": (0.76, 1.70),
        "pressure_bar": (0.5, 14.0),
        "viscosity_cp": (0.4, 1.5),
        "surface_tension_mn_m": (8.0, 73.0),
    },
    # Plain jets: Merrington & Richardson (1947) and Elkotb (1982). Elkotb was fitted to
    # diesel injection (ΔP of order 100 bar and more); M&R to low-speed jets. [A] ranges.
    "plain_jet_smd": {"pressure_bar": (1.0, 1000.0), "viscosity_cp": (0.5, 50.0)},
}


def ideal_velocity(dp_pa: np.ndarray, rho_l: np.ndarray) -> np.ndarray:
    """Bernoulli jet velocity U = √(2ΔP/ρ_L) (m/s).

    dp_pa: pressure drop across the nozzle (Pa); rho_l: liquid density (kg/m³).
    Valid for incompressible liquid; no losses (multiply by a velocity coefficient).
    """
    return np.sqrt(2.0 * np.asarray(dp_pa) / np.asarray(rho_l))


def reynolds(rho: np.ndarray, u: np.ndarray, d: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Re = ρ·U·d/μ (dimensionless); ρ kg/m³, U m/s, d m, μ Pa·s."""
    return rho * u * d / mu


def weber(rho: np.ndarray, u: np.ndarray, d: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """We = ρ·U²·d/σ (dimensionless); use ρ_L for the liquid Weber number, ρ_A for the gas one."""
    return rho * u * u * d / sigma


def ohnesorge(mu: np.ndarray, rho: np.ndarray, sigma: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Oh = μ/√(ρ·σ·d) (dimensionless); μ Pa·s, ρ kg/m³, σ N/m, d m."""
    return mu / np.sqrt(rho * sigma * d)


def cd_rizk_lefebvre(atomiser_constant: np.ndarray, swirl_to_orifice: np.ndarray) -> np.ndarray:
    """Discharge coefficient of a pressure-swirl (simplex) atomiser.

    Rizk, N.K. & Lefebvre, A.H. (1985), "Internal flow characteristics of simplex swirl
    atomizers", *J. Propulsion Power* 1(3):193–199:

        C_D = 0.35 · K^0.5 · (D_s/d_o)^0.25,   K = A_p/(D_s·d_o)   [V]

    atomiser_constant: K (dimensionless; A_p total inlet-port area, D_s swirl-chamber
    diameter, d_o orifice diameter, any one length unit); swirl_to_orifice: D_s/d_o.
    Validity: K ≈ 0.1–1.5, D_s/d_o ≈ 1.5–8 (span of simplex geometries; assumed [A]).
    The result is capped at 0.8: a swirl atomiser cannot discharge more than a plain
    orifice of the same size (Lichtarowicz's C_D at high Re is ≈ 0.8).
    """
    k = np.asarray(atomiser_constant, dtype=float)
    r = np.asarray(swirl_to_orifice, dtype=float)
    return np.minimum(0.35 * np.sqrt(k) * r**0.25, 0.8)


def cd_inviscid_swirl(air_core_ratio: np.ndarray) -> np.ndarray:
    """Inviscid maximum-flow C_D of a swirl atomiser (Giffen & Muraszew 1953; Taylor 1948).

    C_D = [(1−X)³/(1+X)]^0.5 with X = A_air-core/A_o (dimensionless, 0 ≤ X < 1) [V].
    Inviscid: an upper bound, used as a cross-check only.
    """
    x = np.asarray(air_core_ratio, dtype=float)
    return np.sqrt((1.0 - x) ** 3 / (1.0 + x))


def cd_lichtarowicz(reynolds_number: np.ndarray, length_to_diameter: np.ndarray) -> np.ndarray:
    """Discharge coefficient of a sharp-edged plain orifice, non-cavitating.

    Lichtarowicz, A., Duggins, R.K. & Markland, E. (1965), "Discharge coefficients for
    incompressible non-cavitating flow through long orifices", *J. Mech. Eng. Sci.*
    7(2):210–219:

        1/C_D = 1/C_Du + 20·(1 + 2.25·l/d)/Re,   C_Du = 0.827 − 0.0085·l/d   [V]

    reynolds_number: Re = ρ_L·U·d_o/μ_L built on the ideal velocity √(2ΔP/ρ_L);
    length_to_diameter: l_o/d_o. Validity: 10 ≤ Re ≤ 2·10⁴, 2 ≤ l/d ≤ 10.
    Worked example (SCIENCE.md §2.8): Re = 6960, l/d = 1 → C_D = 0.81.
    """
    re = np.asarray(reynolds_number, dtype=float)
    ld = np.asarray(length_to_diameter, dtype=float)
    cdu = 0.827 - 0.0085 * ld
    return 1.0 / (1.0 / cdu + 20.0 * (1.0 + 2.25 * ld) / re)


def flow_rate(cd: np.ndarray, d_o: np.ndarray, dp_pa: np.ndarray, rho_l: np.ndarray) -> np.ndarray:
    """Volumetric flow Q = C_D·A_o·√(2ΔP/ρ_L) (m³/s), A_o = π·d_o²/4.

    cd: discharge coefficient; d_o: orifice diameter (m); dp_pa: pressure drop (Pa);
    rho_l: liquid density (kg/m³). Definition of C_D (Lefebvre & McDonell, ch. 6) [V].
    """
    area = 0.25 * math.pi * np.asarray(d_o) ** 2
    return cd * area * ideal_velocity(dp_pa, rho_l)


def flow_number_us(mass_flow: np.ndarray, dp_pa: np.ndarray, rho_l: np.ndarray) -> np.ndarray:
    """Flow number in US units, (lb/h)/√psi, from ṁ (kg/s), ΔP (Pa), ρ_L (kg/m³).

    FN_SI = ṁ/√(ΔP·ρ_L) (m²); FN_US = 0.66·10⁶·√ρ_L·FN_SI (SCIENCE.md §2.1, Lefebvre).
    """
    fn_si = mass_flow / np.sqrt(dp_pa * rho_l)
    return 0.66e6 * np.sqrt(rho_l) * fn_si


def film_thickness_suyari_lefebvre(
    d_o: np.ndarray, mass_flow: np.ndarray, mu_l: np.ndarray, rho_l: np.ndarray, dp_pa: np.ndarray
) -> np.ndarray:
    """Liquid film thickness at the exit of a simplex orifice (m).

    Suyari, M. & Lefebvre, A.H. (1986), "Film thickness measurements in a simplex swirl
    atomizer", *J. Propulsion Power* 2(6):528–533 (measured-film fit of the Rizk &
    Lefebvre 1985 form, whose constant is 3.66):

        t = 2.7 · [d_o·ṁ_L·μ_L/(ρ_L·ΔP_L)]^0.25   [V]

    d_o m, ṁ_L kg/s, μ_L Pa·s, ρ_L kg/m³, ΔP_L Pa. Validity as Wang & Lefebvre below.
    The film cannot be thicker than the orifice radius; the result is capped at d_o/2.
    """
    t = 2.7 * (d_o * mass_flow * mu_l / (rho_l * dp_pa)) ** 0.25
    return np.minimum(t, 0.5 * d_o)


def cone_angle_rizk_lefebvre(
    atomiser_constant: np.ndarray, dp_pa: np.ndarray, d_o: np.ndarray, rho_l: np.ndarray, mu_l: np.ndarray
) -> np.ndarray:
    """Full spray cone angle 2θ of a pressure-swirl atomiser (degrees).

    Rizk, N.K. & Lefebvre, A.H. (1985), *J. Propulsion Power* 1(3):193–199, empirical
    (Lefebvre & McDonell, *Atomization and Sprays*, eq. for 2θ) [M]:

        2θ = 6 · K^−0.15 · (ΔP_L·d_o²·ρ_L/μ_L²)^0.11

    atomiser_constant: K = A_p/(D_s·d_o); dp_pa Pa; d_o m; rho_l kg/m³; mu_l Pa·s.
    Validity (assumed [A]): K 0.1–1.5, ΔP 1–30 bar, μ 0.5–20 cP. Capped at 150°.
    """
    group = dp_pa * d_o * d_o * rho_l / (mu_l * mu_l)
    return np.minimum(6.0 * atomiser_constant**-0.15 * group**0.11, 150.0)


def smd_wang_lefebvre(
    sigma: np.ndarray,
    mu_l: np.ndarray,
    rho_l: np.ndarray,
    dp_pa: np.ndarray,
    film_m: np.ndarray,
    half_angle_rad: np.ndarray,
    rho_a: float = AIR_DENSITY_KG_M3,
) -> np.ndarray:
    """Sauter mean diameter of a pressure-swirl spray (m).

    Wang, X.F. & Lefebvre, A.H. (1987), "Mean drop sizes from pressure-swirl nozzles",
    *J. Propulsion Power* 3(1):11–18 [V]:

        SMD = 4.52·(σ·μ_L²/(ρ_A·ΔP_L²))^0.25·(t·cosθ)^0.25
            + 0.39·(σ·ρ_L/(ρ_A·ΔP_L))^0.25·(t·cosθ)^0.75

    σ N/m, μ_L Pa·s, ρ_L and ρ_A kg/m³, ΔP_L Pa, t film thickness (m, Suyari & Lefebvre),
    θ the spray half angle (rad). Data base [M]: six simplex nozzles, FN 3–11 (US),
    ΔP 0.3–1.4 MPa, μ 1–18 cP, σ 26–73 mN/m.
    """
    tc = film_m * np.cos(half_angle_rad)
    viscous = 4.52 * (sigma * mu_l * mu_l / (rho_a * dp_pa * dp_pa)) ** 0.25 * tc**0.25
    inertial = 0.39 * (sigma * rho_l / (rho_a * dp_pa)) ** 0.25 * tc**0.75
    return viscous + inertial


def smd_lefebvre_1983(
    sigma: np.ndarray,
    mu_l: np.ndarray,
    mass_flow: np.ndarray,
    dp_pa: np.ndarray,
    rho_a: float = AIR_DENSITY_KG_M3,
) -> np.ndarray:
    """SMD of a pressure-swirl spray (m), cross-check only.

    Lefebvre, A.H. (1983), *Gas Turbine Combustion* / Radcliffe's data, as given in
    Lefebvre & McDonell, *Atomization and Sprays* [M]:

        SMD = 2.25 · σ^0.25 · μ_L^0.25 · ṁ_L^0.25 · ΔP_L^−0.5 · ρ_A^−0.25

    σ N/m, μ_L Pa·s, ṁ_L kg/s, ΔP_L Pa, ρ_A kg/m³. Fitted to gas-turbine simplex nozzles.
    """
    return 2.25 * (sigma * mu_l * mass_flow) ** 0.25 * dp_pa**-0.5 * rho_a**-0.25


def smd_estes_mudawar(
    d_o: np.ndarray,
    dp_pa: np.ndarray,
    rho_l: np.ndarray,
    mu_l: np.ndarray,
    sigma: np.ndarray,
    rho_a: float = AIR_DENSITY_KG_M3,
) -> np.ndarray:
    """SMD of a full-cone pressure-swirl spray (m).

    Estes, K.A. & Mudawar, I. (1995), "Correlation of Sauter mean diameter and critical
    heat flux for spray cooling of small surfaces", *Int. J. Heat Mass Transfer*
    38(16):2985–2996 [V as coded]:

        SMD/d_o = 3.67 · (We_A^0.5 · Re_L)^−0.259,
        We_A = ρ_A·U²·d_o/σ,  Re_L = ρ_L·U·d_o/μ_L,  U = √(2ΔP/ρ_L)

    d_o m, ΔP Pa, ρ kg/m³, μ_L Pa·s, σ N/m. Data base [M]: water, FC-72 and FC-87 through
    full-cone nozzles with d_o 0.76–1.70 mm.
    """
    u = ideal_velocity(dp_pa, rho_l)
    we_a = weber(rho_a, u, d_o, sigma)
    re_l = reynolds(rho_l, u, d_o, mu_l)
    return 3.67 * d_o * (np.sqrt(we_a) * re_l) ** -0.259


def smd_merrington_richardson(d_o: np.ndarray, nu_l: np.ndarray, u_l: np.ndarray) -> np.ndarray:
    """SMD of a plain-orifice jet (m).

    Merrington, A.C. & Richardson, E.G. (1947), "The break-up of liquid jets",
    *Proc. Phys. Soc.* 59(1):1–13, as given by Lefebvre & McDonell [V]:

        SMD = 500 · d_o^1.2 · ν_L^0.2 / U_L

    d_o m, ν_L kinematic viscosity m²/s, U_L jet velocity m/s. Low-speed jets into air.
    """
    return 500.0 * d_o**1.2 * nu_l**0.2 / u_l


def smd_elkotb(
    nu_l: np.ndarray,
    sigma: np.ndarray,
    rho_l: np.ndarray,
    dp_pa: np.ndarray,
    rho_a: float = AIR_DENSITY_KG_M3,
) -> np.ndarray:
    """SMD of a plain-orifice (diesel-type) spray (m).

    Elkotb, M.M. (1982), "Fuel atomization for spray modelling", *Prog. Energy Combust.
    Sci.* 8(1):61–91 [V: the coded form 6156·… with ΔP in bar and SMD in µm is the same]:

        SMD = 3.08 · ν_L^0.385 · (σ·ρ_L)^0.737 · ρ_A^0.06 · ΔP_L^−0.54

    ν_L m²/s, σ N/m, ρ kg/m³, ΔP Pa. Fitted to diesel injection; no orifice-size term.
    """
    return 3.08 * nu_l**0.385 * (sigma * rho_l) ** 0.737 * rho_a**0.06 * dp_pa**-0.54


def rosin_rammler_x(smd: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Rosin–Rammler characteristic size X from the SMD (same unit as smd).

    Volume-basis RR, 1 − Q_v(D) = exp[−(D/X)^q]; SMD = X/Γ(1 − 1/q), valid for q > 1
    (SCIENCE.md §2.7, checked numerically with `fluids` [V]).
    """
    q = np.asarray(q, dtype=float)
    if np.any(q <= 1.0):
        raise ValueError("the Rosin–Rammler spread q must be above 1 for the SMD to exist")
    uniq, inverse = np.unique(q, return_inverse=True)
    gammas = np.array([math.gamma(1.0 - 1.0 / v) for v in uniq])[inverse].reshape(q.shape)
    return np.asarray(smd) * gammas


def rosin_rammler_dv(x: np.ndarray, q: np.ndarray, fraction: float) -> np.ndarray:
    """Diameter below which `fraction` of the spray volume lies: X·(−ln(1−f))^(1/q)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError("fraction must lie strictly between 0 and 1")
    return np.asarray(x) * (-math.log(1.0 - fraction)) ** (1.0 / np.asarray(q, dtype=float))


def rosin_rammler_from_smd(smd: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Dv10, Dv50, Dv90) from the SMD and the RR spread q (same unit as smd)."""
    x = rosin_rammler_x(smd, q)
    return rosin_rammler_dv(x, q, 0.1), rosin_rammler_dv(x, q, 0.5), rosin_rammler_dv(x, q, 0.9)


def rosin_rammler_q_from_dv(dv50: float, dv90: float) -> float:
    """RR spread from measured Dv50 and Dv90: q = ln(ln10/ln2)/ln(Dv90/Dv50)."""
    return math.log(math.log(10.0) / math.log(2.0)) / math.log(dv90 / dv50)


def cone_angle_reitz_bracco(
    length_to_diameter: np.ndarray, rho_l: np.ndarray, rho_a: float = AIR_DENSITY_KG_M3
) -> np.ndarray:
    """Full cone angle of a plain-orifice (straight-jet) spray in the atomisation regime (degrees).

    Reitz, R.D. & Bracco, F.V. (1979), "On the dependence of spray angle and other spray
    parameters on nozzle design and operating conditions", SAE paper 790494 [M]:

        tan(θ/2) = (4π/A)·√(ρ_A/ρ_L)·(√3/6),   A = 3 + 0.28·l_o/d_o

    length_to_diameter: l_o/d_o; rho_l, rho_a kg/m³. Fitted to high-speed (diesel) jets;
    at aerosol pressures a straight jet is narrower and often not atomised at the exit.
    """
    a = 3.0 + 0.28 * np.asarray(length_to_diameter, dtype=float)
    tan_half = (4.0 * math.pi / a) * np.sqrt(rho_a / np.asarray(rho_l, dtype=float)) * (math.sqrt(3.0) / 6.0)
    return 2.0 * np.degrees(np.arctan(tan_half))
