"""Fit the engine's family constants from public makers' tables, with grouped cross-validation.

    python -m aerospec.engine.calibrate          # writes aerospec/engine/calibration_v2.json

The tables and their citations are in tests/data/calibration/ (README.md there). One group
is one nozzle series as the maker lists it (one connection size of one series): every
cross-validated figure comes from predicting a whole group with constants fitted on the
other groups only, so nothing here is an in-sample error.

Rules kept here (issue 11):
- the 1/8-inch connection sizes of the Spraying Systems FullJet tables are never fitted; they
  are the held-out validation rows (`heldout`), predicted with the constants fitted on the rest;
- the WhirlJet hollow-cone table (tests/data/engine_hollow_cone_whirljet.csv), the only public
  hollow-cone table found, is validation data only: no constant is fitted on any of its rows.
  The hollow-cone prior is the published Rizk & Lefebvre (1985) correlation with the engine's
  documented default geometry (K = 0.4, D_s = 3·d_o), unfitted; every hollow-cone figure is
  therefore an out-of-sample error over all its usable rows. Their residuals size the
  hollow-cone 90 % bands, and the coverage printed for them is leave-one-series-out (each
  series' band sized on the other series only).

Full cones are split by insert (standard, wide, square, wide square): the insert, not the
orifice, sets the angle.

Models (per family; d in mm, P in bar, water at 20 °C, as the makers rate):
- flow: Q = C_D·A_o·√(2ΔP/ρ)·(P/P_rated)^(n−0.5) with ln C_D = b0 + b1·ln d, the exponent n
  as the maker states it (Spraying Systems Engineer's Guide: 0.5 hollow cones, 0.46
  standard and square full cones, 0.44 wide full cones);
- angle, hollow cone (no fit): Rizk & Lefebvre (1985), 2θ = 6·K^−0.15·(ΔP·d_o²·ρ/μ²)^0.11, with
  K = 0.4, i.e. ln θ = a0 + 0.11·ln P + 0.22·ln d for water (d in mm, P in bar);
- angle, full cones per insert (rises to about 1.5 bar, then narrows):
  θ = a0 + a1·ln P + a2·(ln P)² + a3·ln d + a4·ln d·ln P — the last term lets the pressure
  shape depend on the orifice (small wide-angle inserts narrow more at 6 bar); it lowers the
  grouped-CV error of every family it is used for (standard 11.35 → 11.31°, wide 2.14 → 1.34°,
  wide square 2.59 → 2.25°). The square family (5 nozzles, 3 series) keeps a4 = 0. A quadratic
  in ln d was tried and not kept: its CV error was no better and it extrapolates wildly to
  the 1/8-inch sizes and below (the product's 0.2–0.6 mm orifices);
- one tabulated angle scaled by the family shape: θ(P) = θ_tab + f(P) − f(P_tab) for full
  cones; for hollow cones (no fitted shape) the levelling-off form θ = θ_∞ − B·P^−½ (the
  viscous swirl loss falls as 1/Re ∝ P^−½) whose logarithmic slope at the tabulated pressure
  is Rizk & Lefebvre's 0.11: θ(P) = θ_tab·(1 + 0.22·(1 − √(P_tab/P))), no constant fitted;
- an angle table: the family shape through the table's points, θ(P) = f(P) + the table's
  offsets from f interpolated in ln P (cross-validated by leaving out each table's middle point);
  for hollow cones the table interpolated in P^−½ (the same levelling-off form through each
  pair of neighbouring points).
Plain orifices: Lichtarowicz et al. (1965) times one fitted factor (grouped by tip on the
pressure-washer table, the only plain-orifice table found, at 34–276 bar).

Uses numpy only (no scipy), so importing it stays cheap; the engine never imports it.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from aerospec.engine.calibration import FAMILY_KEYS, ORIFICE_EDGES_MM, cell_key

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
CALIBRATION_DATA = DATA / "calibration"
OUTPUT = Path(__file__).resolve().parent / "calibration_v2.json"
VERSION = "2.0.0"

BAND_LEVEL = 0.90
#: Rizk & Lefebvre (1985) with the engine's default swirl geometry (predict.py: K = 0.4,
#: D_s/d_o = 3): the hollow-cone prior, no constant fitted.
RL_ATOMISER_CONSTANT = 0.4
RL_SWIRL_TO_ORIFICE = 3.0
#: Outside a validated cell a band's half-width (log for flow, degrees for angle) is
#: multiplied by this factor; it is a stated choice, not a measured one.
WIDEN_OUTSIDE = 2.0
#: A domain cell counts as validated with at least this many cross-validated points; its
#: own error sizes its band when they come from at least MIN_GROUPS_PER_CELL series.
MIN_POINTS_PER_CELL = 5
MIN_GROUPS_PER_CELL = 3
#: Fluids like the makers' test water (every table here is water).
WATER_LIKE = {"viscosity_cp": (0.5, 2.0), "density_kg_m3": (900.0, 1100.0), "surface_tension_mn_m": (50.0, 80.0)}
WATER_20C = {"viscosity_cp": 1.0, "density_kg_m3": 998.0, "surface_tension_mn_m": 72.8}
HELD_OUT_CONNECTION = "1/8"

SOURCES = {
    "fulljet": (
        "Spraying Systems Co., Industrial Hydraulic Spray Products, catalog CAT75HYD (metric), "
        "FullJet tables, as transcribed in a public nozzle-selection calculator (GitHub index file "
        "id 52076671799); see tests/data/calibration/README.md"
    ),
    "whirljet": (
        "Spraying Systems Co., CAT75HYD (metric), WhirlJet AX/BX table, same transcription "
        "(tests/data/engine_hollow_cone_whirljet.csv)"
    ),
    "washer": "ultimatewasher.com pressure-washer nozzle table (tests/data/engine_flow_pressure_washer_nozzles.csv)",
    "rizk_lefebvre": (
        "Rizk, N. K. & Lefebvre, A. H. (1985), J. Propulsion Power 1(3):193–199, discharge coefficient and "
        "cone angle of simplex atomisers, with the engine's default geometry K = 0.4, D_s = 3·d_o (no fit); "
        "validated on the Spraying Systems WhirlJet AX/BX table (tests/data/engine_hollow_cone_whirljet.csv)"
    ),
}

FAMILIES = FAMILY_KEYS
#: WhirlJet rows whose listed orifice is the same across a whole connection size while the
#: capacity rises ×2.4–3 (tests/data/README.md): an orifice-only prior cannot carry them.
#: They are left out of the hollow-cone fit and cross-validation and reported apart.
HOLLOW_FIXED_ORIFICE_CONNECTIONS = ("1/2", "3/4")
#: Full-cone families whose angle shape carries the ln d·ln P term (enough series to fit it).
ANGLE_INTERACTION_FAMILIES = ("full_cone_standard", "full_cone_wide", "full_cone_wide_square")
#: Rizk & Lefebvre's pressure exponent of the cone angle (2θ ∝ ΔP^0.11).
RL_PRESSURE_EXPONENT = 0.11


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def ideal_flow_l_min(d_mm: np.ndarray, p_bar: np.ndarray, rho: float = 998.0) -> np.ndarray:
    """A_o·√(2ΔP/ρ) in l/min (C_D = 1)."""
    area = 0.25 * math.pi * (np.asarray(d_mm) * 1e-3) ** 2
    return area * np.sqrt(2.0 * np.asarray(p_bar) * 1e5 / rho) * 6e4


def load_family(family: str) -> dict:
    """One family's points: orifice, group, rated flow and pressure, exponent, angle table."""
    if family == "hollow_cone":
        rows = _rows(DATA / "engine_hollow_cone_whirljet.csv")
        d = np.array([float(r["orifice_mm"]) for r in rows])
        return {
            "d": d,
            "group": np.array([f"WhirlJet {r['connection_in']} in" for r in rows]),
            "connection": np.array([r["connection_in"] for r in rows]),
            "q": np.array([float(r["flow_l_min_0p7bar"]) for r in rows]),
            "p_rated": np.full(len(rows), 0.7),
            "n": np.full(len(rows), 0.5),
            "angle_p": np.tile([0.7, 1.5, 6.0], (len(rows), 1)),
            "angle": np.array(
                [[float(r[k]) for k in ("angle_deg_0p7bar", "angle_deg_1p5bar", "angle_deg_6bar")] for r in rows]
            ),
            "source": SOURCES["whirljet"],
        }
    insert = family.removeprefix("full_cone_")
    rows = _rows(CALIBRATION_DATA / f"spraying_systems_fulljet_{'square' if 'square' in insert else insert}.csv")
    rows = [r for r in rows if r["insert"] == insert]
    return {
        "d": np.array([float(r["orifice_mm"]) for r in rows]),
        "group": np.array([f"{r['series']} {r['connection_in']} in" for r in rows]),
        "connection": np.array([r["connection_in"] for r in rows]),
        "q": np.array([float(r["flow_l_min_rated"]) for r in rows]),
        "p_rated": np.array([float(r["rated_pressure_bar"]) for r in rows]),
        "n": np.array([float(r["flow_exponent_stated"]) for r in rows]),
        "angle_p": np.array([[float(r[f"angle_p{k}_bar"]) for k in (1, 2, 3)] for r in rows]),
        "angle": np.array([[float(r[f"angle_p{k}_deg"]) for k in (1, 2, 3)] for r in rows]),
        "source": SOURCES["fulljet"],
    }


# --- models -------------------------------------------------------------------------------


def flow_features(d_mm: np.ndarray) -> np.ndarray:
    return np.c_[np.ones(len(d_mm)), np.log(d_mm)]


def angle_features(family: str, d_mm: np.ndarray, p_bar: np.ndarray) -> np.ndarray:
    """Design matrix of the family's angle shape (see the module docstring)."""
    d_mm = np.asarray(d_mm, dtype=float)
    p_bar = np.asarray(p_bar, dtype=float)
    ld = np.log(d_mm)
    lp = np.log(p_bar)
    zero = np.zeros_like(ld)
    if family == "hollow_cone":  # ln θ, linear in these (Rizk & Lefebvre's power law)
        return np.stack([np.ones_like(ld), lp, ld, zero, zero], axis=-1)
    inter = ld * lp if family in ANGLE_INTERACTION_FAMILIES else zero
    return np.stack([np.ones_like(ld), lp, lp * lp, ld, inter], axis=-1)


def hollow_one_angle(theta_tab, p_tab, p_bar):
    """A hollow cone's angle at P from one tabulated angle: the levelling-off form (no fit).

    θ = θ_∞ − B·P^−½ with B set so that d ln θ/d ln P at P_tab is Rizk & Lefebvre's 0.11:
    θ(P) = θ_tab·(1 + 2·0.11·(1 − √(P_tab/P))).
    """
    return np.asarray(theta_tab) * (1.0 + 2.0 * RL_PRESSURE_EXPONENT * (1.0 - np.sqrt(np.asarray(p_tab) / p_bar)))


def hollow_table_x(p_bar):
    """The pressure variable a hollow cone's angle table is interpolated in: −P^−½ (increasing)."""
    return -(np.asarray(p_bar, dtype=float) ** -0.5)


def angle_predict(family: str, coef: np.ndarray, d_mm: np.ndarray, p_bar: np.ndarray) -> np.ndarray:
    """The family's angle (degrees, water) at these orifices and pressures."""
    x = angle_features(family, d_mm, p_bar) @ coef
    return np.exp(x) if family == "hollow_cone" else x


def rizk_lefebvre_coefficients() -> tuple[np.ndarray, np.ndarray]:
    """The hollow-cone prior's constants, from the published correlation alone (no data).

    Flow: ln C_D = b0 with C_D = 0.35·√(A_p/(D_s·d_o))·(D_s/d_o)^0.25 at the default geometry.
    Angle: 2θ = 6·K^−0.15·(ΔP·d_o²·ρ/μ²)^0.11 for water at 20 °C with ΔP = P·10⁵ Pa and
    d_o = d·10⁻³ m: ln θ = ln(6·K^−0.15·(10⁵·10⁻⁶·ρ/μ²)^0.11) + 0.11·ln P + 0.22·ln d.
    """
    from aerospec.engine.correlations import cd_rizk_lefebvre

    cd = float(cd_rizk_lefebvre(np.array(RL_ATOMISER_CONSTANT), np.array(RL_SWIRL_TO_ORIFICE)))
    rho, mu = WATER_20C["density_kg_m3"], WATER_20C["viscosity_cp"] * 1e-3
    a0 = math.log(6.0 * RL_ATOMISER_CONSTANT**-0.15 * (1e5 * 1e-6 * rho / mu**2) ** 0.11)
    return np.array([math.log(cd), 0.0]), np.array([a0, RL_PRESSURE_EXPONENT, 2 * RL_PRESSURE_EXPONENT, 0.0, 0.0])


def _lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(x, y, rcond=None)[0]


def fit_flow(pts: dict, mask: np.ndarray) -> np.ndarray:
    cd = pts["q"][mask] / ideal_flow_l_min(pts["d"][mask], pts["p_rated"][mask])
    return _lstsq(flow_features(pts["d"][mask]), np.log(cd))


def predict_flow_log_cd(coef: np.ndarray, d_mm: np.ndarray) -> np.ndarray:
    return flow_features(np.asarray(d_mm, dtype=float)) @ coef


def rated_angle_features(family: str, d_mm: np.ndarray, p_bar: np.ndarray, log_cd: np.ndarray) -> np.ndarray:
    """Full cones with a maker's rating: the shape above plus a5·ln C_D (C_D at the rated pressure).

    At one orifice, a full-cone insert that passes less flow swirls more and sprays wider.
    """
    base = angle_features(family, d_mm, p_bar)
    return np.concatenate([base, np.asarray(log_cd, dtype=float)[..., None] * np.ones(base.shape[:-1] + (1,))], axis=-1)


def fit_rated_angle(family: str, pts: dict, mask: np.ndarray, log_cd: np.ndarray) -> np.ndarray:
    d = np.repeat(pts["d"][mask], 3)
    x = rated_angle_features(family, d, pts["angle_p"][mask].ravel(), np.repeat(log_cd[mask], 3))
    return _lstsq(x, pts["angle"][mask].ravel())


def fit_angle(family: str, pts: dict, mask: np.ndarray) -> np.ndarray:
    d = np.repeat(pts["d"][mask], 3)
    p = pts["angle_p"][mask].ravel()
    return _lstsq(angle_features(family, d, p), pts["angle"][mask].ravel())


# --- cross-validation ----------------------------------------------------------------------


def _q90(values: np.ndarray) -> float:
    """The 90 % half-width from n residuals: the ⌈(n+1)·0.9⌉-th smallest |r| (split-conformal rank).

    A new point exchangeable with these n falls within it with probability ≥ 90 %; the
    interpolated 90th percentile (np.quantile) holds less than 90 % for small n. With fewer
    than 9 residuals the rank is past the largest, so the largest is used (then the guarantee
    is n/(n+1), not 90 %).
    """
    r = np.sort(np.abs(np.asarray(values, dtype=float)))
    if not len(r):
        return float("nan")
    k = math.ceil((len(r) + 1) * BAND_LEVEL)
    return float(r[min(k, len(r)) - 1])


def _cells(d: np.ndarray) -> np.ndarray:
    return np.array([cell_key(float(x), True, True) for x in d])


def _summary(residuals: np.ndarray, cells: np.ndarray, log: bool, groups: np.ndarray | None = None) -> dict:
    """CV error and 90 % half-width, pooled and per domain cell.

    `half_width` is what the engine uses in the cell: the cell's own q90 when it holds at
    least MIN_POINTS_PER_CELL points from MIN_GROUPS_PER_CELL series, the family's pooled
    q90 when it has the points but fewer series, and nothing (not validated) otherwise.
    """
    groups = np.array(["?"] * len(residuals)) if groups is None else groups
    pooled = round(_q90(residuals), 4)

    def stats(r: np.ndarray, g: np.ndarray | None = None) -> dict:
        out = {"n": int(len(r)), "q90": round(_q90(r), 4)}
        if g is not None:
            out["groups"] = len(set(g.tolist()))
            if out["n"] >= MIN_POINTS_PER_CELL:
                out["half_width"] = out["q90"] if out["groups"] >= MIN_GROUPS_PER_CELL else pooled
        if log:
            out["mape_pct"] = round(float(np.mean(np.abs(np.expm1(r))) * 100.0), 2)
        else:
            out["mae_deg"] = round(float(np.mean(np.abs(r))), 2)
            out["bias_deg"] = round(float(np.mean(r)), 2)
        return out

    result = stats(residuals)
    result["cells"] = {str(c): stats(residuals[cells == c], groups[cells == c]) for c in sorted(set(cells.tolist()))}
    return result


def _coverage(residuals: np.ndarray, groups: np.ndarray, cells: np.ndarray) -> float:
    """Share of points inside a 90 % band sized without their own group (leave-group-out twice).

    The half-width for a point follows the engine's rule (see `_summary`) applied to the
    cross-validated residuals of the other groups only.
    """
    inside = []
    for i in range(len(residuals)):
        others = groups != groups[i]
        same_cell = others & (cells == cells[i])
        if same_cell.sum() >= MIN_POINTS_PER_CELL and len(set(groups[same_cell].tolist())) >= MIN_GROUPS_PER_CELL:
            width = _q90(residuals[same_cell])
        elif same_cell.sum() >= MIN_POINTS_PER_CELL:
            width = _q90(residuals[others])
        else:
            width = _q90(residuals[others]) * WIDEN_OUTSIDE
        inside.append(abs(residuals[i]) <= width)
    return float(np.mean(inside)) if inside else float("nan")


def cross_validate_family(family: str) -> dict:
    """Grouped CV of the flow and angle models of one family, plus the held-out rows.

    Hollow cones fit nothing (validation only): their "cross-validated" residuals are the
    unfitted Rizk & Lefebvre prior's errors on every usable WhirlJet row, grouped by series.
    """
    pts = load_family(family)
    hollow = family == "hollow_cone"
    usable = np.ones(len(pts["d"]), dtype=bool)
    if hollow:
        usable = ~np.isin(pts["connection"], HOLLOW_FIXED_ORIFICE_CONNECTIONS)
        rl_flow, rl_angle = rizk_lefebvre_coefficients()
    fit_rows = usable & ((pts["connection"] != HELD_OUT_CONNECTION) | hollow)
    held = usable & ~fit_rows
    groups = pts["group"]
    d = pts["d"]
    log_cd = np.log(pts["q"] / ideal_flow_l_min(d, pts["p_rated"]))
    flow_res = np.full(len(d), np.nan)
    angle_res = np.full((len(d), 3), np.nan)
    one_res = np.full((len(d), 2), np.nan)
    rated_res = np.full((len(d), 3), np.nan)
    # the rated-angle model has five constants: only for families with enough series to cross-validate it
    full = family != "hollow_cone" and len(set(pts["group"][pts["connection"] != HELD_OUT_CONNECTION].tolist())) >= 5
    table_res = np.full(len(d), np.nan)
    shaped_res = np.full(len(d), np.nan)
    for g in np.unique(groups[fit_rows]):
        train = fit_rows & (groups != g)
        test = fit_rows & (groups == g)
        coef = rl_flow if hollow else fit_flow(pts, train)
        flow_res[test] = log_cd[test] - predict_flow_log_cd(coef, d[test])
        acoef = rl_angle if hollow else fit_angle(family, pts, train)
        pred = angle_predict(family, acoef, np.repeat(d[test][:, None], 3, axis=1), pts["angle_p"][test])
        angle_res[test] = pts["angle"][test] - pred
        # one tabulated angle (the middle pressure) scaled by the family shape
        if hollow:
            ap = pts["angle_p"][test]
            one_res[test, 0] = pts["angle"][test, 0] - hollow_one_angle(pts["angle"][test, 1], ap[:, 1], ap[:, 0])
            one_res[test, 1] = pts["angle"][test, 2] - hollow_one_angle(pts["angle"][test, 1], ap[:, 1], ap[:, 2])
        else:
            one_res[test, 0] = pts["angle"][test, 0] - (pts["angle"][test, 1] + pred[:, 0] - pred[:, 1])
            one_res[test, 1] = pts["angle"][test, 2] - (pts["angle"][test, 1] + pred[:, 2] - pred[:, 1])
        # the table without its middle point: the family shape through the two end points
        # (their offsets from the shape interpolated in ln P)
        lpt = np.log(pts["angle_p"][test])
        w = (lpt[:, 1] - lpt[:, 0]) / (lpt[:, 2] - lpt[:, 0])
        off0 = pts["angle"][test, 0] - pred[:, 0]
        off2 = pts["angle"][test, 2] - pred[:, 2]
        shaped_res[test] = pts["angle"][test, 1] - (pred[:, 1] + off0 + w * (off2 - off0))
        if full:
            rcoef = fit_rated_angle(family, pts, train, log_cd)
            x = rated_angle_features(
                family,
                np.repeat(d[test][:, None], 3, axis=1),
                pts["angle_p"][test],
                np.repeat(log_cd[test][:, None], 3, axis=1),
            )
            rated_res[test] = pts["angle"][test] - x @ rcoef
    # the maker's table without its middle point, interpolated in ln P (no fit involved)
    lp = np.log(pts["angle_p"])
    t = (lp[:, 1] - lp[:, 0]) / (lp[:, 2] - lp[:, 0])
    table_res[:] = pts["angle"][:, 1] - (pts["angle"][:, 0] + t * (pts["angle"][:, 2] - pts["angle"][:, 0]))
    if hollow:  # the engine interpolates a hollow cone's table in P^−½ (its family shape is unfitted)
        xp = hollow_table_x(pts["angle_p"])
        th = (xp[:, 1] - xp[:, 0]) / (xp[:, 2] - xp[:, 0])
        ang = pts["angle"]
        shaped_res[fit_rows] = (ang[:, 1] - (ang[:, 0] + th * (ang[:, 2] - ang[:, 0])))[fit_rows]

    coef = rl_flow if hollow else fit_flow(pts, fit_rows)
    acoef = rl_angle if hollow else fit_angle(family, pts, fit_rows)
    cells = _cells(d)
    flow_cv = _summary(flow_res[fit_rows], cells[fit_rows], log=True, groups=groups[fit_rows])
    flow_cv["coverage"] = round(_coverage(flow_res[fit_rows], groups[fit_rows], cells[fit_rows]), 3)
    a_fit = angle_res[fit_rows].ravel()
    a_cells = np.repeat(cells[fit_rows], 3)
    a_groups = np.repeat(groups[fit_rows], 3)
    angle_cv = _summary(a_fit, a_cells, log=False, groups=a_groups)
    angle_cv["coverage"] = round(_coverage(a_fit, a_groups, a_cells), 3)
    o_fit = one_res[fit_rows].ravel()
    one_cv = _summary(o_fit, np.repeat(cells[fit_rows], 2), log=False, groups=np.repeat(groups[fit_rows], 2))
    one_cv["coverage"] = round(_coverage(o_fit, np.repeat(groups[fit_rows], 2), np.repeat(cells[fit_rows], 2)), 3)
    table_plain_cv = _summary(table_res[usable], cells[usable], log=False)
    table_cv = _summary(shaped_res[fit_rows], cells[fit_rows], log=False, groups=groups[fit_rows])
    table_cv["coverage"] = round(_coverage(shaped_res[fit_rows], groups[fit_rows], cells[fit_rows]), 3)
    rated = None
    if full:
        r_fit = rated_res[fit_rows].ravel()
        rated = _summary(r_fit, a_cells, log=False, groups=a_groups)
        rated["coverage"] = round(_coverage(r_fit, a_groups, a_cells), 3)
        rcoef_all = fit_rated_angle(family, pts, fit_rows, log_cd)

    heldout = {"n": int(held.sum())}
    if held.any():
        fr = log_cd[held] - predict_flow_log_cd(coef, d[held])
        d3 = np.repeat(d[held][:, None], 3, axis=1)
        ar = (pts["angle"][held] - angle_predict(family, acoef, d3, pts["angle_p"][held])).ravel()
        fw = _band_half_width(flow_cv, d[held])
        aw = np.repeat(_band_half_width(angle_cv, d[held]), 3)
        heldout.update(
            flow_mape_pct=round(float(np.mean(np.abs(np.expm1(fr))) * 100.0), 2),
            flow_coverage=round(float(np.mean(np.abs(fr) <= fw)), 3),
            angle_mae_deg=round(float(np.mean(np.abs(ar))), 2),
            angle_coverage=round(float(np.mean(np.abs(ar) <= aw)), 3),
            orifice_mm=[float(x) for x in d[held]],
        )
    pressures = pts["angle_p"]
    return {
        "points": int(len(d)),
        "fitted_points": 0 if hollow else int(fit_rows.sum()),
        "validation_only": hollow,
        "groups": sorted(set(groups[fit_rows].tolist())),
        "left_out": (
            {
                "n": int((~usable).sum()),
                "why": "WhirlJet 1/2 and 3/4 in rows list one orifice for a whole connection size",
                "flow_mape_pct": round(
                    float(np.mean(np.abs(np.expm1(log_cd[~usable] - predict_flow_log_cd(coef, d[~usable])))) * 100), 2
                ),
            }
            if (~usable).any()
            else {"n": 0}
        ),
        "orifice_range_mm": [float(d[fit_rows].min()), float(d[fit_rows].max())],
        "pressure_range_bar": [float(pressures.min()), float(pressures.max())],
        "flow": {
            "model": (
                "Rizk & Lefebvre (1985) C_D at K = 0.4, D_s = 3·d_o (no fit); Q = C_D·A_o·√(2ΔP/ρ)"
                if hollow
                else "ln C_D = b0 + b1·ln(d_o/mm); Q = C_D·A_o·√(2ΔP/ρ)·(P/P_rated)^(n−0.5)"
            ),
            "coef": [round(float(c), 6) for c in coef],
            "flow_exponent": float(np.median(pts["n"])),
            "rated_pressure_bar": float(np.median(pts["p_rated"])),
            "cv": flow_cv,
        },
        "angle": {
            "model": (
                "Rizk & Lefebvre (1985) 2θ = 6·K^−0.15·(ΔP·d_o²·ρ/μ²)^0.11 at K = 0.4 (no fit): "
                "ln θ = a0 + 0.11·ln P + 0.22·ln d"
                if hollow
                else "θ = a0 + a1·ln P + a2·(ln P)² + a3·ln d + a4·ln d·ln P"
                + ("" if family in ANGLE_INTERACTION_FAMILIES else " (a4 = 0: too few series)")
            ),
            "one_angle_model": (
                "θ(P) = θ_tab·(1 + 0.22·(1 − √(P_tab/P))) (levelling-off θ_∞ − B·P^−½ with Rizk & Lefebvre's "
                "slope 0.11 at P_tab; no fit)"
                if hollow
                else "θ(P) = θ_tab + f(P) − f(P_tab)"
            ),
            "table_model": (
                "the table interpolated in P^−½, flat outside it"
                if hollow
                else "f(P) + the table's offsets from f interpolated in ln P, flat outside it"
            ),
            "coef": [round(float(c), 6) for c in acoef],
            "cv": angle_cv,
            "one_angle_cv": one_cv,
            "table_middle_point": table_cv,
            "table_middle_point_ln_p": table_plain_cv,
            **(
                {
                    "rated": {
                        "model": "θ = a0 + a1·ln P + a2·(ln P)² + a3·ln d + a4·ln d·ln P + a5·ln C_D(rated)",
                        "coef": [round(float(c), 6) for c in rcoef_all],
                        "cv": rated,
                    }
                }
                if full
                else {}
            ),
        },
        "heldout": heldout,
        "source": SOURCES["rizk_lefebvre"] if hollow else pts["source"],
    }


def _band_half_width(summary: dict, d_mm: np.ndarray) -> np.ndarray:
    """Half-width the engine would use at these orifices (water, rated pressures)."""
    out = []
    for x in d_mm:
        cell = summary["cells"].get(cell_key(float(x), True, True))
        if cell and "half_width" in cell:
            out.append(cell["half_width"])
        else:
            out.append(summary["q90"] * WIDEN_OUTSIDE)
    return np.array(out)


def washer_points() -> dict:
    rows = _rows(DATA / "engine_flow_pressure_washer_nozzles.csv")
    return {
        "size": np.array([r["nozzle_size"] for r in rows]),
        "d": np.array([float(r["orifice_mm"]) for r in rows]),
        "p_bar": np.array([float(r["pressure_psi"]) * 0.0689476 for r in rows]),
        "q_l_min": np.array([float(r["flow_gpm"]) * 3.78541 for r in rows]),
    }


def cross_validate_rated_scaling() -> dict:
    """Flow scaled from a rating across pressures: each tip's highest-pressure flow is the rating.

    Grouped by tip: the exponent n is fitted on the other tips (ln Q ratio on ln P ratio), then
    the held-out tip's other flows are predicted from its rating. The maker-stated 0.5 is
    reported beside it.
    """
    w = washer_points()
    sizes = np.unique(w["size"])
    residuals, residuals_stated, groups = [], [], []
    ratings = {}
    for s in sizes:
        m = w["size"] == s
        j = int(np.argmax(np.where(m, w["p_bar"], -1)))
        ratings[s] = (w["q_l_min"][j], w["p_bar"][j])
    lr_all = np.array([math.log(w["q_l_min"][i] / ratings[w["size"][i]][0]) for i in range(len(w["d"]))])
    lp_all = np.array([math.log(w["p_bar"][i] / ratings[w["size"][i]][1]) for i in range(len(w["d"]))])
    not_rating = lp_all != 0
    for s in sizes:
        train = not_rating & (w["size"] != s)
        test = not_rating & (w["size"] == s)
        n = float(np.sum(lr_all[train] * lp_all[train]) / np.sum(lp_all[train] ** 2))
        residuals.extend((lr_all[test] - n * lp_all[test]).tolist())
        residuals_stated.extend((lr_all[test] - 0.5 * lp_all[test]).tolist())
        groups.extend([s] * int(test.sum()))
    r = np.array(residuals)
    rs = np.array(residuals_stated)
    g = np.array(groups)
    cells = np.array(["rated"] * len(r))
    summary = _summary(r, cells, log=True)
    summary["coverage"] = round(_coverage(r, g, cells), 3)
    summary["mape_stated_exponent_pct"] = round(float(np.mean(np.abs(np.expm1(rs))) * 100.0), 2)
    return {
        "model": "Q = Q_ref·(ΔP/ΔP_ref)^n·√(ρ_ref/ρ)",
        "pressure_ratio_range": [float(np.exp(lp_all[not_rating].min())), 1.0],
        "cv": summary,
        "source": SOURCES["washer"],
    }


def cross_validate_plain() -> dict:
    """Plain-orifice flow (Lichtarowicz, no fitted constant) against the washer table."""
    from aerospec.engine.correlations import cd_lichtarowicz

    w = washer_points()
    rho, mu = 998.0, 1.0e-3
    u = np.sqrt(2.0 * w["p_bar"] * 1e5 / rho)
    cd = cd_lichtarowicz(rho * u * w["d"] * 1e-3 / mu, 2.0)
    pred = cd * ideal_flow_l_min(w["d"], w["p_bar"])
    raw = np.log(w["q_l_min"] / pred)
    r = np.empty_like(raw)
    for s in np.unique(w["size"]):  # one fitted constant (ln of a C_D factor), grouped by tip
        test = w["size"] == s
        r[test] = raw[test] - raw[~test].mean()
    cells = np.array([cell_key(float(x), True, True) for x in w["d"]])
    summary = _summary(r, cells, log=True, groups=w["size"])
    summary["coverage"] = round(_coverage(r, w["size"], cells), 3)
    return {
        "points": int(len(r)),
        "orifice_range_mm": [float(w["d"].min()), float(w["d"].max())],
        "pressure_range_bar": [float(w["p_bar"].min()), float(w["p_bar"].max())],
        "flow": {
            "model": "Lichtarowicz et al. (1965) C_D, l/d = 2, times a fitted factor exp(b0)",
            "coef": [round(float(raw.mean()), 6)],
            "cv": summary,
        },
        "source": SOURCES["washer"],
    }


def calibrate() -> dict:
    """Every family's constants, provenance and cross-validated errors (the calibration file)."""
    families = {f: cross_validate_family(f) for f in FAMILIES if f != "plain_orifice"}
    families["plain_orifice"] = cross_validate_plain()
    return {
        "version": VERSION,
        "generated_by": "python -m aerospec.engine.calibrate",
        "band_level": BAND_LEVEL,
        "widen_outside": WIDEN_OUTSIDE,
        "min_points_per_cell": MIN_POINTS_PER_CELL,
        "orifice_edges_mm": list(ORIFICE_EDGES_MM),
        "water_like": {k: list(v) for k, v in WATER_LIKE.items()},
        "held_out": (
            "Spraying Systems FullJet 1/8-inch connection sizes are never fitted (held out). The WhirlJet "
            "table, the only hollow-cone table found, is validation only: the hollow-cone prior is Rizk & "
            "Lefebvre (1985) with the default geometry, no constant fitted; its residuals on the WhirlJet "
            "1/8-3/8 inch rows size the hollow-cone bands (coverage leave-one-series-out)."
        ),
        "families": families,
        "rated_scaling": cross_validate_rated_scaling(),
    }


def main() -> None:
    result = calibrate()
    OUTPUT.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUTPUT.relative_to(ROOT)} (version {result['version']})")
    for name, fam in result["families"].items():
        flow = fam["flow"]["cv"]
        line = f"  {name}: flow CV MAPE {flow['mape_pct']} % (n {flow['n']})"
        if "angle" in fam:
            line += f", angle CV MAE {fam['angle']['cv']['mae_deg']}°"
        print(line)


if __name__ == "__main__":
    main()
