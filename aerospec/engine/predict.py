"""Spray prediction: flow, cone angle, drop sizes and their bands, vectorised over a catalog.

Engine v2 (precedence.py): flow and cone angle come, in order of trust, from the maker's
data on the SKU (rating, angle table), the family constants calibrated on public makers'
tables (calibrate.py, calibration_v2.json), or a published correlation; every band is a
stated 90 % interval from the cross-validated error of its domain cell, and every quantity
carries a method (maker_anchored, family_calibrated, extrapolated, not_modelled).

The published correlations computed here (each cited in `correlations.py`):

- hollow_cone (pressure swirl): C_D and flow, Rizk & Lefebvre 1985 (used for the flow only
  with real, in-range swirl geometry); cone angle, Rizk & Lefebvre 1985 (feeds the film's
  cos θ only); SMD, Wang & Lefebvre 1987 with the film of Suyari & Lefebvre 1986, and
  Lefebvre 1983 as a cross-check (their spread widens the band).
- full_cone: SMD, Estes & Mudawar 1995 (fitted on full-cone nozzles). Flow and angle come
  from the calibrated family (never the swirl formula).
- plain_orifice: C_D and flow, Lichtarowicz et al. 1965 (times the calibrated factor);
  cone angle, Reitz & Bracco 1979; SMD, geometric mean of Merrington & Richardson 1947
  and Elkotb 1982 (they disagree by up to ×3 at aerosol pressures; the band spans both).
- all: Dv10/Dv50/Dv90 from the SMD by Rosin–Rammler with q = `DEFAULT_Q[type]`.

Decisions, documented here because the UI and API rely on them:
- `pressure_bar` is the pressure drop across the atomiser (gauge pressure, bar), > 0.
- A swirl type (hollow_cone, full_cone) without swirl geometry gets the defaults
  D_s = 3·d_o and K = 0.4 (mid-range simplex atomisers [A]); the result says so in its
  warnings and its band widens. Unknown spray types and non-positive or non-finite
  inputs raise `ValueError` with a message naming the field.
- Outside a correlation's validity range (`correlations.VALIDITY`) the affected band
  widens by 1.5× per violated range and the confidence drops by 25 %; the warning names
  the correlation, the quantity, its value and the fitted range.
- Flash-boiling (a liquefied propellant, or a vapour pressure above 1 atm) is outside
  every correlation here: flow may be 3× lower (two-phase choking), drops several times
  finer; the bands widen accordingly and the confidence is cut to 30 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from aerospec.engine import correlations as c
from aerospec.engine.precedence import LazyText, anchor_columns, apply_precedence
from aerospec.engine.types import BAND_LEVEL, FULL, HOLLOW, PLAIN, SPRAY_TYPES, Catalog, Fluid, Geometry, Prediction
from aerospec.engine.types import fmt_number as _fmt

_TYPE_CODE = {name: code for code, name in enumerate(SPRAY_TYPES)}
assert _TYPE_CODE == {"hollow_cone": HOLLOW, "full_cone": FULL, "plain_orifice": PLAIN}  # noqa: S101 - import-time contract

#: Rosin–Rammler spread per family. Pressure-swirl sprays have q ≈ 2–3.5 [M]; 2.5 is the
#: SCIENCE.md §7 default (SMD/Dv50 = 0.78). Full-cone and plain-jet sprays are broader
#: (drops larger at the edge, ligament break-up): 2.2 and 2.0 are assumptions [A] until
#: lab feedback calibrates them.
DEFAULT_Q = {"hollow_cone": 2.5, "full_cone": 2.2, "plain_orifice": 2.0}
#: Defaults for swirl geometry a user or catalog row does not give [A].
DEFAULT_SWIRL_TO_ORIFICE = 3.0
DEFAULT_ATOMISER_CONSTANT = 0.4
#: Orifice length/diameter when not given: 2, the low end of Lichtarowicz's data [A].
DEFAULT_LENGTH_TO_DIAMETER = 2.0

# Relative half-widths of the bands inside every validity range, roughly the scatter the
# sources report (Rizk & Lefebvre C_D ±15 %, Lichtarowicz ±5–8 %, Wang & Lefebvre SMD ±25 %).
_FLOW_W = np.array([0.15, 0.20, 0.08])
_CONE_W = np.array([0.15, 0.20, 1.00])
_SIZE_F = np.array([1.30, 1.35, 1.50])  # multiplicative factor on drop sizes
_WIDEN = 1.5  # per violated validity range
_CONF_OUT = 0.75
_CONF_DEFAULT_GEOMETRY = 0.8
_CONF_FLASHING = 0.3
_MIN_LIQUID_WEBER = 100.0  # below this a jet drips rather than atomises [A]

_Q_BY_CODE = np.array([DEFAULT_Q[t] for t in SPRAY_TYPES])
_WIDEN_POW = _WIDEN ** np.arange(32.0)  # lookup by violation count (int8)
_CONF_POW = _CONF_OUT ** np.arange(32.0)
_GAMMA_BY_CODE = np.array([math.gamma(1.0 - 1.0 / DEFAULT_Q[t]) for t in SPRAY_TYPES])


class WarningTable(LazyText):
    """Per-item warning lists, worded lazily so scoring 10,000 items costs no strings."""

    def __init__(self, n: int):
        super().__init__(n, self._word)
        self._rules: list[tuple[np.ndarray, Callable[[int], str]]] = []

    def add(self, mask: np.ndarray, message: Callable[[int], str]) -> None:
        if not (isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == (self._n,)):
            mask = np.broadcast_to(np.asarray(mask, dtype=bool), (self._n,))
        if mask.any():
            self._rules.append((mask, message))

    def _word(self, i: int) -> list[str]:
        return [message(i) for mask, message in self._rules if mask[i]]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return len(other) == self._n and all(self[i] == list(other[i]) for i in range(self._n))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"WarningTable({list(self)!r})"


def _positive(name: str, value: float | None) -> float:
    if value is None or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number (got {value!r})")
    return float(value)


def _check_fluid(fluid: Fluid) -> None:
    _positive("viscosity_cp", fluid.viscosity_cp)
    _positive("density_kg_m3", fluid.density_kg_m3)
    _positive("surface_tension_mn_m", fluid.surface_tension_mn_m)
    if fluid.vapour_pressure_kpa is not None and (
        not math.isfinite(fluid.vapour_pressure_kpa) or fluid.vapour_pressure_kpa < 0
    ):
        raise ValueError(f"vapour_pressure_kpa must be zero or positive (got {fluid.vapour_pressure_kpa!r})")


def _geometry_columns(geometry: Geometry | Catalog) -> dict[str, np.ndarray]:
    """Fluid-independent geometry arrays (cached on a Catalog)."""
    if isinstance(geometry, Geometry):
        if geometry.spray_type not in _TYPE_CODE:
            raise ValueError(f"unknown spray type {geometry.spray_type!r}; use one of: {', '.join(SPRAY_TYPES)}")
        _positive("orifice_mm", geometry.orifice_mm)
        for name in ("swirl_chamber_mm", "inlet_area_mm2", "orifice_length_mm"):
            value = getattr(geometry, name)
            if value is not None:
                _positive(name, value)
        if geometry.swirl_chamber_mm is not None and geometry.swirl_chamber_mm <= geometry.orifice_mm:
            raise ValueError("swirl_chamber_mm must be larger than orifice_mm")

        def col(v: float | None) -> np.ndarray:
            return np.array([np.nan if v is None else float(v)])

        return _derive(
            np.array([_TYPE_CODE[geometry.spray_type]]),
            col(geometry.orifice_mm),
            col(geometry.swirl_chamber_mm),
            col(geometry.inlet_area_mm2),
            col(geometry.orifice_length_mm),
        )
    catalog = geometry
    sources = (
        catalog.spray_type,
        catalog.orifice_mm,
        catalog.swirl_chamber_mm,
        catalog.inlet_area_mm2,
        catalog.orifice_length_mm,
    )
    key = tuple(id(a) for a in sources)
    cached = catalog._derived.get("geometry")
    if cached is not None and cached[0] == key:
        return cached[1]
    types = np.asarray(catalog.spray_type).astype(str)
    codes = np.full(len(types), -1)
    for name, code in _TYPE_CODE.items():
        codes[types == name] = code
    if (codes < 0).any():
        bad = int(np.flatnonzero(codes < 0)[0])
        raise ValueError(
            f"catalog row {bad} (SKU {catalog.sku[bad]}) has unknown spray type {types[bad]!r}; "
            f"use one of: {', '.join(SPRAY_TYPES)}"
        )
    d_o = np.asarray(catalog.orifice_mm, dtype=float)
    if not (np.isfinite(d_o) & (d_o > 0)).all():
        bad = int(np.flatnonzero(~(np.isfinite(d_o) & (d_o > 0)))[0])
        raise ValueError(f"catalog row {bad} (SKU {catalog.sku[bad]}) has a non-positive orifice_mm")
    n = len(d_o)
    length = (
        np.full(n, np.nan) if catalog.orifice_length_mm is None else np.asarray(catalog.orifice_length_mm, dtype=float)
    )
    derived = _derive(
        codes,
        d_o,
        np.asarray(catalog.swirl_chamber_mm, dtype=float),
        np.asarray(catalog.inlet_area_mm2, dtype=float),
        length,
    )
    catalog._derived["geometry"] = (key, derived)
    return derived


def _derive(
    codes: np.ndarray, d_o_mm: np.ndarray, ds_mm: np.ndarray, ap_mm2: np.ndarray, l_mm: np.ndarray
) -> dict[str, np.ndarray]:
    swirl = codes != PLAIN
    given = np.isfinite(ds_mm) & np.isfinite(ap_mm2) & (ds_mm > d_o_mm) & (ap_mm2 > 0)
    defaulted = swirl & ~given
    ds = np.where(given, ds_mm, DEFAULT_SWIRL_TO_ORIFICE * d_o_mm)
    k = np.where(given, ap_mm2 / np.where(given, ds_mm, 1.0) / d_o_mm, DEFAULT_ATOMISER_CONSTANT)
    ld = np.where(np.isfinite(l_mm) & (l_mm > 0), l_mm / d_o_mm, DEFAULT_LENGTH_TO_DIAMETER)
    v = c.VALIDITY

    def outside(values: np.ndarray, applies: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
        return applies & ((values < bounds[0]) | (values > bounds[1]))

    given_swirl = swirl & ~defaulted
    q = _Q_BY_CODE[codes]
    gam = _GAMMA_BY_CODE[codes]
    out_k = outside(k, given_swirl, v["rizk_lefebvre_cd"]["atomiser_constant_K"])
    out_ds_do = outside(ds / d_o_mm, given_swirl, v["rizk_lefebvre_cd"]["swirl_to_orifice_ratio"])
    out_em_d = outside(d_o_mm, codes == FULL, v["estes_mudawar_smd"]["orifice_mm"])
    out_ld = outside(ld, codes == PLAIN, v["lichtarowicz_cd"]["length_to_diameter"])
    n_geo_out = out_k.astype(np.int8) + out_ds_do + out_em_d + out_ld
    conf = np.where(defaulted, _CONF_DEFAULT_GEOMETRY, 1.0) * _CONF_OUT**n_geo_out
    d_o = d_o_mm * 1e-3
    cd_swirl = c.cd_rizk_lefebvre(k, ds / d_o_mm)
    cdu = 0.827 - 0.0085 * ld
    hollow_idx = None if (codes == HOLLOW).all() else np.flatnonzero(codes == HOLLOW)
    film_geo = np.sqrt(np.sqrt(cd_swirl * d_o**3))
    l83_geo = np.sqrt(np.sqrt(cd_swirl * d_o * d_o))

    def hollow_only(x: np.ndarray) -> np.ndarray:
        return x if hollow_idx is None else x[hollow_idx]

    rb_geo = (4.0 * math.pi / (3.0 + 0.28 * ld)) * (math.sqrt(3.0) / 6.0)
    rb_uniq, rb_inv = np.unique(rb_geo, return_inverse=True)

    return {
        # Fluid-independent factors of the correlations (the exponents are those of
        # correlations.py; tests prove predict() equals the reference functions).
        "cd_swirl": cd_swirl,
        "inv_cdu": 1.0 / cdu,  # Lichtarowicz: 1/C_D = 1/C_Du + 20(1+2.25 l/d)/Re
        "licht_b": 20.0 * (1.0 + 2.25 * ld) / d_o,  # ... Re = (ρU/μ)·d_o
        "area_m2": 0.25 * math.pi * d_o * d_o,
        # indices of the hollow cones (their SMD is computed on them only); None: all are
        "hollow_idx": hollow_idx,
        # likewise the plain orifices (their SMD and its spread are computed on them only)
        "plain_idx": None if (codes == PLAIN).all() else np.flatnonzero(codes == PLAIN),
        "half_d_o_h": hollow_only(0.5 * d_o),
        "film_geo_h": hollow_only(film_geo),
        "l83_geo_h": hollow_only(l83_geo),
        "cone_geo": 6.0 * k**-0.15 * d_o**0.22,  # Rizk & Lefebvre: 2θ = 6K^-0.15(ΔP d² ρ/μ²)^0.11
        "rb_geo": rb_geo,  # Reitz & Bracco
        # ... its distinct values (few: l/d is mostly the default) and each item's among them, so
        # the arctan of the plain-jet angle runs once per distinct l/d, not once per item
        "rb_uniq": rb_uniq,
        "rb_inv": rb_inv,
        "film_geo": film_geo,  # Suyari & Lefebvre: t ∝ (d·ṁ)^0.25, ṁ ∝ C_D d²
        "l83_geo": l83_geo,  # Lefebvre 1983: SMD ∝ ṁ^0.25
        "em_geo": d_o**0.6115,  # Estes & Mudawar: SMD ∝ d·(d^0.5·d)^-0.259 = d^0.6115
        "mr_geo_500": 500.0 * d_o**1.2,  # Merrington & Richardson: SMD = 500·d^1.2·ν^0.2/U
        "any_defaulted": bool(defaulted.any()),
        "conf": conf,
        "n_flow": out_k.astype(np.int8) + out_ds_do + out_ld + defaulted,
        "n_cone": np.zeros(len(codes), dtype=np.int8),
        "n_size": out_em_d.astype(np.int8) + defaulted,
        "any": (
            bool((codes == PLAIN).any()),
            bool(swirl.any()),
            bool((codes == HOLLOW).any()),
            bool((codes == FULL).any()),
        ),
        "all": np.ones(len(codes), dtype=bool),
        "out_k": out_k,
        "out_ds_do": out_ds_do,
        "out_em_d": out_em_d,
        "out_ld": out_ld,
        # Rosin–Rammler: Dv_f = SMD·Γ(1−1/q)·(−ln(1−f))^(1/q), factors per family
        "rr10": gam * np.log(10.0 / 9.0) ** (1.0 / q),
        "rr50": gam * math.log(2.0) ** (1.0 / q),
        "rr90": gam * math.log(10.0) ** (1.0 / q),
        "codes": codes,
        "d_o_m": d_o_mm * 1e-3,
        "d_o_mm": d_o_mm,
        "k": k,
        "ds_do": ds / d_o_mm,
        "ld": ld,
        "swirl": swirl,
        "hollow": codes == HOLLOW,
        "full": codes == FULL,
        "plain": codes == PLAIN,
        "defaulted": defaulted,
        "q": _Q_BY_CODE[codes],
        "flow_w": _FLOW_W[codes],
        "cone_w": _CONE_W[codes],
        "size_f": _SIZE_F[codes],
        "log_size_f": np.log(_SIZE_F[codes]),
        "type_names": np.asarray(SPRAY_TYPES)[codes],
    }


def _subset(x, idx: np.ndarray | None):
    """x at the items idx (None: every item); scalars and 0-d arrays as they are."""
    return x if idx is None or not isinstance(x, np.ndarray) or x.ndim == 0 else x.take(idx)


def is_flashing(fluid: Fluid) -> bool:
    """True when the liquid flash-boils at the exit (liquefied gas or P_vap above 1 atm)."""
    return bool(fluid.liquefied_propellant) or (
        fluid.vapour_pressure_kpa is not None and fluid.vapour_pressure_kpa > c.AMBIENT_PRESSURE_KPA
    )


def predict(fluid: Fluid, geometry: Geometry | Catalog, pressure_bar: float | np.ndarray) -> Prediction:
    """Predict flow, cone angle and drop sizes, with bands, for one geometry or a whole catalog.

    fluid: liquid properties; geometry: one `Geometry` or a `Catalog` of column arrays;
    pressure_bar: pressure drop (bar), a scalar or one value per item (a single Geometry
    with an array of pressures gives one item per pressure). Raises ValueError on bad input.
    """
    _check_fluid(fluid)
    g = _geometry_columns(geometry)
    anchors = anchor_columns(geometry, g["codes"], g["d_o_mm"])
    p_bar = np.asarray(pressure_bar, dtype=float)
    if p_bar.ndim > 1:
        raise ValueError("pressure_bar must be a number or a one-dimensional array")
    if not (np.isfinite(p_bar) & (p_bar > 0)).all():
        raise ValueError("pressure_bar must be a positive number of bar (the pressure drop across the nozzle)")
    n_geo = len(g["codes"])
    n = max(n_geo, p_bar.size if p_bar.ndim else 1)
    if n_geo not in (1, n) or (p_bar.ndim and p_bar.size not in (1, n)):
        raise ValueError(f"pressure_bar has {p_bar.size} values for {n_geo} geometries; give one or one per item")
    if n_geo == 1 and n > 1:
        g = {k: np.broadcast_to(a, (n,)) if isinstance(a, np.ndarray) and a.shape == (1,) else a for k, a in g.items()}
        anchors = {
            k: np.broadcast_to(a, (n,)) if isinstance(a, np.ndarray) and a.shape == (1,) else a
            for k, a in anchors.items()
        }
        if anchors["table_rows"]:
            anchors["table_rows"] = list(range(n))
            anchors["tables"] = {i: anchors["tables"][0] for i in range(n)}
    p_given = np.broadcast_to(p_bar, (n,))
    if anchors["any_valve"]:
        # valve restrictions in series take their share of the drop: the physics and the makers'
        # figures apply at the pressure left across the actuator orifice (precedence._valve_fraction)
        p_bar = p_given * anchors["valve_fraction"]
    # A single pressure stays a scalar through the physics (fewer array operations).
    p_bar = p_bar.item() if p_bar.ndim == 0 or p_bar.size == 1 and n == 1 else np.broadcast_to(p_bar, (n,))

    mu = fluid.viscosity_cp * 1e-3
    rho = fluid.density_kg_m3
    sigma = fluid.surface_tension_mn_m * 1e-3
    dp = p_bar * 1e5
    d_o = g["d_o_m"]
    hollow, full, plain, swirl = g["hollow"], g["full"], g["plain"], g["swirl"]
    any_plain, any_swirl, any_hollow, any_full = g["any"]

    u = np.sqrt(2.0 * dp / rho)
    re = (rho * u / mu) * d_o
    we_l = (rho * u * u / sigma) * d_o
    rho_a = c.AIR_DENSITY_KG_M3

    # --- discharge coefficient and flow: Q = C_D·A_o·U
    cd = g["cd_swirl"]
    if any_plain:
        cd = np.where(plain, 1.0 / (g["inv_cdu"] + g["licht_b"] / (rho * u / mu)), cd)
    flow = cd * g["area_m2"] * (u * 6e7)  # m³/s -> ml/min

    # --- cone angle
    cone = np.minimum(g["cone_geo"] * (dp * rho / (mu * mu)) ** 0.11, 150.0)
    if any_plain:
        tan_half = g["rb_uniq"] * math.sqrt(rho_a / rho)
        cone = np.where(plain, np.degrees(2.0 * np.arctan(tan_half)).take(g["rb_inv"]), cone)

    # --- SMD, with the spread between published correlations as part of the band
    log_size_f = g["log_size_f"]
    smd = np.empty(n)
    fn_us = None
    if any_swirl:
        mdot_geo = rho * u * (0.25 * math.pi)  # ṁ = mdot_geo·C_D·d_o²
    if any_hollow:
        # Wang & Lefebvre and Lefebvre 1983, over the hollow cones only (their index is
        # gathered once per catalog in _derive; None when every item is a hollow cone)
        h = g["hollow_idx"]

        def sub(x):
            return _subset(x, h)

        # Suyari & Lefebvre film: t = 2.7[d·ṁ·μ/(ρ·ΔP)]^0.25, capped at d_o/2
        film = np.minimum(2.7 * sub(mdot_geo * mu / (rho * dp)) ** 0.25 * g["film_geo_h"], g["half_d_o_h"])
        tc25 = np.sqrt(np.sqrt(film * np.cos(np.radians(sub(cone)) * 0.5)))
        smd_wl = (
            4.52 * sub(sigma * mu * mu / (rho_a * dp * dp)) ** 0.25 * tc25
            + 0.39 * sub(sigma * rho / (rho_a * dp)) ** 0.25 * tc25 * tc25 * tc25
        )
        cross = 2.25 * sub(sigma * mu * mdot_geo) ** 0.25 * g["l83_geo_h"] * sub(dp) ** -0.5 * rho_a**-0.25
        # half the log-spread between Wang & Lefebvre and Lefebvre 1983 widens the band
        spread_wl = np.maximum(sub(log_size_f), 0.5 * np.abs(np.log(smd_wl / cross)))
        if h is None:
            smd, log_size_f = smd_wl, spread_wl
        else:
            smd[h] = smd_wl
            log_size_f = log_size_f.copy()
            log_size_f[h] = spread_wl
    if any_swirl:
        fn_us = (0.66e6 * math.sqrt(rho) / np.sqrt(dp * rho) * mdot_geo) * cd * d_o * d_o
    if any_full:
        em = 3.67 * ((rho_a * u * u / sigma) ** 0.5 * (rho * u / mu)) ** -0.259 * g["em_geo"]
        smd = np.where(full, em, smd)
    if any_plain:  # over the plain orifices only, as the hollow cones above
        pi = g["plain_idx"]
        mr = _subset(g["mr_geo_500"], pi) * (mu / rho) ** 0.2 / _subset(u, pi)
        ek = _subset(c.smd_elkotb(mu / rho, sigma, rho, dp), pi)
        spread = np.abs(np.log(mr / ek)) * 0.5 + math.log(1.2)
        if pi is None:
            smd, log_size_f = np.sqrt(mr * ek), np.maximum(log_size_f, spread)
        else:
            smd[pi] = np.sqrt(mr * ek)
            log_size_f = log_size_f.copy() if log_size_f is g["log_size_f"] else log_size_f
            log_size_f[pi] = np.maximum(log_size_f.take(pi), spread)
    smd_um = smd * 1e6

    # --- validity checks: each violated range widens the affected bands by _WIDEN and
    # multiplies the confidence by _CONF_OUT. Counters start from the fluid-independent
    # geometry checks, precomputed once per catalog in _derive.
    warnings = WarningTable(n)
    counts = {"conf": None, "flow": g["n_flow"], "cone": g["n_cone"], "size": g["n_size"]}
    visc_cp = fluid.viscosity_cp
    sigma_mn = fluid.surface_tension_mn_m
    label = {"flow": "flow rate", "cone": "cone angle", "size": "droplet size"}

    def explain(
        out: np.ndarray,
        values,
        bounds: tuple[float, float],
        what: str,
        unit: str,
        correlation: str,
        affects: str,
    ) -> None:
        lo, hi = bounds
        band = " and ".join(label[a] for a in affects.split())

        def message(i: int) -> str:
            v = float(values if np.ndim(values) == 0 else values[i])
            side = "below" if v < lo else "above"
            return (
                f"{band.capitalize()} is extrapolated: {what} {_fmt(v)}{unit} is {side} the "
                f"{_fmt(lo)}–{_fmt(hi)}{unit} range of {correlation}; the {band} band is widened."
            )

        warnings.add(out, message)

    def check(
        applies: np.ndarray,
        values,
        bounds: tuple[float, float],
        what: str,
        unit: str,
        correlation: str,
        affects: str,
    ) -> None:
        lo, hi = bounds
        if not isinstance(values, np.ndarray) or values.ndim == 0:
            if lo <= values <= hi:
                return
            out = applies
        else:
            out = applies & ((values < lo) | (values > hi))
            if not out.any():
                return
        counts["conf"] = out.astype(np.int8) if counts["conf"] is None else counts["conf"] + out
        for a in affects.split():
            counts[a] = counts[a] + out
        explain(out, values, bounds, what, unit, correlation, affects)

    v = c.VALIDITY
    if any_swirl:
        if g["any_defaulted"]:
            warnings.add(
                g["defaulted"],
                lambda i: (
                    "Swirl-chamber diameter and inlet-port area were not given: the droplet-size "
                    "correlation assumes a swirl chamber of "
                    f"{_fmt(DEFAULT_SWIRL_TO_ORIFICE * float(g['d_o_mm'][i]))} mm "
                    f"and an atomiser constant K = {DEFAULT_ATOMISER_CONSTANT}; its band is widened."
                ),
            )
        rl = "Rizk & Lefebvre (1985)"
        explain(
            g["out_k"],
            g["k"],
            v["rizk_lefebvre_cd"]["atomiser_constant_K"],
            "the atomiser constant K = A_p/(D_s·d_o)",
            "",
            rl,
            "flow size",
        )
        explain(
            g["out_ds_do"],
            g["ds_do"],
            v["rizk_lefebvre_cd"]["swirl_to_orifice_ratio"],
            "the swirl-chamber to orifice diameter ratio",
            "",
            rl,
            "flow",
        )
        check(swirl, visc_cp, v["rizk_lefebvre_cone"]["viscosity_cp"], "the viscosity", " cP", rl, "size")
        wl = "Wang & Lefebvre (1987)"
        w = v["wang_lefebvre_smd"]
        check(hollow, p_bar, w["pressure_bar"], "the pressure", " bar", wl, "size")
        check(hollow, visc_cp, w["viscosity_cp"], "the viscosity", " cP", wl, "size")
        check(hollow, sigma_mn, w["surface_tension_mn_m"], "the surface tension", " mN/m", wl, "size")
        check(hollow, fn_us, w["flow_number_us"], "the nozzle size (flow number, (lb/h)/√psi)", "", wl, "size")
        em = "Estes & Mudawar (1995)"
        e = v["estes_mudawar_smd"]
        explain(g["out_em_d"], g["d_o_mm"], e["orifice_mm"], "the orifice diameter", " mm", em, "size")
        check(full, p_bar, e["pressure_bar"], "the pressure", " bar", em, "size")
        check(full, visc_cp, e["viscosity_cp"], "the viscosity", " cP", em, "size")
        check(full, sigma_mn, e["surface_tension_mn_m"], "the surface tension", " mN/m", em, "size")
    if any_plain:
        li = "Lichtarowicz et al. (1965)"
        check(plain, re, v["lichtarowicz_cd"]["reynolds"], "the Reynolds number", "", li, "flow")
        explain(
            g["out_ld"],
            g["ld"],
            v["lichtarowicz_cd"]["length_to_diameter"],
            "the orifice length/diameter",
            "",
            li,
            "flow",
        )
        pj = "the plain-jet correlations (Merrington & Richardson 1947; Elkotb 1982)"
        check(plain, p_bar, v["plain_jet_smd"]["pressure_bar"], "the pressure", " bar", pj, "size")
        check(plain, visc_cp, v["plain_jet_smd"]["viscosity_cp"], "the viscosity", " cP", pj, "size")
    check(
        g["all"],
        we_l,
        (_MIN_LIQUID_WEBER, math.inf),
        "the liquid Weber number",
        "",
        "atomisation (the jet may drip instead of spraying)",
        "cone size",
    )

    confidence = g["conf"] if counts["conf"] is None else g["conf"] * _CONF_POW.take(counts["conf"])

    def widened(name: str) -> np.ndarray:
        """base × 1.5^(violations); with only the geometry's own violations, cached on g."""
        if counts[name] is g[f"n_{name}"]:
            key = f"_widen_{name}"
            if key not in g:
                g[key] = _WIDEN_POW.take(counts[name])
            return g[key]
        return _WIDEN_POW.take(counts[name])

    flow_w = g["flow_w"] * widened("flow")
    cone_w = g["cone_w"] * widened("cone")
    size_f = np.exp(log_size_f * widened("size"))

    flashing = is_flashing(fluid)
    if flashing:
        confidence = confidence * _CONF_FLASHING
        size_f = np.maximum(size_f, 3.0)
        cone_w = np.maximum(cone_w, 0.5)
        why = (
            "liquefied propellant"
            if fluid.liquefied_propellant
            else f"vapour pressure {_fmt(fluid.vapour_pressure_kpa)} kPa above 1 atm"
        )
        warnings.add(
            g["all"],
            lambda i: (
                f"Flash-boiling ({why}): the liquid boils as it leaves the orifice. No calibration covers "
                "flashing sprays: the flow shown is the single-phase value, an upper bound (two-phase "
                "choking can cut it about threefold), and no droplet size is given. Measure before relying on it."
            ),
        )

    q_rr = g["q"]
    dv10, dv50, dv90 = smd_um * g["rr10"], smd_um * g["rr50"], smd_um * g["rr90"]
    v2 = apply_precedence(
        fluid, g, anchors, p_bar, n, u, rho, mu, flow, flow_w, cone, cone_w, size_f, warnings, flashing, cd, p_given
    )
    flow, flow_low, flow_high = v2["flow"], v2["flow_low"], v2["flow_high"]
    cone, cone_low, cone_high = v2["cone"], v2["cone_low"], v2["cone_high"]
    size_f = v2["size_f"]
    if flashing:
        nan = np.full(n, np.nan)
        smd_um, dv10, dv50, dv90 = nan, nan, nan, nan
    return Prediction(
        flow_ml_min=flow,
        flow_ml_min_low=flow_low,
        flow_ml_min_high=flow_high,
        cone_deg=cone,
        cone_deg_low=cone_low,
        cone_deg_high=cone_high,
        smd_um=smd_um,
        dv10_um=dv10,
        dv50_um=dv50,
        dv50_um_low=dv50 / size_f,
        dv50_um_high=dv50 * size_f,
        dv90_um=dv90,
        rosin_rammler_q=np.asarray(q_rr, dtype=float),
        confidence=confidence,
        warnings=warnings,
        smd_um_low=smd_um / size_f,
        smd_um_high=smd_um * size_f,
        dv10_um_low=dv10 / size_f,
        dv10_um_high=dv10 * size_f,
        dv90_um_low=dv90 / size_f,
        dv90_um_high=dv90 * size_f,
        spray_type=g["type_names"],
        flashing=np.broadcast_to(np.bool_(flashing), (n,)),
        pressure_bar=p_given,  # as given (with valve restrictions the orifice sees less: warnings say how much)
        method=v2["method"],
        confidence_label=v2["confidence_label"],
        regime=v2["regime"],
        explain=v2["explain"],
    )


def _round(x: float, sig: int = 3) -> float | None:
    if not math.isfinite(x):
        return None  # not modelled (JSON has no NaN)
    if x == 0:
        return float(x)
    return round(float(x), max(0, sig - 1 - int(math.floor(math.log10(abs(x))))))


def prediction_item(prediction: Prediction, i: int) -> dict:
    """Item i of a prediction as a JSON-ready dict, rounded to 3 significant figures, units in keys."""
    p = prediction
    out: dict = {}
    if p.spray_type is not None:
        out["spray_type"] = str(p.spray_type[i])
    if p.pressure_bar is not None:
        out["pressure_bar"] = _round(p.pressure_bar[i])
    bands = {
        "flow_ml_min": (p.flow_ml_min, p.flow_ml_min_low, p.flow_ml_min_high),
        "cone_deg": (p.cone_deg, p.cone_deg_low, p.cone_deg_high),
        "dv10_um": (p.dv10_um, p.dv10_um_low, p.dv10_um_high),
        "dv50_um": (p.dv50_um, p.dv50_um_low, p.dv50_um_high),
        "dv90_um": (p.dv90_um, p.dv90_um_low, p.dv90_um_high),
        "smd_um": (p.smd_um, p.smd_um_low, p.smd_um_high),
    }
    for key, (value, low, high) in bands.items():
        out[key] = _round(value[i])
        out[f"{key}_low"] = None if low is None else _round(low[i])
        out[f"{key}_high"] = None if high is None else _round(high[i])
    out["rosin_rammler_q"] = _round(p.rosin_rammler_q[i])
    out["confidence"] = round(float(p.confidence[i]), 2)
    out["flashing"] = bool(p.flashing[i]) if p.flashing is not None else False
    out["warnings"] = list(p.warnings[i]) if len(p.warnings) > i else []
    if p.method is not None:
        out["method"] = {q: str(codes[i]) for q, codes in p.method.items()}
    if p.confidence_label is not None:
        out["confidence_label"] = str(p.confidence_label[i])
    if p.regime is not None:
        out["regime"] = str(p.regime[i])
    if callable(p.explain):
        out["explain"] = p.explain(i)
    out["band_level"] = BAND_LEVEL
    return out
