"""Seed data: the fluid library JSON and a deterministic SAMPLE actuator catalog.

The actuator rows are generated, not copied from suppliers: realistic ranges, but every
row is `is_sample_data=True` and the browse page says so. The generator uses its own
seeded `random.Random`, so two runs give the same SKUs and values (tests check it).

Geometry follows the atomiser constant K = A_p / (D_s · d_o) of Lefebvre's simplex
correlations (A_p total inlet-port area, D_s swirl-chamber diameter, d_o orifice):
swirl types get D_s ≈ 2–4 × d_o and K ≈ 0.1–1.0; plain orifices have neither.

Makers' anchors (engine v2) are sample data too, and say nothing a real maker measured:
each SKU gets its actuator family (MBU inserts are aerosol actuators, TRG pump/trigger
inserts, the rest industrial nozzles), and most get a rated flow with water at a rating
pressure (Spencer) or a flow number (Coster), an angle table (industrial swirl nozzles at
up to four pressures, pump/trigger inserts one angle at 3 bar), a full-cone insert kind,
and for aerosol actuators the valve's stem, housing and vapour-tap orifices. The ratings
and angles are the engine's own prediction for that geometry with water and no anchors
(`engine.predict`: engine v2's calibrated family prior, or the swirl correlation where the
SKU's swirl geometry is known and in range), rounded as a maker would print them (3
significant figures, whole degrees): consistent with the engine by construction, and no
evidence for it. They follow the engine: a recalibration changes them at the next seed. About one
SKU in eight publishes no rating and one in five no angle table, so pages show both cases.
Anchors come from a random stream of their own per SKU, so the other columns are the same
as before anchors existed.
"""

from __future__ import annotations

import json
import math
import random
from decimal import Decimal
from functools import cache
from pathlib import Path

from aerospec.engine.anchors import ANCHOR_FIELDS

FLUIDS_JSON = Path(__file__).parent / "data" / "fluids.json"
SEED = 20261121

SUPPLIERS = {"spencer": "Spencer", "coster": "Coster"}
SPRAY_TYPE_LABELS = {
    "hollow_cone": "Hollow cone (swirl / mechanical break-up)",
    "full_cone": "Full cone",
    "plain_orifice": "Plain orifice (straight jet)",
}
SWIRL_TYPES = ("hollow_cone", "full_cone")
BODY_MATERIALS = {"PP": "Polypropylene (PP)", "POM": "Acetal (POM)", "PBT": "PBT", "brass": "Brass",
                  "316SS": "316 stainless steel"}  # fmt: skip
SEAL_MATERIALS = {
    "none": "None (moulded)",
    "NBR": "NBR",
    "EPDM": "EPDM",
    "FKM": "FKM (Viton)",
    "PTFE": "PTFE",
}


@cache
def fluid_library() -> tuple[dict, ...]:
    """The library fluids from data/fluids.json (built by build_fluids)."""
    data = json.loads(FLUIDS_JSON.read_text(encoding="utf-8"))
    return tuple(data["fluids"])


# Families: (spray type, code, label, orifices mm, variants per orifice, pressure bar range,
# K range, body materials, seals, price USD range by body material class)
FAMILIES = [
    ("hollow_cone", "MBU", "aerosol MBU insert", [0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60],
     10, (10.0, 12.0), (0.15, 0.6), ["PP", "POM"], ["none"]),
    ("hollow_cone", "TRG", "trigger/pump swirl nozzle", [0.25, 0.30, 0.35, 0.40, 0.50, 0.60, 0.70, 0.80],
     6, (3.0, 6.0), (0.2, 0.8), ["PP", "POM", "PBT"], ["none", "NBR", "EPDM"]),
    ("hollow_cone", "HC", "hollow-cone swirl nozzle", [0.30, 0.40, 0.50, 0.60, 0.70, 0.80, 1.00, 1.20, 1.50],
     6, (7.0, 20.0), (0.1, 1.0), ["POM", "PBT", "brass", "316SS"], ["NBR", "EPDM", "FKM", "PTFE"]),
    ("full_cone", "FC", "full-cone nozzle", [0.50, 0.60, 0.70, 0.80, 1.00, 1.20, 1.50],
     8, (5.0, 20.0), (0.3, 1.0), ["PP", "brass", "316SS"], ["NBR", "EPDM", "FKM", "PTFE"]),
    ("plain_orifice", "PO", "plain-orifice jet nozzle",
     [0.15, 0.20, 0.25, 0.30, 0.40, 0.50, 0.60, 0.80, 1.00, 1.20, 1.50],
     8, (3.0, 20.0), None, ["PP", "POM", "PBT", "brass", "316SS"], ["none", "NBR", "FKM", "PTFE"]),
]  # fmt: skip

PRICE_USD = {"MBU": (0.03, 0.15), "TRG": (0.20, 1.20), "PP": (0.40, 2.50), "POM": (0.60, 3.50),
             "PBT": (0.70, 4.00), "brass": (3.00, 15.00), "316SS": (8.00, 45.00)}  # fmt: skip
SPENCER_TYPE = {"hollow_cone": "HC", "full_cone": "FC", "plain_orifice": "PO"}
SPENCER_BODY = {"PP": "PP", "POM": "AC", "PBT": "PB", "brass": "BR", "316SS": "SS"}
COSTER_FAMILY = {"MBU": "MBU", "TRG": "TRG", "HC": "HCS", "FC": "FCN", "PO": "JET"}


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _viscosity_range(rng: random.Random, family: str, orifice: float) -> tuple[float, float]:
    """Fine swirl passages clog or stop swirling with thick liquids; big ones cope."""
    low = 0.1 if family == "MBU" else rng.choice([0.3, 0.5, 0.5, 1.0])
    if orifice < 0.5:
        high = rng.choice([10.0, 15.0, 20.0])
    elif orifice < 0.8:
        high = rng.choice([50.0, 100.0, 200.0])
    else:
        high = rng.choice([200.0, 500.0, 1000.0])
    if family == "PO":
        high *= 2  # no swirl chamber to choke
    return low, high


def _spencer_sku(spray_type: str, family: str, orifice: float, body: str) -> str:
    prefix = "MB" if family == "MBU" else ("TP" if family == "TRG" else SPENCER_TYPE[spray_type])
    return f"SP-{prefix}-{round(orifice * 1000):04d}-{SPENCER_BODY[body]}"


def _coster_sku(family: str, orifice: float, pressure: float) -> str:
    return f"CV.{COSTER_FAMILY[family]}.{round(orifice * 100):03d}.{round(pressure):02d}"


def generate_actuators(seed: int = SEED) -> list[dict]:
    """The sample catalog: ~700 SKUs over Spencer and Coster with their anchors, the same on every run."""
    return [dict(row) for row in _actuators(seed)]


@cache
def _actuators(seed: int) -> tuple[dict, ...]:
    rows = _base_actuators(seed)
    _add_anchors(rows, seed)
    return tuple(rows)


FAMILY_OF = {"MBU": "aerosol_actuator", "TRG": "pump_trigger", "HC": "industrial_nozzle",
             "FC": "industrial_nozzle", "PO": "industrial_nozzle"}  # fmt: skip
#: The pressure each family is rated at (bar): the can's typical drop for aerosol inserts,
#: 3 bar (about 40 psi, the usual table column) for the others.
RATING_PRESSURE_BAR = {"aerosol_actuator": 5.0, "pump_trigger": 3.0, "industrial_nozzle": 3.0}
ANGLE_TABLE_BAR = (0.7, 1.5, 3.0, 6.0)
STEM_ORIFICES_MM = (0.33, 0.41, 0.51, 0.64)  # 0.013", 0.016", 0.020", 0.025"
HOUSING_ORIFICES_MM = (0.51, 0.64, 1.0, 1.6, 2.0)
VAPOUR_TAPS_MM = (None, None, 0.25, 0.33, 0.51)
WATER = {"viscosity_cp": 1.0, "density_kg_m3": 998.0, "surface_tension_mn_m": 72.0}


def _sig(value: float, digits: int = 3) -> float:
    """Rounded to `digits` significant figures, as a maker's table prints it."""
    return float(f"{value:.{digits - 1}e}")


def _add_anchors(rows: list[dict], seed: int) -> None:
    """Give each row its family and sample anchors (see the module docstring)."""
    plans = []  # per row: (anchors, rating pressure, angle-table pressures, has rating, has table)
    for row in rows:
        code = row.pop("_family_code")
        rng = random.Random(f"{seed}:{row['supplier']}:{row['sku']}")  # noqa: S311 - sample data
        family = FAMILY_OF[code]
        anchors: dict = {"family": family, "angle_table": ()}
        if row["spray_type"] == "full_cone":
            anchors["full_cone_insert"] = rng.choices(("standard", "wide", "square"), weights=(7, 2, 1))[0]
        if family == "industrial_nozzle":
            anchors["orifice_nominal"] = True
        if family == "aerosol_actuator":
            anchors["stem_orifice_mm"] = rng.choice(STEM_ORIFICES_MM)
            anchors["housing_orifice_mm"] = rng.choice(HOUSING_ORIFICES_MM)
            anchors["vapour_tap_mm"] = rng.choice(VAPOUR_TAPS_MM)
        rated = min(RATING_PRESSURE_BAR[family], row["max_pressure_bar"])
        if family == "pump_trigger":
            angle_bar: tuple[float, ...] = (rated,)
        elif family == "industrial_nozzle" and row["spray_type"] != "plain_orifice":
            angle_bar = tuple(p for p in ANGLE_TABLE_BAR if p <= row["max_pressure_bar"])
        else:
            angle_bar = ()
        has_rating = rng.random() >= 0.125
        has_table = bool(angle_bar) and rng.random() >= 0.2
        plans.append((anchors, rated, angle_bar, has_rating, has_table))
    prediction = _predict_with_water(rows, plans)
    at = 0
    for row, (anchors, rated, angle_bar, has_rating, has_table) in zip(rows, plans, strict=True):
        flow = float(prediction.flow_ml_min[at])
        angles = [float(prediction.cone_deg[at + 1 + i]) for i in range(len(angle_bar))]
        at += 1 + len(angle_bar)
        if has_rating and row["supplier"] == "coster":
            anchors["flow_number_ml_min_sqrtbar"] = _sig(flow / math.sqrt(rated))
        elif has_rating:
            anchors["rated_flow_ml_min"] = _sig(flow)
            anchors["rated_pressure_bar"] = rated
        if has_table:
            anchors["angle_table"] = tuple((p, float(round(a))) for p, a in zip(angle_bar, angles, strict=True))
        row.update({name: anchors.get(name) for name in ANCHOR_FIELDS})
        row["angle_table"] = anchors["angle_table"]


def _predict_with_water(rows: list[dict], plans: list[tuple]):
    """One vectorised engine call: each row at its rating pressure, then at its table's pressures."""
    import numpy as np

    from aerospec.engine import Catalog, Fluid, predict

    index, pressures = [], []
    for i, (_, rated, angle_bar, _, _) in enumerate(plans):
        index += [i] * (1 + len(angle_bar))
        pressures += [rated, *angle_bar]

    def column(key, dtype=float):
        values = [rows[i][key] for i in index]
        if dtype is float:
            return np.array([np.nan if v is None else float(v) for v in values])
        return np.array(values, dtype=dtype)

    inserts = np.array([plans[i][0].get("full_cone_insert") or "" for i in index], dtype=object)
    families = np.array([plans[i][0]["family"] for i in index], dtype=object)
    catalog = Catalog(
        sku=column("sku", object), supplier=column("supplier", object), spray_type=column("spray_type", object),
        orifice_mm=column("orifice_mm"), swirl_chamber_mm=column("swirl_chamber_mm"),
        inlet_area_mm2=column("inlet_area_mm2"), max_pressure_bar=column("max_pressure_bar"),
        min_viscosity_cp=column("min_viscosity_cp"), max_viscosity_cp=column("max_viscosity_cp"),
        body_material=column("body_material", object), seal_material=column("seal_material", object),
        unit_price=column("unit_price"), lead_time_days=column("lead_time_days", int),
        full_cone_insert=inserts, family=families,
    )  # fmt: skip
    return predict(Fluid(**WATER), catalog, np.array(pressures))


def _base_actuators(seed: int) -> list[dict]:
    """The geometry, materials, prices and stock of every sample SKU."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sample data, not security
    rows: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for supplier in SUPPLIERS:
        for spray_type, family, label, orifices, variants, p_range, k_range, bodies, seals in FAMILIES:
            for orifice in orifices:
                for _ in range(variants):
                    body = rng.choice(bodies)
                    seal = rng.choice(seals)
                    # Aerosol inserts follow the can's 10–12 bar; the rest spread over their range.
                    pressure = rng.choice([10.0, 12.0]) if family == "MBU" else float(round(rng.uniform(*p_range)))
                    swirl_mm = inlet_mm2 = None
                    if spray_type in SWIRL_TYPES:
                        swirl_mm = round(orifice * rng.uniform(2.0, 4.0), 2)
                        k = rng.uniform(*k_range)
                        inlet_mm2 = round(k * swirl_mm * orifice, 4)
                    low, high = _viscosity_range(rng, family, orifice)
                    price_key = family if family in ("MBU", "TRG") else body
                    price = _log_uniform(rng, *PRICE_USD[price_key]) * (1.0 + orifice * 0.2)
                    in_stock = rng.random() > 0.12
                    stock = round(_log_uniform(rng, 50, 50_000)) if in_stock else 0
                    lead = rng.randint(2, 10) if in_stock else rng.randint(14, 60)
                    if supplier == "spencer":
                        base = _spencer_sku(spray_type, family, orifice, body)
                    else:
                        base = _coster_sku(family, orifice, pressure)
                    sku, n = base, 1
                    while (supplier, sku) in seen:
                        n += 1
                        sku = f"{base}-{n}" if supplier == "spencer" else f"{base}{chr(64 + n)}"
                    seen.add((supplier, sku))
                    material = BODY_MATERIALS[body].split(" (")[0]
                    rows.append(
                        {
                            "supplier": supplier,
                            "sku": sku,
                            "name": f"{SUPPLIERS[supplier]} {label} {orifice:.2f} mm, {material}"
                            + (f"/{seal}" if seal != "none" else ""),
                            "spray_type": spray_type,
                            "orifice_mm": orifice,
                            "swirl_chamber_mm": swirl_mm,
                            "inlet_area_mm2": inlet_mm2,
                            "max_pressure_bar": pressure,
                            "min_viscosity_cp": low,
                            "max_viscosity_cp": high,
                            "body_material": body,
                            "seal_material": seal,
                            "unit_price": Decimal(f"{price:.4f}"),
                            "currency": "USD",
                            "stock": stock,
                            "lead_time_days": lead,
                            "last_synced_at": None,
                            "is_sample_data": True,
                            "_family_code": family,
                        }
                    )
    return rows
