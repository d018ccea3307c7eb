"""The calibrated family constants and their cross-validated errors, loaded once.

`calibration_v2.json` is written by `python -m aerospec.engine.calibrate` (the fit and the
grouped cross-validation live there, with numpy only; this module only reads the file, with
`json`, so `import aerospec.engine` stays light). Every band the engine shows is a 90 %
interval sized from the cross-validated error of its domain cell (orifice band, pressure
inside the family's rated range, fluid class), widened by `widen_outside` once per dimension
outside the validated cells (orifice band or insert, pressure, fluid, valve restrictions).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np

PATH = Path(__file__).resolve().parent / "calibration_v2.json"

#: Engine family codes (what the constants are fitted per), in this order.
FAMILY_KEYS = (
    "hollow_cone",
    "full_cone_standard",
    "full_cone_wide",
    "full_cone_square",
    "full_cone_wide_square",
    "plain_orifice",
)
FAMILY_WORDS = {
    "hollow_cone": "hollow cones (Spraying Systems WhirlJet)",
    "full_cone_standard": "standard full cones (Spraying Systems FullJet G/H)",
    "full_cone_wide": "wide full cones (Spraying Systems FullJet G-W/H-W)",
    "full_cone_square": "square full cones (Spraying Systems FullJet SQ)",
    "full_cone_wide_square": "wide square full cones (Spraying Systems FullJet WSQ)",
    "plain_orifice": "plain orifices (pressure-washer tip table)",
}


@lru_cache(maxsize=1)
def load() -> dict:
    """The calibration file as a dict (read once per process)."""
    return json.loads(PATH.read_text())


#: Orifice band edges (mm) of the domain cells (calibrate.py writes them into the file too).
ORIFICE_EDGES_MM = (1.0, 3.0, 10.0)


def orifice_band(d_mm: float) -> str:
    """The orifice band of a domain cell, in words."""
    lo = 0.0
    for edge in ORIFICE_EDGES_MM:
        if d_mm < edge:
            return f"{lo:g}–{edge:g} mm" if lo else f"below {edge:g} mm"
        lo = edge
    return f"{lo:g} mm and above"


def cell_key(d_mm: float, in_pressure_range: bool, water_like: bool) -> str:
    """Domain cell: orifice band | pressure inside the family's rated range | fluid class."""
    return "|".join(
        (
            orifice_band(d_mm),
            "rated pressures" if in_pressure_range else "outside rated pressures",
            "water-like" if water_like else "other fluid",
        )
    )


def is_water_like(viscosity_cp: float, density_kg_m3: float, surface_tension_mn_m: float) -> bool:
    w = load()["water_like"]
    return (
        w["viscosity_cp"][0] <= viscosity_cp <= w["viscosity_cp"][1]
        and w["density_kg_m3"][0] <= density_kg_m3 <= w["density_kg_m3"][1]
        and w["surface_tension_mn_m"][0] <= surface_tension_mn_m <= w["surface_tension_mn_m"][1]
    )


@lru_cache(maxsize=1)
def tables() -> dict:
    """Arrays by family code for vectorised use: coefficients, exponents, ranges, widths."""
    cal = load()
    fams = cal["families"]
    widen = cal["widen_outside"]
    nf = len(FAMILY_KEYS)
    flow_coef = np.zeros((nf, 2))
    angle_coef = np.zeros((nf, 5))
    rated_coef = np.zeros((nf, 6))
    has_rated = np.zeros(nf, dtype=bool)
    rated_angle_q90 = np.full(nf, np.nan)
    n_exp = np.full(nf, 0.5)
    p_rated = np.full(nf, 1.0)
    p_lo = np.zeros(nf)
    p_hi = np.zeros(nf)
    flow_q90 = np.zeros(nf)
    angle_q90 = np.zeros(nf)
    one_q90 = np.zeros(nf)
    table_q90 = np.zeros(nf)
    for code, key in enumerate(FAMILY_KEYS):
        f = fams[key]
        c = f["flow"].get("coef", [0.0])
        flow_coef[code, : len(c)] = c
        flow_q90[code] = f["flow"]["cv"]["q90"]
        p_lo[code], p_hi[code] = f["pressure_range_bar"]
        if "angle" in f:
            c = f["angle"]["coef"]
            angle_coef[code, : len(c)] = c
            angle_q90[code] = f["angle"]["cv"]["q90"]
            one_q90[code] = f["angle"]["one_angle_cv"]["q90"]
            table_q90[code] = f["angle"]["table_middle_point"]["q90"]
            if "rated" in f["angle"]:
                c = f["angle"]["rated"]["coef"]
                rated_coef[code, : len(c)] = c
                has_rated[code] = True
                rated_angle_q90[code] = f["angle"]["rated"]["cv"]["q90"]
            n_exp[code] = f["flow"]["flow_exponent"]
            p_rated[code] = f["flow"]["rated_pressure_bar"]
    return {
        "flow_coef": flow_coef,
        "angle_coef": angle_coef,
        "rated_coef": rated_coef,
        "has_rated": has_rated,
        "rated_angle_q90": rated_angle_q90,
        "n": n_exp,
        "p_rated": p_rated,
        "p_lo": p_lo,
        "p_hi": p_hi,
        "flow_q90": flow_q90,
        "angle_q90": angle_q90,
        "one_q90": one_q90,
        "table_q90": table_q90,
        "rated_q90": cal["rated_scaling"]["cv"]["q90"],
        "rated_ratio_lo": cal["rated_scaling"]["pressure_ratio_range"][0],
        "widen": widen,
        "min_points": cal["min_points_per_cell"],
    }


def cell_width(family_code: int, quantity: str, d_mm: float, in_range: bool, water_like: bool) -> tuple[float, bool]:
    """(90 % half-width, validated) for one item: the cell's CV q90, or the family's × widen."""
    cal = load()
    summary = _summary(FAMILY_KEYS[family_code], quantity)
    if summary is None:
        return math.nan, False
    cell = summary["cells"].get(cell_key(d_mm, in_range, water_like))
    if cell is not None and "half_width" in cell:
        return float(cell["half_width"]), True
    return float(summary["q90"]) * cal["widen_outside"], False


def _summary(family: str, quantity: str) -> dict | None:
    """The cross-validated summary of one family's quantity ("flow", "angle", "angle_rated")."""
    fam = load()["families"][family]
    if quantity == "flow":
        return fam["flow"]["cv"]
    if "angle" not in fam:
        return None
    if quantity == "angle_rated":
        return fam["angle"]["rated"]["cv"] if "rated" in fam["angle"] else None
    return fam["angle"]["cv"]


def cell_widths(family_codes: np.ndarray, quantity: str, d_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per item, inside the rated pressures with a water-like fluid: (half-width, validated)."""
    uniq, inverse = np.unique(np.c_[family_codes, d_mm], axis=0, return_inverse=True)
    widths = np.empty(len(uniq))
    ok = np.empty(len(uniq), dtype=bool)
    for j, (code, d) in enumerate(uniq):
        widths[j], ok[j] = cell_width(int(code), quantity, float(d), True, True)
    inverse = inverse.reshape(-1)
    return widths[inverse], ok[inverse]


def validated_cells(family_code: int, quantity: str) -> list[str]:
    """The validated cells of a family and quantity, in words ("3–10 mm" …)."""
    summary = _summary(FAMILY_KEYS[family_code], quantity)
    if summary is None:
        return []
    bands = [
        key.split("|")[0]
        for key, cell in summary["cells"].items()
        if "half_width" in cell and key.endswith("|rated pressures|water-like")
    ]
    order = [orifice_band(x) for x in (0.5, 2.0, 5.0, 20.0)]
    return sorted(bands, key=order.index)
