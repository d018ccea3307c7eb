"""Engine v2: which method predicts each quantity, and the 90 % band that goes with it.

Flow, most trusted first:
1. maker-anchored: the maker's rating (rated flow at a rated pressure, or a flow number)
   scaled as Q = Q_ref·(ΔP/ΔP_ref)^n·√(ρ_ref/ρ), n the SKU's exponent or the family's;
   for plain orifices the viscosity effect is Lichtarowicz's C_D(Re) ratio to water;
2. hollow cones whose real swirl-chamber diameter and inlet area are known and inside the
   Rizk & Lefebvre ranges: their correlation (labelled extrapolated: no public table with
   known swirl geometry validates it);
3. the family prior: ln C_D = b0 + b1·ln d_o fitted per full-cone insert and for plain
   orifices (calibrate.py), with the makers' pressure exponent; full cones never use the swirl
   formula. Hollow cones: Rizk & Lefebvre's C_D at the default geometry (K = 0.4, D_s = 3·d_o),
   no constant fitted (the WhirlJet table, the only public one, validates it).
Cone angle: the maker's table (full cones: the family shape through its points, offsets in
ln P; hollow cones: interpolated in P^−½, as they level off; held flat outside it with a
warning); one tabulated angle scaled by the family's pressure shape (hollow cones: the
levelling-off form θ_tab·(1 + 0.22·(1 − √(P_tab/P))), no fit); the family prior (Rizk & Lefebvre's
unfitted power law for hollow cones, whose only public table is kept for validation;
rise-then-narrow for full cones by insert). The viscosity trend of Rizk &
Lefebvre, (μ/1 cP)^−0.22·(ρ/998)^0.11, is applied to every swirl-type angle.
Droplet size: the published correlations (predict.py), labelled extrapolated; flashing
propellants get no droplet size (not modelled) since no flash calibration exists.

Bands: each is a stated 90 % interval, half-width = the cross-validated 90 % half-width
(conformal rank) of the error in the item's domain cell (calibration_v2.json), times
`widen_outside` (2) once per dimension outside the validated cells (orifice band without
data or insert not given, pressure outside the family's rated range, a fluid unlike water,
valve restrictions in series).

Aerosol valve restrictions (stem and housing orifices) are orifices in series with the
actuator: the physics runs at the pressure left across the actuator orifice
(`_valve_fraction`); the flow is labelled extrapolated and its band widened (the share of
the drop is not validated); a vapour tap is flagged, not modelled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from aerospec.engine import calibration as cal
from aerospec.engine.types import BAND_LEVEL, FULL, FULL_CONE_INSERTS, HOLLOW, METHODS, PLAIN, Catalog, Fluid, Geometry
from aerospec.engine.types import fmt_number as _fmt

MAKER, FAMILY, EXTRAP, NOT_MODELLED = range(4)
_METHOD_NAMES = np.asarray(METHODS)
HOLLOW_F, STANDARD_F, WIDE_F, SQUARE_F, WIDE_SQUARE_F, PLAIN_F = range(6)
_INSERT_FAMILY = {"standard": STANDARD_F, "wide": WIDE_F, "square": SQUARE_F, "wide_square": WIDE_SQUARE_F}
assert set(_INSERT_FAMILY) >= set(FULL_CONE_INSERTS)  # noqa: S101 - import-time contract
#: Gas Weber number below which a plain jet is not in the atomisation regime (Reitz 1978:
#: atomisation above We_g ≈ 40.3; below it the jet breaks into drops about its own size).
PLAIN_JET_ATOMISATION_WE_G = 40.3
#: Aerosol valve restrictions (types.Geometry), in the order they are read.
VALVE_FIELDS = ("stem_orifice_mm", "housing_orifice_mm", "vapour_tap_mm")
#: Discharge coefficient of a valve's stem and housing orifices: Lichtarowicz et al. (1965) at
#: high Reynolds number, C_Du = 0.827 − 0.0085·l/d, with l/d = 2 as the engine assumes for any
#: orifice whose length is not given [A: no valve drawing was read]. Also a plain orifice's C_D
#: when its effective area is needed before the fluid is known.
VALVE_CD = 0.827 - 0.0085 * 2.0
PLAIN_CDU = VALVE_CD
WATER_VISCOSITY_CP = 1.0
WATER_DENSITY = 998.0
_ANGLE_VISC_CLIP = (0.3, 1.3)


def _float_col(catalog: Catalog, name: str, n: int) -> np.ndarray:
    col = getattr(catalog, name)
    if col is None:
        return np.full(n, np.nan)
    return np.asarray([np.nan if v is None else v for v in col] if col.dtype == object else col, dtype=float)


def anchor_columns(geometry: Geometry | Catalog, codes: np.ndarray, d_o_mm: np.ndarray) -> dict:
    """Fluid-independent anchor arrays (family code, rating, exponent, angle tables), cached."""
    n = len(codes)
    if isinstance(geometry, Geometry):
        g = geometry
        if g.full_cone_insert is not None and g.full_cone_insert not in _INSERT_FAMILY:
            raise ValueError(
                f"unknown full_cone_insert {g.full_cone_insert!r}; use one of: {', '.join(_INSERT_FAMILY)}"
            )
        for name in ("rated_flow_ml_min", "rated_pressure_bar", "rated_density_kg_m3", "flow_number_ml_min_sqrtbar",
                     *VALVE_FIELDS):  # fmt: skip
            v = getattr(g, name)
            if v is not None and not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number (got {v!r})")
        if g.flow_exponent is not None and not (math.isfinite(g.flow_exponent) and 0.2 <= g.flow_exponent <= 0.8):
            raise ValueError(f"flow_exponent must lie between 0.2 and 0.8 (got {g.flow_exponent!r})")
        if (g.rated_flow_ml_min is None) != (g.rated_pressure_bar is None):
            raise ValueError("give rated_flow_ml_min and rated_pressure_bar together")
        for point in g.angle_table:
            p, a = point
            if not (math.isfinite(p) and p > 0 and math.isfinite(a) and 0 < a < 180):
                raise ValueError(f"angle_table entries must be (pressure_bar > 0, angle 0–180°) (got {point!r})")

        def col(v):
            return np.array([np.nan if v is None else float(v)])

        return _derive_anchors(
            codes,
            d_o_mm,
            col(g.rated_flow_ml_min),
            col(g.rated_pressure_bar),
            col(g.rated_density_kg_m3),
            col(g.flow_number_ml_min_sqrtbar),
            col(g.flow_exponent),
            np.array([g.full_cone_insert or ""]),
            [tuple(g.angle_table)],
            *(col(getattr(g, name)) for name in VALVE_FIELDS),
            col(None if g.orifice_nominal is None else float(bool(g.orifice_nominal))),
        )
    catalog = geometry
    names = (
        "rated_flow_ml_min",
        "rated_pressure_bar",
        "rated_density_kg_m3",
        "flow_number_ml_min_sqrtbar",
        "flow_exponent",
        "full_cone_insert",
        "angle_table",
        "spray_type",
        "orifice_mm",
        *VALVE_FIELDS,
        "orifice_nominal",
    )
    key = tuple(id(getattr(catalog, k)) for k in names)
    cached = catalog._derived.get("anchors")
    if cached is not None and cached[0] == key:
        return cached[1]
    inserts = (
        np.full(n, "")
        if catalog.full_cone_insert is None
        else np.array(["" if v is None else str(v) for v in catalog.full_cone_insert])
    )
    bad = ~np.isin(inserts, ["", *_INSERT_FAMILY])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"catalog row {i} (SKU {catalog.sku[i]}) has unknown full_cone_insert {inserts[i]!r}")
    tables = (
        [()] * n
        if catalog.angle_table is None
        else [
            () if t is None or len(t) == 0 else tuple((float(p), float(a)) for p, a in t) for t in catalog.angle_table
        ]
    )
    derived = _derive_anchors(
        codes,
        d_o_mm,
        _float_col(catalog, "rated_flow_ml_min", n),
        _float_col(catalog, "rated_pressure_bar", n),
        _float_col(catalog, "rated_density_kg_m3", n),
        _float_col(catalog, "flow_number_ml_min_sqrtbar", n),
        _float_col(catalog, "flow_exponent", n),
        inserts,
        tables,
        *(_float_col(catalog, name, n) for name in VALVE_FIELDS),
        _float_col(catalog, "orifice_nominal", n),
    )
    catalog._derived["anchors"] = (key, derived)
    return derived


def _valve_fraction(eff_area_m2: np.ndarray, stem_mm, housing_mm) -> tuple[np.ndarray, np.ndarray]:
    """(has valve restrictions, share of the pressure drop left across the actuator orifice).

    Orifices in series pass one flow Q and share the drop: ΔP_i = ρ/2·(Q/(C_i·A_i))², so
    Q = √(2ΔP/ρ)/√Σ(1/(C_i·A_i)²) and the actuator orifice (effective area C_D·A, from its own
    prior or its maker's rating) keeps ΔP·(1/(C_D·A)²)/Σ(1/(C_i·A_i)²) — independent of ΔP while
    the discharge coefficients are. Valve orifices: VALVE_CD.
    """
    inv2 = np.zeros(len(eff_area_m2))
    for d in (stem_mm, housing_mm):
        given = np.isfinite(d) & (d > 0)
        area = VALVE_CD * 0.25 * math.pi * (np.where(given, d, 1.0) * 1e-3) ** 2
        inv2 = inv2 + np.where(given, 1.0 / (area * area), 0.0)
    valve = inv2 > 0
    return valve, np.where(valve, 1.0 / (1.0 + inv2 * eff_area_m2 * eff_area_m2), 1.0)


def _derive_anchors(
    codes, d_o_mm, q_ref, p_ref, rho_ref, fn, n_exp, inserts, tables, stem_mm, housing_mm, vapour_tap_mm, nominal
) -> dict:

    t = cal.tables()
    fam = np.full(len(codes), STANDARD_F)
    fam[codes == HOLLOW] = HOLLOW_F
    fam[codes == PLAIN] = PLAIN_F
    for name, code in _INSERT_FAMILY.items():
        fam[(codes == FULL) & (inserts == name)] = code
    insert_unknown = (codes == FULL) & (inserts == "")
    has_rating = np.isfinite(q_ref) & np.isfinite(p_ref) & (q_ref > 0) & (p_ref > 0)
    has_fn = ~has_rating & np.isfinite(fn) & (fn > 0)
    # A flow number is Q/√ΔP with water: a rating at 1 bar with n = 0.5 unless an exponent is given.
    q_ref = np.where(has_fn, fn, q_ref)
    p_ref = np.where(has_fn, 1.0, p_ref)
    anchored = has_rating | has_fn
    n_use = np.where(np.isfinite(n_exp), n_exp, np.where(has_fn, 0.5, t["n"][fam]))
    rho_ref = np.where(np.isfinite(rho_ref), rho_ref, WATER_DENSITY)
    ld = np.log(d_o_mm)
    log_cd = t["flow_coef"][fam, 0] + t["flow_coef"][fam, 1] * ld
    flow_w, flow_ok = cal.cell_widths(fam, "flow", d_o_mm)
    angle_w, angle_ok = cal.cell_widths(fam, "angle", d_o_mm)
    flow_ok = flow_ok & ~insert_unknown
    angle_ok = angle_ok & ~insert_unknown
    # A full cone whose insert is not given: standard constants, widened bands.
    angle_w = np.where(insert_unknown, t["angle_q90"][STANDARD_F] * t["widen"], angle_w)
    flow_w = np.where(insert_unknown, t["flow_q90"][STANDARD_F] * t["widen"], flow_w)
    table_rows = [i for i, tab in enumerate(tables) if len(tab) > 0]
    # Full cones with a rating but no angle table: the rated-angle model (C_D at the family's
    # rated pressure, from the rating), which carries the insert's swirl.
    has_table = np.zeros(len(codes), dtype=bool)
    has_table[table_rows] = True
    rated_angle = anchored & t["has_rated"][fam] & ~has_table & ~insert_unknown
    with np.errstate(divide="ignore", invalid="ignore"):
        cd_ref = q_ref / (0.25 * math.pi * (d_o_mm * 1e-3) ** 2 * np.sqrt(2.0 * p_ref * 1e5 / rho_ref) * 6e7)
        log_cd_rated = np.log(cd_ref * (t["p_rated"][fam] / p_ref) ** (n_use - 0.5))
    rated_angle &= np.isfinite(log_cd_rated)
    rated_w, rated_ok = cal.cell_widths(fam, "angle_rated", d_o_mm)
    # the actuator orifice's effective area C_D·A (m²): from the rating where there is one
    area = 0.25 * math.pi * (d_o_mm * 1e-3) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        eff = np.where(
            anchored,
            q_ref / (6e7 * np.sqrt(2.0 * p_ref * 1e5 / rho_ref)),
            np.exp(log_cd) * area * np.where(fam == PLAIN_F, PLAIN_CDU, 1.0),
        )
    valve, valve_fraction = _valve_fraction(eff, stem_mm, housing_mm)
    vapour_tap = np.isfinite(vapour_tap_mm) & (vapour_tap_mm > 0)
    return {
        "nominal": nominal,  # 1 nominal, 0 measured, NaN not stated
        "valve": valve,
        "any_valve": bool(valve.any()),
        "valve_fraction": valve_fraction,
        "stem_mm": stem_mm,
        "housing_mm": housing_mm,
        "vapour_tap": vapour_tap,
        "vapour_tap_mm": vapour_tap_mm,
        "any_vapour_tap": bool(vapour_tap.any()),
        "rated_angle": rated_angle,
        "any_rated_angle": bool(rated_angle.any()),
        "log_cd_rated": np.where(rated_angle, log_cd_rated, 0.0),
        "rated_w": rated_w,
        "rated_ok": rated_ok,
        "fam": fam,
        "insert_unknown": insert_unknown,
        "anchored": anchored,
        "any_anchored": bool(anchored.any()),
        "has_fn": has_fn,
        "q_ref": q_ref,
        "p_ref": p_ref,
        "rho_ref": rho_ref,
        "n": n_use,
        "log_cd": log_cd,
        "prior_flow_geo": np.exp(log_cd) * 0.25 * math.pi * (d_o_mm * 1e-3) ** 2 * 6e7,  # ml/min per (m/s)
        "p_rated": t["p_rated"][fam],
        "p_lo": t["p_lo"][fam],
        "p_hi": t["p_hi"][fam],
        "flow_w": flow_w,
        "flow_ok": flow_ok,
        "angle_w": angle_w,
        "angle_ok": angle_ok,
        "ld": ld,
        "table_rows": table_rows,
        "tables": {i: sorted((float(p), float(a)) for p, a in tables[i]) for i in table_rows},
        "any_full_or_hollow": bool((fam != PLAIN_F).any()),
    }


def family_angle(fam: np.ndarray, ld: np.ndarray, p_bar) -> np.ndarray:
    """The family's angle shape at P (held at the ends of the rated range), water, degrees."""
    t = cal.tables()
    c = t["angle_coef"][fam]
    p = np.clip(p_bar, t["p_lo"][fam], t["p_hi"][fam])
    lp = np.log(p)
    # hollow cones: Rizk & Lefebvre's power law, unfitted (ln θ = a0 + 0.11·ln P + 0.22·ln d)
    hollow = np.exp(c[:, 0] + c[:, 1] * lp + c[:, 2] * ld)
    full = c[:, 0] + c[:, 1] * lp + c[:, 2] * lp * lp + c[:, 3] * ld + c[:, 4] * ld * lp
    return np.where(fam == HOLLOW_F, hollow, full)


def _table_arrays(a: dict) -> dict:
    """The angle tables of a["table_rows"] as padded arrays, built once per anchors dict.

    rows (the items), n (points per table), lp (ln P, +inf past a table's end), angle, p_pts (the
    points' pressures as e^(ln P), 1 past the end), p_raw (the pressures as given, 1 past the end),
    p_first/p_last, a_first/a_last, k (width).
    """
    cached = a.get("_table_arrays")
    if cached is not None and cached["of"] is a["table_rows"]:
        return cached
    tables = [a["tables"][i] for i in a["table_rows"]]
    k = max(len(pts) for pts in tables)
    lp = np.full((len(tables), k), np.inf)
    angle = np.zeros((len(tables), k))
    p_raw = np.ones((len(tables), k))
    for r, pts in enumerate(tables):
        lp[r, : len(pts)] = np.log([q for q, _ in pts])
        p_raw[r, : len(pts)] = [q for q, _ in pts]
        angle[r, : len(pts)] = [v for _, v in pts]
    p_pts = np.exp(np.where(np.isfinite(lp), lp, 0.0))  # e^(ln P), as the points' shape is read at
    built = {
        "of": a["table_rows"],
        "rows": np.asarray(a["table_rows"], dtype=np.intp),
        "n": np.array([len(pts) for pts in tables]),
        "k": k,
        "lp": lp,
        "angle": angle,
        "p_pts": p_pts,
        "p_raw": p_raw,
        "p_first": np.array([pts[0][0] for pts in tables]),
        "p_last": np.array([pts[-1][0] for pts in tables]),
        "a_first": np.array([pts[0][1] for pts in tables]),
        "a_last": np.array([pts[-1][1] for pts in tables]),
    }
    a["_table_arrays"] = built
    return built


def interp_rows(x: np.ndarray, xp: np.ndarray, fp: np.ndarray, n: np.ndarray) -> np.ndarray:
    """np.interp(x[r], xp[r, :n[r]], fp[r, :n[r]]) for every row r at once, the same arithmetic.

    xp is ascending in each row and padded with +inf past n[r] (n[r] ≥ 1). Flat outside the
    points, as np.interp is; with one point, that point's value.
    """
    rows = np.arange(len(x))
    last = np.maximum(n - 1, 0)
    j = np.clip((xp <= x[:, None]).sum(axis=1) - 1, 0, np.maximum(n - 2, 0))
    x0, y0 = xp[rows, j], fp[rows, j]
    nxt = np.minimum(j + 1, last)
    x1, y1 = xp[rows, nxt], fp[rows, nxt]
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (y1 - y0) / (x1 - x0)
        out = slope * (x - x0) + y0
        retry = slope * (x - x1) + y1  # as np.interp: the other end when one gives NaN
    out = np.where(np.isnan(out), np.where(np.isnan(retry) & (y0 == y1), y0, retry), out)
    out = np.where(x == x0, y0, out)
    y_last = fp[rows, last]
    out = np.where(x >= xp[rows, last], y_last, out)
    return np.where(x < xp[:, 0], fp[:, 0], out)


#: |2y| at which norm_cdf stops (Φ there is 1 to double precision, or below 5·10⁻¹⁸).
_CDF_CLIP = 40.0


def norm_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF, vectorised, without scipy: the tanh form of Page (1977),
    Φ(z) ≈ ½·(1 + tanh(√(2/π)·(z + 0.044715·z³))), |error| < 2·10⁻⁴ (tests check it).

    Evaluated as the logistic 1/(1 + e^(−2y)), y = √(2/π)·(z + 0.044715·z³): the same function
    (½(1 + tanh y) ≡ 1/(1 + e^(−2y))), to rounding, at a fraction of the cost: numpy's exp takes
    about 6 ns an element here, its tanh 26 (ranking 10,000 SKUs spent a third of its time in tanh)."""
    z = np.asarray(z, dtype=float)
    inner = z * z
    inner *= 0.044715
    inner += 1.0
    inner *= z
    inner *= -2.0 * math.sqrt(2.0 / math.pi)
    # Held to |2y| ≤ 40, where Φ is 1 to double precision or below 5·10⁻¹⁸: exp stays on its
    # fast path (no overflow or underflow), and the result moves by less than 5·10⁻¹⁸.
    np.clip(inner, -_CDF_CLIP, _CDF_CLIP, out=inner)
    np.exp(inner, out=inner)
    inner += 1.0
    np.reciprocal(inner, out=inner)
    return inner


#: z of the two-sided 90 % interval: a band's half-width is Z90 standard deviations.
Z90 = 1.6448536269514722
assert abs(BAND_LEVEL - 0.90) < 1e-12  # noqa: S101 - Z90 is for the 90 % level


class LazyText(Sequence):
    """Per-item strings worded only when read (ranking 10,000 SKUs builds none)."""

    def __init__(self, n: int, word):
        self._n = n
        self._word = word

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        return self._word(int(i))

    def __repr__(self) -> str:
        return f"LazyText({list(self)!r})"


class MethodColumn(Sequence):
    """Per-item method codes (METHODS) over small ints: m[i] is the code's name, m == "…" a mask.

    Building 10,000 strings per ranking would cost more than the physics; np.asarray(m)
    gives the string array when one is really needed.
    """

    def __init__(self, codes: np.ndarray):
        self.codes = np.asarray(codes)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice | np.ndarray | list):
            return _METHOD_NAMES[self.codes[i]]
        return str(_METHOD_NAMES[self.codes[i]])

    def __eq__(self, other):  # type: ignore[override]
        if isinstance(other, str):
            return self.codes == (METHODS.index(other) if other in METHODS else -1)
        return NotImplemented

    def __ne__(self, other):  # type: ignore[override]
        result = self.__eq__(other)
        return result if result is NotImplemented else ~result

    __hash__ = None  # type: ignore[assignment]

    def __array__(self, dtype=None, copy=None):
        out = _METHOD_NAMES[self.codes]
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        return f"MethodColumn({list(self)!r})"


def method_names(codes: np.ndarray) -> MethodColumn:
    return MethodColumn(np.broadcast_to(codes, np.shape(codes)))


def _pressure_part(g: dict, a: dict, p_bar, n: int, water_like: bool) -> dict:
    """Fluid-independent arrays at one pressure (cached on the catalog's anchors for a scalar P)."""
    key = (float(p_bar), water_like) if np.ndim(p_bar) == 0 else None
    cache = a.setdefault("_by_pressure", {}) if isinstance(a, dict) else {}
    if key is not None and key in cache:
        return cache[key]
    t = cal.tables()
    widen = t["widen"]
    fam = a["fam"]
    p_arr = np.broadcast_to(np.asarray(p_bar, dtype=float), (n,))
    in_range = (p_arr >= a["p_lo"]) & (p_arr <= a["p_hi"])
    real_swirl = g["hollow"] & ~g["defaulted"] & ~g["out_k"] & ~g["out_ds_do"]
    flow_ok = a["flow_ok"] & in_range & water_like & ~a["valve"]
    angle_ok = a["angle_ok"] & in_range & water_like
    # One ×widen per dimension outside the validated cells (orifice band or insert, pressure,
    # fluid), multiplied: a 0.3 mm nozzle at 69 bar is outside two of them.
    outside = (~in_range).astype(np.int8) + (0 if water_like else 1)
    # valve restrictions: the share of the drop they take is not validated; it moves the flow as √ΔP
    # but the angle only as ΔP^0.11, so they widen the flow band alone
    flow_widen = widen ** (outside + ~a["flow_ok"] + a["valve"])
    angle_widen = widen ** (outside + ~a["angle_ok"])
    shape = family_angle(fam, a["ld"], p_arr)
    cone_hw = np.where(angle_ok, a["angle_w"], t["angle_q90"][fam] * angle_widen)
    if a["any_rated_angle"]:
        ra = a["rated_angle"]
        c = t["rated_coef"][fam]
        lp = np.log(np.clip(p_arr, t["p_lo"][fam], t["p_hi"][fam]))
        ld = a["ld"]
        rated_shape = (
            c[:, 0] + c[:, 1] * lp + c[:, 2] * lp * lp + c[:, 3] * ld + c[:, 4] * ld * lp + c[:, 5] * a["log_cd_rated"]
        )
        shape = np.where(ra, rated_shape, shape)
        rated_ok = a["rated_ok"] & in_range & water_like
        rated_widen = widen ** (outside + ~a["rated_ok"])
        cone_hw = np.where(ra, np.where(rated_ok, a["rated_w"], t["rated_angle_q90"][fam] * rated_widen), cone_hw)
        angle_ok = np.where(ra, rated_ok, angle_ok)
    flow_hw = np.where(flow_ok, a["flow_w"], t["flow_q90"][fam] * flow_widen)
    part = {
        "flow_widen": flow_widen,
        "in_range": in_range,
        "real_swirl": real_swirl,
        "any_real_swirl": bool(real_swirl.any()),
        "real_swirl_idx": np.flatnonzero(real_swirl),
        # the items whose flow band apply_precedence may replace (by the swirl formula's or the rating's)
        "flow_redo_idx": np.flatnonzero(real_swirl | a["anchored"]),
        "prior_geo": a["prior_flow_geo"] * (p_arr / a["p_rated"]) ** (a["n"] - 0.5),
        "flow_hw": flow_hw,
        "flow_f": np.exp(flow_hw),
        "flow_m": np.where(real_swirl, EXTRAP, np.where(flow_ok, FAMILY, EXTRAP)),
        "shape": shape,
        "cone_hw": cone_hw,
        "cone_m": np.where(g["plain"], EXTRAP, np.where(angle_ok, FAMILY, EXTRAP)),
    }
    if key is not None:
        if len(cache) >= 8:
            cache.clear()
        cache[key] = part
    return part


_WORDS = {MAKER: "maker-anchored", FAMILY: "family-calibrated", EXTRAP: "extrapolated", NOT_MODELLED: "not modelled"}


def apply_precedence(
    fluid: Fluid,
    g: dict,
    a: dict,
    p_bar,
    n: int,
    u,
    rho: float,
    mu: float,
    physics_flow,
    physics_flow_w,
    physics_cone,
    physics_cone_w,
    size_f,
    warnings,
    flashing: bool,
    cd,
    p_given: np.ndarray | None = None,
) -> dict:
    """Flow and angle by precedence, their 90 % bands, method codes, labels and the disclosure."""

    t = cal.tables()
    widen = t["widen"]
    fam = a["fam"]
    plain = g["plain"]
    d_mm = g["d_o_mm"]
    water_like = cal.is_water_like(fluid.viscosity_cp, fluid.density_kg_m3, fluid.surface_tension_mn_m)
    p_arr = np.broadcast_to(np.asarray(p_bar, dtype=float), (n,))
    part = _pressure_part(g, a, p_bar, n, water_like)
    in_range = part["in_range"]
    small = d_mm < 1.0
    real_swirl = part["real_swirl"]

    # ---- flow
    visc_f = 1.0
    if g["any"][0]:  # plain orifices: Lichtarowicz C_D(Re) of this fluid over water's
        u_w = np.sqrt(2.0 * (p_arr if np.ndim(p_bar) else float(p_bar)) * 1e5 / WATER_DENSITY)
        cd_w = 1.0 / (g["inv_cdu"] + g["licht_b"] / (WATER_DENSITY * u_w / 1.0e-3))
        visc_f = np.where(plain, cd / cd_w, 1.0)
    flow = part["prior_geo"] * u
    if g["any"][0]:
        flow = np.where(plain, flow * cd, flow)
    flow_hw = part["flow_hw"]
    flow_m = part["flow_m"]
    if part["any_real_swirl"]:
        flow = np.where(real_swirl, physics_flow, flow)
        flow_hw = flow_hw.copy()  # (log1p over those items only)
        flow_hw[part["real_swirl_idx"]] = np.log1p(np.take(physics_flow_w, part["real_swirl_idx"]))
    anchored = a["anchored"]
    ratio_ok = None
    if a["any_anchored"]:
        ratio = p_arr / a["p_ref"]
        ratio_ok = (ratio >= t["rated_ratio_lo"]) & (ratio <= 1.0 / t["rated_ratio_lo"])
        scaled = a["q_ref"] * ratio ** a["n"] * np.sqrt(a["rho_ref"] / rho) * visc_f
        flow = np.where(anchored, scaled, flow)
        hw = t["rated_q90"] * np.where(ratio_ok & water_like, 1.0, widen) * np.where(a["valve"], widen, 1.0)
        flow_hw = np.where(anchored, hw, flow_hw)
        flow_m = np.where(anchored, MAKER, flow_m)
    flow = np.asarray(flow, dtype=float)
    flow_f = part["flow_f"]
    if flow_hw is not part["flow_hw"]:  # exp over the replaced items only
        flow_f = flow_f.copy()
        flow_f[part["flow_redo_idx"]] = np.exp(flow_hw.take(part["flow_redo_idx"]))
    flow_low = flow / flow_f
    flow_high = flow * flow_f
    if flashing:
        flow_low = np.minimum(flow_low, flow / 3.0)
        flow_m = np.full(n, EXTRAP)

    # ---- cone angle
    visc_angle = np.clip(
        (fluid.viscosity_cp / WATER_VISCOSITY_CP) ** -0.22 * (rho / WATER_DENSITY) ** 0.11, *_ANGLE_VISC_CLIP
    )
    shape = part["shape"]
    cone = shape * visc_angle
    cone_hw = part["cone_hw"]
    cone_m = part["cone_m"]
    if g["any"][0]:
        cone = np.where(plain, physics_cone, cone)
        cone_hw = np.where(plain, physics_cone * physics_cone_w, cone_hw)
    table_outside = np.zeros(n, dtype=bool)
    if a["table_rows"]:
        cone = cone.copy()
        cone_hw = cone_hw.copy()
        cone_m = cone_m.copy()
        # every SKU with an angle table at once (padded arrays built once per catalog)
        tb = _table_arrays(a)
        rows = tb["rows"]
        f_r, ld_r, p_r = fam[rows], a["ld"][rows], p_arr[rows]
        several = tb["n"] >= 2
        outside = (p_r < tb["p_first"]) | (p_r > tb["p_last"])
        shaped = several & (f_r != PLAIN_F) & (f_r != HOLLOW_F)
        f_p = family_angle(f_r, ld_r, p_r)
        # several points, full cones: the family shape through the table's points, their offsets
        # from it interpolated in ln P; plain jets: the table itself, in ln P; hollow cones level
        # off: the table itself interpolated in P^−½ (flat outside it)
        f_pts = family_angle(np.repeat(f_r, tb["k"]), np.repeat(ld_r, tb["k"]), tb["p_pts"].ravel())
        ys = np.where(shaped[:, None], tb["angle"] - f_pts.reshape(len(rows), tb["k"]), tb["angle"])
        base = interp_rows(np.log(p_r), tb["lp"], ys, tb["n"])
        base = np.where(shaped, f_p + base, base)
        hollow = f_r == HOLLOW_F
        if hollow.any():
            xh = np.where(np.isfinite(tb["lp"]), -(tb["p_raw"] ** -0.5), np.inf)
            base = np.where(several & hollow, interp_rows(-(p_r**-0.5), xh, tb["angle"], tb["n"]), base)
        ends = np.where(p_r < tb["p_first"], tb["a_first"], tb["a_last"])
        base = np.where(shaped & outside, ends, base)  # held flat at the table's end value
        # one point: that angle scaled by the family's pressure shape (a plain jet's as it is)
        one = tb["a_first"] + (f_p - family_angle(f_r, ld_r, tb["p_first"]))
        if hollow.any():
            # one point, hollow cones: the levelling-off form θ_∞ − B·P^−½ with Rizk & Lefebvre's slope
            # (the hollow-cone prior's pressure exponent, 0.11) at the table's pressure, as
            # calibrate.hollow_one_angle validates it
            lo, hi = float(t["p_lo"][HOLLOW_F]), float(t["p_hi"][HOLLOW_F])
            slope = float(t["angle_coef"][HOLLOW_F, 1])
            p_c, p_t = np.clip(p_r, lo, hi), np.clip(tb["p_first"], lo, hi)
            one = np.where(hollow, tb["a_first"] * (1.0 + 2.0 * slope * (1.0 - np.sqrt(p_t / p_c))), one)
        base = np.where(several, base, np.where(f_r != PLAIN_F, one, tb["a_first"]))
        hw = np.where(
            several,
            np.where(shaped | (f_r == HOLLOW_F), t["table_q90"][f_r], 5.0),
            np.where(f_r != PLAIN_F, t["one_q90"][f_r], 5.0),
        )
        cone[rows] = np.where(f_r == PLAIN_F, base, base * float(visc_angle))
        table_outside[rows] = outside & several
        cone_hw[rows] = hw * np.where(outside | (not water_like), widen, 1.0)
        cone_m[rows] = MAKER
    if flashing:
        cone_hw = np.maximum(cone_hw, 0.5 * cone)
        cone_m = np.full(n, EXTRAP)
    cone = np.minimum(cone, 170.0)
    cone_low = np.maximum(cone - cone_hw, 0.0)
    cone_high = np.minimum(cone + cone_hw, 180.0)

    # ---- droplet size: published correlations, no calibration; wider below 1 mm and for
    # plain jets that may not atomise; not modelled for flashing propellants.
    we_g = 1.2 * u * u * (d_mm * 1e-3) / (fluid.surface_tension_mn_m * 1e-3)
    no_atomise = plain & (we_g < PLAIN_JET_ATOMISATION_WE_G)
    size_f = np.where(small | no_atomise, size_f**widen, size_f)
    size_m = np.full(n, NOT_MODELLED if flashing else EXTRAP)

    # ---- warnings (worded lazily)
    if table_outside.any():

        def table_msg(i: int) -> str:
            pts = a["tables"][i]
            return (
                f"Cone angle held at the maker's end value: {_fmt(float(p_arr[i]))} bar is outside the "
                f"angle table ({_fmt(pts[0][0])}–{_fmt(pts[-1][0])} bar); the angle band is widened."
            )

        warnings.add(table_outside, table_msg)
    warnings.add(
        no_atomise,
        lambda i: (
            f"At {_fmt(float(p_arr[i]))} bar this plain jet may not atomise: its gas Weber number "
            f"({_fmt(float(np.broadcast_to(we_g, (n,))[i]))}) is below {PLAIN_JET_ATOMISATION_WE_G:g} (Reitz 1978), "
            "so it may break up into drops about the size of the orifice rather than a spray; the "
            "droplet-size band is widened."
        ),
    )
    warnings.add(
        small,
        lambda i: (
            f"No public data validates predictions below a 1 mm orifice (this one is {_fmt(float(d_mm[i]))} mm, "
            f"aerosol, pump and trigger sizes): the bands are widened ×{widen:g}."
        ),
    )
    warnings.add(
        a["insert_unknown"],
        lambda i: (
            "The full-cone insert is not given: standard-insert constants are used and the bands are "
            f"widened ×{widen:g} (wide inserts spray about 110–120°, standard ones 45–100°)."
        ),
    )
    if not water_like:
        warnings.add(
            np.ones(n, dtype=bool),
            lambda i: (
                "Every public table the engine is calibrated on is for water; this fluid "
                f"({_fmt(fluid.viscosity_cp)} cP, {_fmt(fluid.density_kg_m3)} kg/m³, "
                f"{_fmt(fluid.surface_tension_mn_m)} mN/m) is outside them, so the bands are widened ×{widen:g}."
            ),
        )
    outside_p = ~plain & ~in_range & ~anchored
    warnings.add(
        outside_p,
        lambda i: (
            f"{_fmt(float(p_arr[i]))} bar is outside the {_fmt(float(a['p_lo'][i]))}–{_fmt(float(a['p_hi'][i]))} bar "
            f"of the makers' tables for {cal.FAMILY_WORDS[cal.FAMILY_KEYS[int(fam[i])]]}: flow and angle are "
            f"extrapolated and their bands widened ×{widen:g}."
        ),
    )
    if a["any_anchored"] and ratio_ok is not None:
        warnings.add(
            anchored & ~ratio_ok,
            lambda i: (
                f"The maker's rating is at {_fmt(float(a['p_ref'][i]))} bar; scaling it to {_fmt(float(p_arr[i]))} bar "
                f"is beyond the ×{1 / t['rated_ratio_lo']:.0f} pressure ratio validated, so the flow band is widened."
            ),
        )

    if a["any_valve"]:
        given = p_arr if p_given is None else p_given

        def valve_msg(i: int) -> str:
            parts = [
                f"{label} {_fmt(float(a[key][i]))} mm"
                for label, key in (("stem orifice", "stem_mm"), ("housing orifice", "housing_mm"))
                if math.isfinite(a[key][i])
            ]
            return (
                f"Valve restrictions in series ({', '.join(parts)}): of the {_fmt(float(given[i]))} bar, "
                f"{_fmt(float(p_arr[i]))} bar is left across the actuator orifice, and flow, cone angle and droplet "
                "size are predicted at that pressure (orifices in series, valve C_D "
                f"{VALVE_CD:.2f} assumed). No public data validates that share: the flow band is widened "
                f"×{widen:g}."
            )

        warnings.add(a["valve"], valve_msg)
    if a["any_vapour_tap"]:
        warnings.add(
            a["vapour_tap"],
            lambda i: (
                f"Vapour tap {_fmt(float(a['vapour_tap_mm'][i]))} mm: propellant vapour entering the housing "
                "lowers the liquid flow and makes the spray finer; this is not modelled, so the flow shown is "
                "an upper bound."
            ),
        )
        flow_low = np.where(a["vapour_tap"], np.minimum(flow_low, flow / 3.0), flow_low)

    regime_text = _regime(fluid) if flashing else ""
    method = {"flow_ml_min": method_names(flow_m), "cone_deg": method_names(cone_m), "dv50_um": method_names(size_m)}
    codes = {"flow_ml_min": flow_m, "cone_deg": cone_m, "dv50_um": size_m}
    ctx = {
        "fam": fam,
        "d_mm": d_mm,
        "p": p_arr,
        "in_range": in_range,
        "water_like": water_like,
        "flashing": flashing,
        "real_swirl": real_swirl,
        "anchors": a,
        "plain": plain,
        "no_atomise": no_atomise,
        "flow_hw": np.broadcast_to(flow_hw, (n,)),
        "flow_widen": np.broadcast_to(part["flow_widen"], (n,)),
        "cone_hw": np.broadcast_to(cone_hw, (n,)),
        "size_f": np.broadcast_to(size_f, (n,)),
        "regime": regime_text,
        "fluid": fluid,
    }

    def explain(i: int) -> dict:
        return {q: _explain(q, int(codes[q][i]), i, ctx) for q in codes}

    def label(i: int) -> str:
        e = explain(i)
        return "; ".join(f"{_SHORT[q]} {e[q]['label']}" for q in e)

    return {
        "flow": flow,
        "flow_low": flow_low,
        "flow_high": flow_high,
        "cone": cone,
        "cone_low": cone_low,
        "cone_high": cone_high,
        "size_f": size_f,
        "method": method,
        "confidence_label": LazyText(n, label),
        "regime": np.full(n, regime_text),
        "explain": explain,
    }


_SHORT = {"flow_ml_min": "flow", "cone_deg": "cone angle", "dv50_um": "droplet size"}


#: What the band means for a nominal or a measured orifice (Geometry.orifice_nominal).
_NOMINAL_NOTE = {
    1: "; the orifice is a nominal catalog size, as in every calibration table, so the band carries "
    "a nominal bore's scatter",
    0: "; the orifice is measured, not nominal: the band is not narrowed for it, since every calibration "
    "table lists nominal sizes and no public data with measured bores was found",
}


def _nominal_code(value: float) -> int | None:
    return None if not math.isfinite(value) else int(value)


def _fitted_on(c: dict, fam_key: str) -> str:
    """Where a family's constants come from, in words (hollow cones: nowhere, a published correlation)."""
    if c.get("validation_only"):
        return f"no constant fitted; validated on {cal.FAMILY_WORDS[fam_key]}: {c['source']}"
    return f"fitted on {cal.FAMILY_WORDS[fam_key]}: {c['source']}"


def _regime(fluid: Fluid) -> str:
    """Flashing regime in words from the superheat ratio R_p = P_vap/P_ambient."""
    if fluid.vapour_pressure_kpa is None:
        return "flash-boiling (liquefied propellant, vapour pressure not given)"
    r = fluid.vapour_pressure_kpa / 101.325
    if r < 2.0:
        return f"transitional flashing (vapour pressure {r:.1f}× ambient)"
    return f"fully flashing (vapour pressure {r:.1f}× ambient)"


def _explain(q: str, m: int, i: int, ctx: dict) -> dict:
    """The "how was this predicted" disclosure for one quantity of item i."""

    t = cal.tables()
    fam = int(ctx["fam"][i])
    fam_key = cal.FAMILY_KEYS[fam]
    c = cal.load()["families"][fam_key]
    d = float(ctx["d_mm"][i])
    p = float(ctx["p"][i])
    a = ctx["anchors"]
    reasons = []
    if d < 1.0:
        reasons.append("no public data below a 1 mm orifice")
    if not ctx["in_range"][i] and fam_key != "plain_orifice":
        reasons.append(f"{_fmt(p)} bar outside the makers' {_fmt(t['p_lo'][fam])}–{_fmt(t['p_hi'][fam])} bar")
    if not ctx["water_like"]:
        reasons.append("fluid unlike the water of every table")
    if a["insert_unknown"][i]:
        reasons.append("full-cone insert not given")
    if a["valve"][i] and q == "flow_ml_min":
        reasons.append("valve restrictions in series, not validated")
    if not reasons:
        reasons.append(
            f"fewer than {cal.load()['min_points_per_cell']} public nozzles in the {cal.orifice_band(d)} band"
        )
    lo_mm, hi_mm = c["orifice_range_mm"]
    validity = f"{lo_mm:g}–{hi_mm:g} mm, {_fmt(t['p_lo'][fam])}–{_fmt(t['p_hi'][fam])} bar, water"
    band = f"{BAND_LEVEL:.0%} interval"
    if q == "flow_ml_min":
        hw = float(ctx["flow_hw"][i])
        band_note = f"{band}: ×/÷{math.exp(hw):.2f} around the value"
        if m == MAKER:
            rs = cal.load()["rated_scaling"]
            return {
                "method": "maker_anchored",
                "label": "maker-anchored"
                + (" (through valve restrictions in series, not validated)" if a["valve"][i] else ""),
                "source": f"the maker's rating {_fmt(float(a['q_ref'][i]))} ml/min at "
                f"{_fmt(float(a['p_ref'][i]))} bar, "
                f"scaled as Q_ref·(ΔP/ΔP_ref)^{float(a['n'][i]):.2f}·√(ρ_ref/ρ)",
                "validity": f"pressure ratios down to {rs['pressure_ratio_range'][0]:.2f} of the rating "
                f"({rs['source']})",
                "validation_error": f"cross-validated MAPE {rs['cv']['mape_pct']} % over {rs['cv']['n']} points",
                "band_note": band_note,
            }
        if ctx["flashing"]:
            return {
                "method": "extrapolated",
                "label": "extrapolated (flashing propellant: single-phase upper bound, two-phase flow may be 3× lower)",
                "source": "single-phase flow; no flash calibration exists",
                "validity": "none for flashing liquids",
                "validation_error": "not validated",
                "band_note": f"bounds: {band} widened to a third of the value",
            }
        if ctx["real_swirl"][i]:
            return {
                "method": "extrapolated",
                "label": (
                    "extrapolated (Rizk & Lefebvre 1985 with the given swirl geometry; no public table validates it)"
                ),
                "source": "Rizk & Lefebvre (1985), J. Propulsion Power 1(3):193–199",
                "validity": "K 0.1–1.5, D_s/d_o 1.5–8 (assumed)",
                "validation_error": "not validated on public data with known swirl geometry",
                "band_note": band_note,
            }
        cv = c["flow"]["cv"]
        cell = cv["cells"].get(cal.cell_key(d, True, True))
        err = (
            f"cross-validated MAPE {cell['mape_pct']} % in this cell ({cell['n']} nozzles); "
            f"{cv['mape_pct']} % over the family"
            if cell
            else f"cross-validated MAPE {cv['mape_pct']} % over the family ({cv['n']} nozzles); "
            "none in this orifice band"
        )
        where = ", ".join(cal.validated_cells(fam, "flow")) or "no cell"
        return {
            "method": _METHOD_NAMES[m],
            "label": f"family-calibrated (validated for {where}, {validity.split(', ', 1)[1]})"
            if m == FAMILY
            else f"extrapolated ({'; '.join(reasons) or 'outside the validated cells'})",
            "source": f"{c['flow']['model']}, {_fitted_on(c, fam_key)}",
            "validity": validity,
            "validation_error": err,
            "band_note": band_note
            + ("" if m == FAMILY else f", widened ×{float(ctx['flow_widen'][i]):g} outside the validated cells")
            + _NOMINAL_NOTE.get(_nominal_code(a["nominal"][i]), ""),
        }
    if q == "cone_deg":
        hw = float(ctx["cone_hw"][i])
        band_note = f"{band}: ±{hw:.0f}°"
        if fam_key == "plain_orifice" and m != MAKER:
            return {
                "method": "extrapolated",
                "label": "extrapolated (Reitz & Bracco 1979, fitted to diesel jets)",
                "source": "Reitz & Bracco (1979), SAE 790494",
                "validity": "high-speed jets in the atomisation regime",
                "validation_error": "not validated",
                "band_note": band_note,
            }
        if m == MAKER:
            pts = a["tables"][i]
            if len(pts) < 2 and fam_key == "hollow_cone":
                how = (
                    "one tabulated angle carried by the hollow-cone levelling-off form "
                    "θ_tab·(1 + 0.22·(1 − √(P_tab/P)))"
                )
            elif len(pts) < 2:
                how = "one tabulated angle scaled by the family's pressure shape"
            elif fam_key == "hollow_cone":
                how = "interpolated in P^−½, the hollow-cone levelling-off form"
            elif fam_key == "plain_orifice":
                how = "interpolated in ln P"
            else:
                how = "the family's pressure shape through the table's points, offsets interpolated in ln P"
            err = (
                (c["angle"]["table_middle_point"] if len(pts) >= 2 else c["angle"]["one_angle_cv"])
                if "angle" in c
                else {"mae_deg": "n/a"}
            )
            return {
                "method": "maker_anchored",
                "label": "maker-anchored",
                "source": "the maker's angle table "
                + ", ".join(f"{_fmt(x)} bar: {_fmt(y)}°" for x, y in pts)
                + f" ({how})",
                "validity": f"{_fmt(pts[0][0])}–{_fmt(pts[-1][0])} bar (held flat outside)",
                "validation_error": f"MAE {err['mae_deg']}° on the makers' tables (cross-validated, "
                + ("each table's middle point left out)" if len(pts) >= 2 else "other angles of each table predicted)"),
                "band_note": band_note,
            }
        rated = bool(a["rated_angle"][i])
        part = c["angle"]["rated"] if rated else c["angle"]
        cv = part["cv"]
        where = ", ".join(cal.validated_cells(fam, "angle_rated" if rated else "angle")) or "no cell"
        if ctx["flashing"]:
            reasons.insert(0, "flashing propellant")
        return {
            "method": _METHOD_NAMES[m],
            "label": f"family-calibrated (validated for {where}, {validity.split(', ', 1)[1]})"
            if m == FAMILY
            else f"extrapolated ({'; '.join(reasons) or 'outside the validated cells'})",
            "source": f"{part['model']}{' (C_D from the maker’s rating)' if rated else ''} with the "
            f"Rizk & Lefebvre viscosity trend, {_fitted_on(c, fam_key)}",
            "validity": validity,
            "validation_error": f"cross-validated MAE {cv['mae_deg']}° over the family ({cv['n']} points)",
            "band_note": band_note,
        }
    if m == NOT_MODELLED:
        return {
            "method": "not_modelled",
            "label": f"not modelled ({ctx['regime']}; no flash calibration exists)",
            "source": "none: flash-boiling breaks the liquid up in ways no correlation here covers",
            "validity": "none for flashing liquids",
            "validation_error": "not validated",
            "band_note": "no band: no value is given",
        }
    f = float(ctx["size_f"][i])
    why = ["published correlation, not calibrated"]
    if d < 1.0:
        why.append("no validation below 1 mm")
    if ctx["no_atomise"][i]:
        why.append("the jet may not atomise")
    src = {
        "hollow_cone": "Wang & Lefebvre (1987) with the Suyari & Lefebvre film, Lefebvre (1983) cross-check",
        "plain_orifice": "Merrington & Richardson (1947) and Elkotb (1982), geometric mean",
    }.get(fam_key, "Estes & Mudawar (1995), fitted on full-cone nozzles")
    return {
        "method": "extrapolated",
        "label": f"extrapolated ({'; '.join(why)})",
        "source": src,
        "validity": "see the correlation's published range (warnings name any range exceeded)",
        "validation_error": "2 published points (Levitsky & Tavor 2020), hollow cone only"
        if fam_key == "hollow_cone"
        else "not validated",
        "band_note": f"×/÷{f:.2f} around the value (stated from the correlations' spread, not measured)",
    }
