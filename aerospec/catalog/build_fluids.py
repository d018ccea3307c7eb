"""Build the fluid library: `python -m aerospec.catalog.build_fluids` writes data/fluids.json.

Run at build time only (it needs `thermo`/`chemicals`); the app, the seed command and
the tests read the JSON. Every value carries its source in `sources`:

- pure components: computed with thermo at 25 °C (liquid at max(1 atm, 1.05 × Psat), so
  liquefied propellants are computed as the pressurised liquid in the can), naming the
  method thermo chose. Compounds for which thermo has only estimation methods for the
  viscosity or density (group contribution, corresponding states) are left out rather
  than published with values that can be off by 2× (d-limonene, isopropyl myristate).
  SCIENCE.md §5.3 lists the known gaps; flash points missing for gases use OVERRIDES.
- glycerol/water: Cheng (2008) viscosity formula and the Volk & Kähler (2018) density
  model, both fitted to measured data; surface tension by a stated mixing rule.
- silicone oils (PDMS): manufacturers' grade tables (nominal cSt, specific gravity,
  surface tension, flash point); dynamic viscosity = cSt × density.
- light mineral oil: representative values inside the USP monograph limits.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

from aerospec.catalog import units

OUT = Path(__file__).parent / "data" / "fluids.json"
T_K = 298.15
THERMO = "thermo 0.6.1"

# name, thermo id, category, liquefied propellant?
PURE = [
    ("Water", "water", "base", False),
    ("Ethanol", "ethanol", "solvent", False),
    ("Isopropanol", "isopropanol", "solvent", False),
    ("Methanol", "methanol", "solvent", False),
    ("1-Butanol", "1-butanol", "solvent", False),
    ("Acetone", "acetone", "solvent", False),
    ("Methyl ethyl ketone", "methyl ethyl ketone", "solvent", False),
    ("Ethyl acetate", "ethyl acetate", "solvent", False),
    ("Butyl acetate", "butyl acetate", "solvent", False),
    ("n-Pentane", "n-pentane", "solvent", False),
    ("Isopentane", "isopentane", "solvent", False),
    ("Cyclopentane", "cyclopentane", "solvent", False),
    ("n-Hexane", "n-hexane", "solvent", False),
    ("n-Heptane", "n-heptane", "solvent", False),
    ("Toluene", "toluene", "solvent", False),
    ("Propylene glycol", "propylene glycol", "base", False),
    ("Ethylene glycol", "ethylene glycol", "base", False),
    ("Glycerol", "glycerol", "base", False),
    ("Benzyl alcohol", "benzyl alcohol", "solvent", False),
    ("n-Butane (A-17)", "n-butane", "propellant", True),
    ("Isobutane (A-31)", "isobutane", "propellant", True),
    ("Propane (A-108)", "propane", "propellant", True),
    ("Dimethyl ether (DME)", "dimethyl ether", "propellant", True),
    ("HFC-134a", "1,1,1,2-tetrafluoroethane", "propellant", True),
    ("HFC-152a", "1,1-difluoroethane", "propellant", True),
    ("HFO-1234ze(E)", "trans-1,3,3,3-tetrafluoropropene", "propellant", True),
    # Checked and left out: thermo has only estimates for their viscosity and density.
    ("d-Limonene", "d-limonene", "solvent", False),
    ("Isopropyl myristate", "isopropyl myristate", "base", False),
]

# Methods that estimate from structure or corresponding states instead of fitting data.
ESTIMATES = {"LETSOU_STIEL", "PRZEDZIECKI_SRIDHAR", "JOBACK", "MMSNM0", "RACKETT", "YAMADA_GUNN",
             "BHIRUD_NORMAL", "TOWNSEND_HALES", "CAMPBELL_THODOS", "HTCOSTALD", "EOS", "MIQUEU"}  # fmt: skip

# Flash points thermo lacks (gases). Value °C, source.
OVERRIDES = {
    "propane": (
        -104.0,
        "commonly cited value (Wikipedia/Wikidata 'propane'), not re-checked in this build; a gas: nominal",
    ),
    "isobutane": (
        -83.0,
        "commonly cited value (Wikipedia/Wikidata 'isobutane'), not re-checked in this build; a gas: nominal",
    ),
    "benzyl alcohol": (
        93.0,
        "commonly cited closed-cup value (Wikipedia/Wikidata 'benzyl alcohol'), not re-checked in this build",
    ),
}
NON_FLAMMABLE = {
    "1,1,1,2-tetrafluoroethane": "not flammable (ASHRAE 34 safety class A1): no flash point",
    "trans-1,3,3,3-tetrafluoropropene": "no flame propagation at 21 °C (ASHRAE 34 class A2L): no flash point",
    "1,1-difluoroethane": "flammable gas (ASHRAE 34 class A2); no flash point published for a gas",
    "water": "not flammable: no flash point",
}


def compute_pure(thermo_id: str) -> dict | None:
    """Properties of one pure liquid at 25 °C with thermo, or None when only estimates exist."""
    from chemicals import CAS_from_any
    from chemicals.safety import T_flash, T_flash_methods
    from thermo import Chemical

    c = Chemical(thermo_id, T=T_K, P=101325)
    psat = c.Psat or 0.0
    pressure = max(psat * 1.05, 101325.0)
    rho = c.MW / 1000 / c.VolumeLiquid(T=T_K, P=pressure)
    mu = c.ViscosityLiquid(T=T_K, P=pressure)
    sigma = c.SurfaceTension(T=T_K)
    methods = {
        "density": c.VolumeLiquid.method,
        "viscosity": c.ViscosityLiquid.method,
        "surface_tension": c.SurfaceTension.method,
        "vapour_pressure": c.VaporPressure.method,
    }
    if methods["viscosity"] in ESTIMATES or methods["density"] in ESTIMATES:
        print(f"  skipped {thermo_id}: only estimates ({methods['viscosity']}, {methods['density']})")
        return None

    def src(prop: str, extra: str = "") -> str:
        where = " as the liquid at its saturation pressure" if psat > 101325 else ""
        return f"computed with {THERMO} (method {methods[prop]}) at 25 °C{where}{extra}"

    cas = CAS_from_any(thermo_id)
    row = {
        "viscosity_cp": round(mu * 1000, 4),
        "density_kg_m3": round(rho, 1),
        "surface_tension_mn_m": round(sigma * 1000, 2),
        "vapour_pressure_kpa": round(psat / 1000, 3),
        "boiling_point_c": round(c.Tb - 273.15, 1) if c.Tb else None,
        "sources": {
            "viscosity_cp": src("viscosity"),
            "density_kg_m3": src("density"),
            "surface_tension_mn_m": src("surface_tension"),
            "vapour_pressure_kpa": src("vapour_pressure", " (absolute)"),
            "boiling_point_c": f"normal boiling point from chemicals (CAS {cas})",
        },
    }
    flash = T_flash(cas)
    if flash is not None:
        method = (T_flash_methods(cas) or ["?"])[0]
        row["flash_point_c"] = round(flash - 273.15, 1)
        row["sources"]["flash_point_c"] = f"chemicals.safety.T_flash (method {method})"
    elif thermo_id in OVERRIDES:
        row["flash_point_c"], row["sources"]["flash_point_c"] = OVERRIDES[thermo_id]
    else:
        row["flash_point_c"] = None
        row["sources"]["flash_point_c"] = NON_FLAMMABLE.get(thermo_id, "no value in chemicals")
    return row


# ---- glycerol/water (mass fraction of glycerol)

GLYCEROL_FRACTIONS = (0.10, 0.30, 0.50, 0.60, 0.70, 0.80, 0.90)


def cheng_viscosity_cp(w_glycerol: float, t_c: float = 25.0) -> float:
    """Cheng N.-S. (2008), 'Formula for the viscosity of a glycerol-water mixture',
    Ind. Eng. Chem. Res. 47, 3285-3288, eqs. 4-10 (fitted to Segur & Oberstar 1951)."""
    mu_w = 1.790 * math.exp((-1230 - t_c) * t_c / (36100 + 360 * t_c))
    mu_g = 12100 * math.exp((-1233 + t_c) * t_c / (9900 + 70 * t_c))
    a = 0.705 - 0.0017 * t_c
    b = (4.9 + 0.036 * t_c) * a**2.5
    cm = w_glycerol
    alpha = 1 - cm + (a * b * cm * (1 - cm)) / (a * cm + b * (1 - cm))
    return mu_w**alpha * mu_g ** (1 - alpha)


def volk_kahler_density(w_glycerol: float, t_c: float = 25.0) -> float:
    """Volk A. & Kähler C. J. (2018), 'Density model for aqueous glycerol solutions',
    Exp. Fluids 59:75, eqs. 1-4 (fitted to measured data, 0-100 % and 15-30 °C)."""
    rho_g = 1273.3 - 0.6121 * t_c
    rho_w = 1000 * (1 - abs((t_c - 3.98) / 615) ** 1.71)
    cv = (w_glycerol / rho_g) / (w_glycerol / rho_g + (1 - w_glycerol) / rho_w)
    kappa_a = 1.78e-6 * t_c**2 - 1.82e-4 * t_c + 1.41e-2
    kappa = 1 + kappa_a * math.sin(cv**1.31 * math.pi) ** 0.81
    return kappa * (rho_g * cv + rho_w * (1 - cv))


def glycerol_water(w: float, water: dict, glycerol: dict) -> dict:
    pct = round(w * 100)
    sigma = (1 - w) * water["surface_tension_mn_m"] + w * glycerol["surface_tension_mn_m"]
    return {
        "name": f"Glycerol/water {pct}/{100 - pct} wt%",
        "category": "blend",
        "viscosity_cp": round(cheng_viscosity_cp(w), 3),
        "density_kg_m3": round(volk_kahler_density(w), 1),
        "surface_tension_mn_m": round(sigma, 2),
        "flash_point_c": None,
        "vapour_pressure_kpa": None,
        "boiling_point_c": None,
        "liquefied_propellant": False,
        "sources": {
            "viscosity_cp": "Cheng (2008) Ind. Eng. Chem. Res. 47:3285 glycerol-water viscosity formula at 25 °C",
            "density_kg_m3": "Volk & Kähler (2018) Exp. Fluids 59:75 density model at 25 °C",
            "surface_tension_mn_m": "mixing rule: linear in mass fraction between water and glycerol "
            f"({THERMO} values); measured values lie within about 2 mN/m",
            "flash_point_c": "aqueous: no flash point",
        },
        "notes": "Aqueous glycerol at 25 °C; a Newtonian calibration fluid.",
    }


# ---- silicone oils: nominal grade (cSt at 25 °C), specific gravity, surface tension, flash point

PDMS_GRADES = [
    (5, 0.913, 19.7, 135.0),
    (10, 0.935, 20.1, 163.0),
    (50, 0.960, 20.8, 300.0),
    (100, 0.964, 20.9, 300.0),
    (350, 0.970, 21.1, 300.0),
    (1000, 0.971, 21.2, 300.0),
]
PDMS_SOURCE = (
    "typical grade values of PDMS fluids (as in Dow XIAMETER PMX-200 / Gelest DMS-T grade tables), "
    "not re-checked against a datasheet in this build: confirm on your supplier's datasheet"
)


def silicone(cst: int, sg: float, sigma: float, flash: float) -> dict:
    density = units.to_kg_m3(sg, "relative")
    return {
        "name": f"Silicone oil (PDMS) {cst} cSt",
        "category": "oil",
        "viscosity_cp": round(units.to_cp(cst, "cSt", density), 2),
        "density_kg_m3": round(density, 1),
        "surface_tension_mn_m": sigma,
        "flash_point_c": flash,
        "vapour_pressure_kpa": None,
        "boiling_point_c": None,
        "liquefied_propellant": False,
        "sources": {
            "viscosity_cp": f"nominal {cst} cSt grade × density ({PDMS_SOURCE})",
            "density_kg_m3": f"specific gravity {sg} × 997 kg/m³ ({PDMS_SOURCE})",
            "surface_tension_mn_m": PDMS_SOURCE,
            "flash_point_c": f"{PDMS_SOURCE}; ≥ 300 °C grades shown as 300 (open cup)" if flash >= 300 else PDMS_SOURCE,
        },
        "notes": "Polydimethylsiloxane, linear, trimethylsiloxy-terminated. Newtonian up to high shear.",
    }


MINERAL_OIL = {
    "name": "Light mineral oil (white, USP)",
    "category": "oil",
    "viscosity_cp": 25.0,
    "density_kg_m3": 845.0,
    "surface_tension_mn_m": 30.0,
    "flash_point_c": 180.0,
    "vapour_pressure_kpa": None,
    "boiling_point_c": None,
    "liquefied_propellant": False,
    "sources": {
        "viscosity_cp": "representative of USP light mineral oil (monograph: ≤ 33.5 mm²/s at 40 °C); "
        "grades vary, enter your supplier's value",
        "density_kg_m3": "representative, inside the USP light mineral oil limits 818-880 kg/m³ at 25 °C",
        "surface_tension_mn_m": "typical of paraffinic white oils at 25 °C (28-31 mN/m)",
        "flash_point_c": "typical open-cup flash point of light white oils (150-200 °C); see your SDS",
    },
    "notes": "A grade family, not one substance: confirm each property on the supplier's datasheet.",
}


def build() -> list[dict]:
    """Every library fluid with its sources, sorted by category then name."""
    warnings.simplefilter("ignore")  # thermo warns about extrapolations it handles
    fluids = []
    computed = {}
    for name, thermo_id, category, propellant in PURE:
        row = compute_pure(thermo_id)
        if row is None:
            continue
        computed[thermo_id] = row
        note = "Liquefied propellant: flash-boils on release." if propellant else None
        fluids.append({"name": name, "category": category, "liquefied_propellant": propellant, "notes": note, **row})
    fluids += [glycerol_water(w, computed["water"], computed["glycerol"]) for w in GLYCEROL_FRACTIONS]
    fluids += [silicone(*grade) for grade in PDMS_GRADES]
    fluids.append(MINERAL_OIL)
    order = {"base": 0, "solvent": 1, "blend": 2, "oil": 3, "propellant": 4}
    return sorted(fluids, key=lambda f: (order[f["category"]], f["name"]))


def main() -> None:
    fluids = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"generated_with": THERMO, "fluids": fluids}, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(fluids)} fluids to {OUT}")


if __name__ == "__main__":
    main()
