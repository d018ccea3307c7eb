"""Numbers with units, as people type them and as safety data sheets print them.

Pure functions, no Flask and no database, so the SDS parser and the forms share them.
Every `to_*` function returns the value in the unit its name says; `to_stored(column, ...)`
converts to the unit of a fluid column (the unit its name ends in):

| property          | stored unit | accepted units (any spelling listed in the tables below)   |
|-------------------|-------------|------------------------------------------------------------|
| dynamic viscosity | cP (mPa·s)  | cP, mPa·s, Pa·s, P (poise); cSt and mm²/s with a density   |
| density           | kg/m³       | kg/m³, g/cm³, g/mL, kg/L, lb/gal (US), relative density    |
| surface tension   | mN/m        | mN/m, dyn/cm, N/m                                          |
| temperature       | °C          | °C, °F, K                                                  |
| pressure          | bar         | bar, mbar, kPa, Pa, MPa, hPa, psi, atm, mmHg               |
| vapour pressure   | kPa (abs.)  | the pressure units; barg and psig + 101.325 kPa            |
| length            | mm          | mm, µm, cm, in                                             |

`parse_number` accepts a decimal comma ("0,998"), thousands separators ("1 000",
"1,000.5") and a unicode minus. Unknown units raise ValueError naming the unit and the
units we accept. `check_range` applies the physical ranges of RANGES and returns a
sentence for a form field.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

WATER_DENSITY_KG_M3 = 997.0  # water at 25 °C: the reference for relative density, like every property here

# ---- numbers

_NUMBER = re.compile(
    r"""^\s*
    (?P<sign>[-+\u2212\u2013]?)\s*
    (?P<num>\d{1,3}(?:[ \u00a0\u202f']\d{3})+(?:[.,]\d+)?   # 1 000,5  1'000.5
        |\d{1,3}(?:,\d{3})+\.\d+                              # 1,000.5
        |\d{1,3}(?:\.\d{3})+,\d+                              # 1.000,5
        |\d+(?:[.,]\d*)?                                      # 998  0,998  0.998  1.
        |[.,]\d+)                                             # .5  ,5
    (?:\s*[eE×x]\s*(?:10\s*\^?\s*)?(?P<exp>[-+\u2212]?\d+))?  # 1.2e-3, 1.2 × 10^-3
    """,
    re.VERBOSE,
)


def parse_number(text: str | float | int) -> float:
    """Read one number: '0,998' → 0.998, '1 000' → 1000.0, '−20' → -20.0, '1.5e3' → 1500.0.

    A lone comma is a decimal comma (European SDS style); with both a comma and a dot,
    the last one is the decimal separator. Raises ValueError with a readable message.
    """
    if isinstance(text, bool):
        raise ValueError("enter a number")
    if isinstance(text, int | float):
        value = float(text)
    else:
        match = _NUMBER.match(text or "")
        if not match or match.end() != len(text.rstrip()):
            raise ValueError(f"{(text or '').strip() or 'an empty value'!r} is not a number")
        value = _number_from_match(match)
    if not math.isfinite(value):
        raise ValueError("enter a finite number")
    return value


def _number_from_match(match: re.Match) -> float:
    raw = re.sub(r"[ \u00a0\u202f']", "", match.group("num"))
    if "," in raw and "." in raw:
        decimal = "," if raw.rfind(",") > raw.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        raw = raw.replace(thousands, "").replace(decimal, ".")
    elif "," in raw:
        # One comma followed by exactly three digits in a 4+ digit number ("1,000")
        # is ambiguous; in this domain (SDS section 9) it is far more often a decimal
        # comma ("0,998", "1,025"), so a comma is always a decimal separator.
        raw = raw.replace(",", ".")
    value = float(raw)
    if match.group("sign") in ("-", "\u2212", "\u2013"):
        value = -value
    exp = match.group("exp")
    if exp:
        # Decimal, not 10.0 ** n: "1e400" is then infinity (refused as not finite), not an OverflowError.
        exp = exp.replace("\u2212", "-")
        # Past ±1000 the number is infinity or 0 anyway (and int() refuses more than 4,300 digits).
        shift = (-1000 if exp.startswith("-") else 1000) if len(exp) > 6 else max(-1000, min(1000, int(exp)))
        value = float(Decimal(repr(value)).scaleb(shift))
    return value


def split_value_unit(text: str) -> tuple[float, str]:
    """'0,998 g/cm3' → (0.998, 'g/cm3'); '20°C' → (20.0, '°C'); the unit may be ''."""
    if text is None:
        raise ValueError("enter a number")
    text = str(text).strip()
    match = _NUMBER.match(text)
    if not match:
        raise ValueError(f"{text or 'an empty value'!r} does not start with a number")
    return _number_from_match(match), text[match.end() :].strip()


# ---- unit spellings


def normalise_unit(unit: str) -> str:
    """Fold the many spellings of a unit to one key: 'mPa.s' → 'mpas', 'g/cm³' → 'g/cm3'."""
    u = (unit or "").strip().lower()
    u = u.replace("µ", "u").replace("μ", "u")  # micro sign and Greek mu
    u = u.replace("³", "3").replace("²", "2").replace("^", "")
    u = u.replace("degrees", "deg").replace("degree", "deg").replace("º", "°")
    u = u.replace("deg ", "°").replace("deg.", "°").replace("deg", "°")
    u = re.sub(r"[\s·•⋅*.\-_]", "", u)
    u = u.replace("per", "/")
    return u


@dataclass(frozen=True)
class UnitTable:
    """The units of one quantity: key → (factor, offset) to the stored unit, and labels."""

    quantity: str
    stored: str
    factors: dict[str, float]
    labels: dict[str, str]  # choice value → what a person reads in a select


VISCOSITY = UnitTable(
    "viscosity",
    "cP",
    {
        "cp": 1.0, "mpas": 1.0, "centipoise": 1.0, "cps": 1.0,
        "pas": 1000.0, "nsm2": 1000.0, "ns/m2": 1000.0, "kg/ms": 1000.0, "kg/(ms)": 1000.0,
        "p": 100.0, "poise": 100.0, "dpas": 100.0,
    },
    {"cP": "cP", "mPa·s": "mPa·s", "Pa·s": "Pa·s", "cSt": "cSt (needs density)",
     "mm²/s": "mm²/s (needs density)"},
)  # fmt: skip
KINEMATIC = {
    "cst": 1.0,
    "mm2/s": 1.0,
    "centistokes": 1.0,
    "st": 100.0,
    "stokes": 100.0,
    "cm2/s": 100.0,
    "m2/s": 1e6,
}

DENSITY = UnitTable(
    "density",
    "kg/m³",
    {
        "kg/m3": 1.0, "g/l": 1.0, "kgm3": 1.0,
        "g/cm3": 1000.0, "g/cc": 1000.0, "g/ml": 1000.0, "kg/l": 1000.0, "kg/dm3": 1000.0, "gcm3": 1000.0,
        "lb/gal": 119.826427, "lbs/gal": 119.826427, "lb/ft3": 16.0184634,
    },
    {"kg/m³": "kg/m³", "g/cm³": "g/cm³", "g/mL": "g/mL", "relative": "relative density (water = 1)"},
)  # fmt: skip
RELATIVE = {
    "",
    "relative",
    "sg",
    "specificgravity",
    "relativedensity",
    "(water=1)",
    "water=1",
    "(h2o=1)",
    "h2o=1",
}

SURFACE_TENSION = UnitTable(
    "surface tension",
    "mN/m",
    {"mn/m": 1.0, "dyn/cm": 1.0, "dynes/cm": 1.0, "dyne/cm": 1.0, "n/m": 1000.0, "mj/m2": 1.0},
    {"mN/m": "mN/m", "dyn/cm": "dyn/cm", "N/m": "N/m"},
)

# 1 psi = 1 lbf/in² = 0.45359237 kg × 9.80665 m/s² / (0.0254 m)² = 6894.757… Pa (exact by definition)
_PSI_BAR = 0.45359237 * 9.80665 / 0.0254**2 / 1e5

PRESSURE = UnitTable(
    "pressure",
    "bar",
    {
        "bar": 1.0, "bara": 1.0, "barg": 1.0, "mbar": 1e-3, "hpa": 1e-3, "kpa": 1e-2, "pa": 1e-5, "mpa": 10.0,
        "psi": _PSI_BAR, "psia": _PSI_BAR, "psig": _PSI_BAR, "atm": 1.01325,
        "mmhg": 1.01325 / 760, "torr": 1.01325 / 760,
    },
    {"bar": "bar", "kPa": "kPa", "MPa": "MPa", "psi": "psi"},
)  # fmt: skip

LENGTH = UnitTable(
    "length",
    "mm",
    {"mm": 1.0, "um": 1e-3, "micron": 1e-3, "microns": 1e-3, "cm": 10.0, "in": 25.4, "inch": 25.4, '"': 25.4},
    {"mm": "mm", "µm": "µm", "in": "in"},
)

TEMPERATURE_LABELS = {"°C": "°C", "°F": "°F", "K": "K"}
_CELSIUS = {"°c", "c", "celsius", "°celsius", "oc"}
_FAHRENHEIT = {"°f", "f", "fahrenheit", "°fahrenheit", "of"}
_KELVIN = {"k", "kelvin", "°k"}


def _unknown(unit: str, table_labels) -> ValueError:
    accepted = ", ".join(table_labels)
    return ValueError(f"unknown unit {unit.strip()!r}; use one of {accepted}")


def _factor(table: UnitTable, unit: str) -> float:
    key = normalise_unit(unit)
    if key in table.factors:
        return table.factors[key]
    raise _unknown(unit, table.labels)


# ---- conversions to the stored unit


def to_cp(value: float | str, unit: str, density_kg_m3: float | None = None) -> float:
    """Dynamic viscosity in cP (= mPa·s). Kinematic units (cSt, mm²/s) need the density:
    μ[cP] = ν[cSt] × ρ[kg/m³] / 1000."""
    value = parse_number(value)
    key = normalise_unit(unit)
    if key in KINEMATIC:
        if density_kg_m3 is None or density_kg_m3 <= 0:
            raise ValueError(f"{unit.strip()} is a kinematic viscosity: give the density to convert it to cP")
        return value * KINEMATIC[key] * density_kg_m3 / 1000.0
    return value * _factor(VISCOSITY, unit)


def to_kg_m3(value: float | str, unit: str) -> float:
    """Density in kg/m³; a relative density (specific gravity, water = 1) needs no unit."""
    value = parse_number(value)
    key = normalise_unit(unit)
    if key in RELATIVE:
        return value * WATER_DENSITY_KG_M3
    return value * _factor(DENSITY, unit)


def to_mn_m(value: float | str, unit: str) -> float:
    """Surface tension in mN/m (= dyn/cm)."""
    return parse_number(value) * _factor(SURFACE_TENSION, unit)


def to_celsius(value: float | str, unit: str) -> float:
    """Temperature in °C from °C, °F or K (spellings: 'deg C', '°F', 'degF', 'K')."""
    value = parse_number(value)
    key = normalise_unit(unit)
    if key in _CELSIUS:
        return value
    if key in _FAHRENHEIT:
        return (value - 32.0) * 5.0 / 9.0
    if key in _KELVIN:
        return value - 273.15
    raise _unknown(unit, TEMPERATURE_LABELS)


def to_bar(value: float | str, unit: str) -> float:
    """Pressure in bar from bar, mbar, hPa, kPa, Pa, MPa, psi, atm or mmHg."""
    return parse_number(value) * _factor(PRESSURE, unit)


def to_kpa(value: float | str, unit: str) -> float:
    """Pressure in kPa (the unit of Fluid.vapour_pressure_kpa)."""
    return to_bar(value, unit) * 100.0


ATMOSPHERE_KPA = 101.325  # standard atmosphere: what a gauge reading (barg, psig) is taken to be above
GAUGE = {"barg", "psig"}


def is_gauge(unit: str) -> bool:
    """Whether a pressure unit reads above the atmosphere (barg, psig)."""
    return normalise_unit(unit) in GAUGE


def to_kpa_absolute(value: float | str, unit: str) -> float:
    """Absolute pressure in kPa (a vapour pressure): a gauge reading (barg, psig) plus 1 atm."""
    return to_kpa(value, unit) + (ATMOSPHERE_KPA if is_gauge(unit) else 0.0)


def to_mm(value: float | str, unit: str) -> float:
    """Length in mm from mm, µm, cm or inches."""
    return parse_number(value) * _factor(LENGTH, unit)


AREA = UnitTable(
    "area",
    "mm²",
    {"mm2": 1.0, "sqmm": 1.0, "cm2": 100.0, "in2": 25.4**2, "sqin": 25.4**2},
    {"mm²": "mm²", "cm²": "cm²", "in²": "in²"},
)
AREA_CHOICES: list[tuple[str, str]] = list(AREA.labels.items())


def to_mm2(value: float | str, unit: str) -> float:
    """An area in mm² from mm², cm² or square inches (a swirl insert's inlet ports)."""
    return parse_number(value) * _factor(AREA, unit)


# ---- the fluid columns: one conversion per column, to the unit its name ends in

_TEMPERATURE_CHOICES = [("°C", "°C"), ("°F", "°F"), ("K", "K")]
# Column → the units a person may pick for it (value, label), the stored unit first. The
# fluid form and the SDS review offer these same lists.
UNIT_CHOICES: dict[str, list[tuple[str, str]]] = {
    "viscosity_cp": [("cP", "cP"), ("mPa·s", "mPa·s"), ("Pa·s", "Pa·s"), ("cSt", "cSt (kinematic)"),
                     ("mm²/s", "mm²/s (kinematic)")],
    "density_kg_m3": [("kg/m³", "kg/m³"), ("g/cm³", "g/cm³"), ("g/mL", "g/mL"), ("relative", "relative (water = 1)")],
    "surface_tension_mn_m": [("mN/m", "mN/m"), ("dyn/cm", "dyn/cm"), ("N/m", "N/m")],
    "flash_point_c": _TEMPERATURE_CHOICES,
    "vapour_pressure_kpa": [("kPa", "kPa"), ("hPa", "hPa"), ("mbar", "mbar"), ("bar", "bar"), ("psi", "psi"),
                            ("MPa", "MPa"), ("mmHg", "mmHg"), ("atm", "atm")],
    "boiling_point_c": _TEMPERATURE_CHOICES,
}  # fmt: skip
# The operating pressure (a configuration's max_pressure_bar): gauge, in bar, as the wizard asks for it.
PRESSURE_CHOICES: list[tuple[str, str]] = [("bar", "bar"), ("kPa", "kPa"), ("MPa", "MPa"), ("psi", "psi")]
_TO_STORED = {
    "pressure_bar": to_bar,
    "viscosity_cp": to_cp,
    "density_kg_m3": to_kg_m3,
    "surface_tension_mn_m": to_mn_m,
    "flash_point_c": to_celsius,
    "vapour_pressure_kpa": to_kpa_absolute,
    "boiling_point_c": to_celsius,
}


def to_stored(prop: str, value: float | str, unit: str, density_kg_m3: float | None = None) -> float:
    """`value` in `unit` in the unit of fluid column `prop` (viscosity_cp → cP, vapour_pressure_kpa → kPa...),
    or of an operating pressure (`pressure_bar` → bar).

    The one conversion the fluid form, the SDS review and the configuration edit form share; a kinematic
    viscosity uses the density."""
    if prop == "viscosity_cp":
        return to_cp(value, unit, density_kg_m3)
    if prop not in _TO_STORED:
        raise KeyError(f"unknown fluid property {prop!r}")
    return _TO_STORED[prop](value, unit)


def parse_quantity(text: str, quantity: str, density_kg_m3: float | None = None) -> float:
    """Parse '0,998 g/cm3', '1.2 mPa.s', '68 °F'... into the stored unit of `quantity`
    (one of 'viscosity', 'density', 'surface_tension', 'temperature', 'pressure', 'length')."""
    value, unit = split_value_unit(text)
    converters = {
        "viscosity": lambda: to_cp(value, unit, density_kg_m3),
        "density": lambda: to_kg_m3(value, unit),
        "surface_tension": lambda: to_mn_m(value, unit),
        "temperature": lambda: to_celsius(value, unit),
        "pressure": lambda: to_bar(value, unit),
        "length": lambda: to_mm(value, unit),
    }
    if quantity not in converters:
        raise KeyError(f"unknown quantity {quantity!r}")
    return converters[quantity]()


def shown(value: float) -> str:
    """A stored number as a form writes it back for editing (six significant digits)."""
    return f"{value:.6g}"


def same_as_shown(old: float | None, new: float | None) -> bool:
    """Whether `new` is `old` as a form showed it, i.e. the person left the value alone."""
    return old is not None and new is not None and shown(old) == shown(new)


# ---- physical ranges


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    unit: str
    label: str

    def message(self, value: float) -> str:
        return (
            f"{self.label} must be between {_fmt(self.low)} and {_fmt(self.high)} {self.unit} "
            f"(got {_fmt(value)} {self.unit})"
        )


def _fmt(value: float) -> str:
    if value == int(value) and abs(value) < 1e9:
        return f"{int(value):,}"
    return f"{value:.4g}"


# Property (stored column) → physically sensible range for a sprayable liquid at use temperature.
RANGES: dict[str, Range] = {
    "viscosity_cp": Range(0.05, 100_000.0, "cP", "Viscosity"),
    "density_kg_m3": Range(300.0, 2500.0, "kg/m³", "Density"),
    "surface_tension_mn_m": Range(5.0, 80.0, "mN/m", "Surface tension"),
    "flash_point_c": Range(-150.0, 400.0, "°C", "Flash point"),
    "boiling_point_c": Range(-100.0, 500.0, "°C", "Boiling point"),
    "vapour_pressure_kpa": Range(0.0, 2000.0, "kPa", "Vapour pressure"),
    "pressure_bar": Range(0.01, 1000.0, "bar", "Pressure"),
    "orifice_mm": Range(0.05, 5.0, "mm", "Orifice diameter"),
}


def check_range(prop: str, value: float) -> str | None:
    """None when `value` lies in the property's physical range, else a field message."""
    bound = RANGES[prop]
    if not (bound.low <= value <= bound.high):
        return bound.message(value)
    return None


# ---- what a lab measures (a lab result's flow and droplet sizes)

# Flow rate → ml/min as (multiply, divide): a litre per hour is 1000/60 ml/min, computed as × 1000 ÷ 60.
_FLOW = {
    "ml/min": (1.0, 1.0), "mlmin": (1.0, 1.0), "cc/min": (1.0, 1.0), "cm3/min": (1.0, 1.0),
    "ml/s": (60.0, 1.0), "mls": (60.0, 1.0), "cc/s": (60.0, 1.0),
    "l/min": (1000.0, 1.0), "lpm": (1000.0, 1.0),
    "l/h": (1000.0, 60.0), "l/hr": (1000.0, 60.0), "lph": (1000.0, 60.0),
}  # fmt: skip
FLOW_CHOICES: list[tuple[str, str]] = [("ml/min", "ml/min"), ("ml/s", "ml/s"), ("L/min", "L/min"), ("L/h", "L/h")]
DROPLET_CHOICES: list[tuple[str, str]] = [("µm", "µm"), ("mm", "mm")]
_DROPLET = {"um": 1.0, "micron": 1.0, "microns": 1.0, "mm": 1000.0}


def to_ml_min(value: float | str, unit: str) -> float:
    """Flow rate in ml/min from ml/min, ml/s, L/min or L/h."""
    number = parse_number(value)
    key = normalise_unit(unit)
    if key not in _FLOW:
        raise _unknown(unit, dict(FLOW_CHOICES))
    multiply, divide = _FLOW[key]
    return number * multiply / divide


def to_um(value: float | str, unit: str) -> float:
    """A droplet size in µm from µm or mm."""
    number = parse_number(value)
    key = normalise_unit(unit)
    if key not in _DROPLET:
        raise _unknown(unit, dict(DROPLET_CHOICES))
    return number * _DROPLET[key]
