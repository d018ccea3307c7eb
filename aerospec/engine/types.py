"""The engine's inputs and outputs: plain dataclasses over floats and numpy arrays.

No Flask, no database: the web app, the API, the CLI, jobs and benchmarks all build
these from their own data. Units are in every field name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

SPRAY_TYPES = ("hollow_cone", "full_cone", "plain_orifice")
#: Integer codes of SPRAY_TYPES in the vectorised arrays (index into SPRAY_TYPES).
HOLLOW, FULL, PLAIN = 0, 1, 2

#: Actuator families (what a customer filters by): aerosol actuators (button + valve),
#: pump and trigger inserts, industrial hydraulic nozzles.
FAMILIES = ("aerosol_actuator", "pump_trigger", "industrial_nozzle")
#: Full-cone insert designs; the insert, not the orifice, sets a full cone's angle.
FULL_CONE_INSERTS = ("standard", "wide", "square", "wide_square")
#: How a quantity was predicted, most trusted first (engine v2). The wording a user reads
#: comes with each prediction (Prediction.explain); these are the machine codes.
METHODS = ("maker_anchored", "family_calibrated", "extrapolated", "not_modelled")
#: Every band (`*_low`/`*_high`) is a stated 90 % interval.
BAND_LEVEL = 0.90
#: Quantities that carry a method and a band.
QUANTITIES = ("flow_ml_min", "cone_deg", "dv50_um")


@dataclass(frozen=True)
class Fluid:
    """Liquid properties at the use temperature (25 °C unless the user says otherwise)."""

    viscosity_cp: float  # dynamic viscosity, mPa·s = cP
    density_kg_m3: float
    surface_tension_mn_m: float  # mN/m
    flash_point_c: float | None = None  # None: not flammable / unknown
    vapour_pressure_kpa: float | None = None  # at use temperature; > ~100 kPa means it flashes
    liquefied_propellant: bool = False  # liquefied gas (butane, propane, DME...): flash-boiling


@dataclass(frozen=True)
class Geometry:
    """One atomiser geometry, typed in by a user or taken from a catalog row."""

    spray_type: str  # one of SPRAY_TYPES
    orifice_mm: float  # exit orifice diameter
    swirl_chamber_mm: float | None = None  # swirl types only
    inlet_area_mm2: float | None = None  # total swirl inlet-port area, swirl types only
    orifice_length_mm: float | None = None  # exit orifice length; None: l/d = 2 is assumed
    # Anchors from makers' data (engine v2); any may be None (not known).
    rated_flow_ml_min: float | None = None  # maker's rated flow ...
    rated_pressure_bar: float | None = None  # ... at this pressure drop
    rated_density_kg_m3: float | None = None  # fluid the rating was measured with; None: water
    flow_number_ml_min_sqrtbar: float | None = None  # Q / sqrt(dP) with water, instead of a rating
    flow_exponent: float | None = None  # n in Q ~ dP^n; None: the family's calibrated exponent
    angle_table: tuple[tuple[float, float], ...] = ()  # ((pressure_bar, full cone_deg), ...)
    full_cone_insert: str | None = None  # one of FULL_CONE_INSERTS, full cones only
    orifice_nominal: bool | None = None  # True: a catalog's nominal size (1/64-inch grid)
    stem_orifice_mm: float | None = None  # aerosol valve restrictions
    housing_orifice_mm: float | None = None
    vapour_tap_mm: float | None = None
    family: str | None = None  # one of FAMILIES; None: inferred from type and orifice

    def __len__(self) -> int:
        return 1


@dataclass
class Catalog:
    """A whole catalog as column arrays (one entry per SKU), for vectorised scoring."""

    sku: np.ndarray  # str
    supplier: np.ndarray  # str
    spray_type: np.ndarray  # str, one of SPRAY_TYPES
    orifice_mm: np.ndarray
    swirl_chamber_mm: np.ndarray  # NaN where not a swirl type
    inlet_area_mm2: np.ndarray  # NaN where not a swirl type
    max_pressure_bar: np.ndarray
    min_viscosity_cp: np.ndarray
    max_viscosity_cp: np.ndarray
    body_material: np.ndarray  # str
    seal_material: np.ndarray  # str
    unit_price: np.ndarray  # float, in the catalog currency
    lead_time_days: np.ndarray  # int
    orifice_length_mm: np.ndarray | None = None  # NaN/None: l/d = 2 is assumed
    # Anchors (engine v2), one entry per SKU, same meaning as on Geometry. None for a whole
    # column means no SKU has it; NaN (floats), "" (str) or () (angle_table) for one SKU.
    rated_flow_ml_min: np.ndarray | None = None
    rated_pressure_bar: np.ndarray | None = None
    rated_density_kg_m3: np.ndarray | None = None
    flow_number_ml_min_sqrtbar: np.ndarray | None = None
    flow_exponent: np.ndarray | None = None
    angle_table: np.ndarray | None = None  # object array of tuples of (pressure_bar, cone_deg)
    full_cone_insert: np.ndarray | None = None  # str
    orifice_nominal: np.ndarray | None = None  # bool
    stem_orifice_mm: np.ndarray | None = None
    housing_orifice_mm: np.ndarray | None = None
    vapour_tap_mm: np.ndarray | None = None
    family: np.ndarray | None = None  # str, one of FAMILIES
    # Fluid-independent arrays derived once per catalog (masks, K, D_s/d_o, material
    # flags). Treat the column arrays as read-only; replacing a column is detected.
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.sku)


@dataclass
class Prediction:
    """Predicted spray; every value is an array (length 1 for a single geometry).

    `*_low`/`*_high` bound each value: a stated 90 % interval (BAND_LEVEL) sized from the
    cross-validated error of the item's domain cell (calibration_v2.json), widened ×2 per
    dimension outside the validated cells; `warnings[i]` lists why item i's band was widened (outside a
    correlation's validity range, below 1 mm, flashing...). Flashing propellants get NaN
    droplet sizes (not modelled).
    """

    flow_ml_min: np.ndarray
    flow_ml_min_low: np.ndarray
    flow_ml_min_high: np.ndarray
    cone_deg: np.ndarray
    cone_deg_low: np.ndarray
    cone_deg_high: np.ndarray
    smd_um: np.ndarray
    dv10_um: np.ndarray
    dv50_um: np.ndarray
    dv50_um_low: np.ndarray
    dv50_um_high: np.ndarray
    dv90_um: np.ndarray
    rosin_rammler_q: np.ndarray  # spread parameter of the Rosin–Rammler distribution
    confidence: np.ndarray  # 0..1: 1 inside every correlation's range, lower outside
    # A sequence with one list of plain-language messages per item. predict() returns a
    # lazy, read-only sequence (messages are worded when item i is read).
    warnings: list[list[str]] = field(default_factory=list)
    smd_um_low: np.ndarray | None = None
    smd_um_high: np.ndarray | None = None
    dv10_um_low: np.ndarray | None = None
    dv10_um_high: np.ndarray | None = None
    dv90_um_low: np.ndarray | None = None
    dv90_um_high: np.ndarray | None = None
    spray_type: np.ndarray | None = None  # str per item
    flashing: np.ndarray | None = None  # bool: flash-boiling liquid, correlations not valid
    pressure_bar: np.ndarray | None = None  # the pressure each item was predicted at
    # Engine v2. method[q][i] is one of METHODS for quantity q in QUANTITIES. predict()
    # returns a MethodColumn per quantity (small ints underneath): m[i] is the code as a
    # str, m == "maker_anchored" a boolean mask, np.asarray(m) the string array.
    method: dict[str, np.ndarray] | None = None
    # Per item, a phrase a user can read about how each quantity was predicted, e.g.
    # "flow maker-anchored; cone angle family-calibrated (validated for 3–10 mm, 0.5–6 bar,
    # water); droplet size extrapolated (…)". predict() returns a lazy sequence (worded on read).
    confidence_label: np.ndarray | None = None
    # Flashing propellants: a regime in words per item ("" when not flashing).
    regime: np.ndarray | None = None
    # explain(i) -> {quantity: {"method", "label", "source", "validity", "validation_error",
    #                           "band_note"}}: the "how was this predicted" disclosure.
    explain: object | None = None

    def __len__(self) -> int:
        return len(self.flow_ml_min)


@dataclass(frozen=True)
class Target:
    value: float
    tolerance: float  # absolute, in the value's unit


@dataclass(frozen=True)
class Targets:
    """What the user needs; any target may be None (not constrained)."""

    pressure_bar: float  # operating pressure the actuator will see (≤ max pressure)
    cone_deg: Target | None = None
    dv50_um: Target | None = None
    flow_ml_min: Target | None = None


@dataclass
class Ranking:
    """Compatible actuators best first, and the excluded ones with their reasons."""

    order: np.ndarray  # indices into the catalog, best first (compatible only)
    score: np.ndarray  # per catalog entry; lower is better; inf for excluded
    prediction: Prediction  # per catalog entry
    excluded: dict[int, list[str]]  # catalog index -> human-readable reasons
    # How many catalog entries each rule excluded: {"pressure": n, "viscosity": n, "material": n}
    exclusion_counts: dict[str, int] = field(default_factory=dict)
    # Per catalog entry: every given target within its tolerance (False for excluded ones)
    within_tolerance: np.ndarray | None = None
    # Engine v2: probability (0..1, from the 90 % band) that each given target is met,
    # keyed by quantity in QUANTITIES; and per entry how many given targets are met.
    p_meet: dict[str, np.ndarray] | None = None
    targets_met: np.ndarray | None = None
    targets_given: int = 0
    # misses(i) -> list of plain-language misses, e.g. "cone 48° against 60 ± 5°".
    misses: object | None = None
    # With no target given, how the list is ordered, in words.
    order_note: str = ""


def fmt_number(x: float) -> str:
    """A number the way a user reads it: 3 significant figures, no exponent for normal values."""
    if x == 0 or not math.isfinite(x):
        return str(x)
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:,.{digits}f}" if abs(x) < 1e6 else f"{x:.3g}"
