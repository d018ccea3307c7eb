"""Makers' anchors on one actuator: parse, check and format them, the same way everywhere.

The catalog's CSV import, the API's `geometry`, the actuator models and the CLI all go
through `check_anchors`, so one rule gives one message wherever an anchor is typed in.
Pure Python (no numpy, no Flask, no database): the field names are those of
`engine.types.Geometry`, so a checked dict unpacks straight into it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aerospec.engine.types import FAMILIES, FULL_CONE_INSERTS


@dataclass(frozen=True)
class AnchorSpec:
    label: str  # what a person reads, e.g. "Rated flow"
    unit: str  # "" when unitless
    low: float | None = None  # numbers: the accepted range (low exclusive when low == 0)
    high: float | None = None


#: Every anchor, in the order the catalog's CSV and pages list them.
ANCHORS: dict[str, AnchorSpec] = {
    "family": AnchorSpec("Actuator family", ""),
    "rated_flow_ml_min": AnchorSpec("Rated flow", "ml/min", 0.0, 1_000_000.0),
    "rated_pressure_bar": AnchorSpec("Rating pressure", "bar", 0.0, 1000.0),
    "rated_density_kg_m3": AnchorSpec("Rating fluid density", "kg/m³", 0.0, 25_000.0),
    "flow_number_ml_min_sqrtbar": AnchorSpec("Flow number", "ml/min/√bar", 0.0, 1_000_000.0),
    "flow_exponent": AnchorSpec("Flow exponent", "", 0.0, 1.5),
    "angle_table": AnchorSpec("Angle table", "bar:°"),
    "full_cone_insert": AnchorSpec("Full-cone insert", ""),
    "orifice_nominal": AnchorSpec("Nominal orifice", ""),
    "stem_orifice_mm": AnchorSpec("Valve stem orifice", "mm", 0.0, 10.0),
    "housing_orifice_mm": AnchorSpec("Valve housing orifice", "mm", 0.0, 10.0),
    "vapour_tap_mm": AnchorSpec("Vapour tap", "mm", 0.0, 10.0),
}
ANCHOR_FIELDS = tuple(ANCHORS)
NUMERIC_ANCHORS = tuple(k for k, s in ANCHORS.items() if s.low is not None)
VALVE_ANCHORS = ("stem_orifice_mm", "housing_orifice_mm", "vapour_tap_mm")
FAMILY_LABELS = {
    "aerosol_actuator": "Aerosol actuator (button and valve)",
    "pump_trigger": "Pump or trigger insert",
    "industrial_nozzle": "Industrial nozzle",
}
INSERT_LABELS = {"standard": "standard", "wide": "wide-angle", "square": "square-pattern",
                 "wide_square": "wide-angle square-pattern"}  # fmt: skip
#: At most this many points in an angle table (a maker's table has a handful).
MAX_ANGLE_POINTS = 20
assert set(FAMILY_LABELS) == set(FAMILIES) and set(INSERT_LABELS) == set(FULL_CONE_INSERTS)  # noqa: S101


def _number_text(value: float) -> str:
    """The shortest text that reads back as the same float ("0.7", "6", "1e-05")."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def format_angle_table(table: Iterable[Iterable[float]] | None) -> str:
    """An angle table as the CSV and CLI write it: "0.7:39,1.5:58,6:69" ("" when empty)."""
    return ",".join(f"{_number_text(p)}:{_number_text(a)}" for p, a in (table or ()))


def parse_angle_table(text: str) -> tuple[tuple[float, float], ...]:
    """Read "0.7:39,1.5:58,6:69" (bar:degrees, comma-separated) into ((0.7, 39.0), ...).

    Only the syntax is checked here (each point "pressure:angle", numbers); `check_anchors`
    checks the values. Raises ValueError with a message a person can act on."""
    text = (text or "").strip()
    if not text:
        return ()
    points = []
    for n, part in enumerate(text.split(","), start=1):
        pressure, sep, angle = part.strip().partition(":")
        if not sep:
            raise ValueError(f'point {n} ("{part.strip()}") must be pressure:angle, e.g. "1.5:58"')
        try:
            points.append((float(pressure), float(angle)))
        except ValueError:
            raise ValueError(
                f'point {n} ("{part.strip()}") must be two numbers, pressure:angle, e.g. "1.5:58"'
            ) from None
    return tuple(points)


def _in_range(name: str, value: float) -> str | None:
    spec = ANCHORS[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"{spec.label} must be a number."
    unit = f" {spec.unit}" if spec.unit else ""
    if value <= spec.low or value > spec.high:
        return f"{spec.label} must be more than {_number_text(spec.low)} and at most {_number_text(spec.high)}{unit}."
    return None


def _check_table(table) -> tuple[tuple[tuple[float, float], ...], str | None]:
    if isinstance(table, str):
        try:
            table = parse_angle_table(table)
        except ValueError as error:
            return (), f"Angle table: {error}."
    try:
        points = tuple((float(p), float(a)) for p, a in table)
    except (TypeError, ValueError):
        return (), "Angle table must be pairs of pressure (bar) and angle (°)."
    if len(points) > MAX_ANGLE_POINTS:
        return (), f"Angle table may have at most {MAX_ANGLE_POINTS} points (got {len(points)})."
    for p, a in points:
        if not (math.isfinite(p) and p > 0):
            return (), f"Angle table pressures must be positive numbers of bar (got {_number_text(p)})."
        if not (math.isfinite(a) and 0 <= a <= 180):
            return (), f"Angle table angles must be from 0 to 180° (got {_number_text(a)})."
    for (p0, _), (p1, _) in zip(points, points[1:], strict=False):
        if p1 <= p0:
            return (), (
                "Angle table pressures must increase strictly from point to point "
                f"({_number_text(p1)} bar follows {_number_text(p0)} bar)."
            )
    return points, None


def check_anchors(values: Mapping, spray_type: str | None) -> tuple[dict, dict[str, str]]:
    """Check the anchors in `values` (any subset of ANCHOR_FIELDS; missing or None = not known).

    Returns (clean, errors): `clean` has every anchor field (None, or () for the angle table,
    where not known), numbers as floats and the angle table as a tuple of (bar, °) pairs;
    `errors` maps a field to one message. The rules: numbers positive and within range; the
    angle table's pressures strictly increasing and its angles 0–180°; a rated flow and its
    pressure come together, or a flow number instead (not both); a rating fluid's density only
    with one of them; a full-cone insert only on a full cone; valve restrictions only on an
    aerosol actuator.
    """
    errors: dict[str, str] = {}
    clean: dict = dict.fromkeys(ANCHOR_FIELDS)
    clean["angle_table"] = ()
    for name in NUMERIC_ANCHORS:
        value = values.get(name)
        if value is None:
            continue
        message = _in_range(name, value)
        if message:
            errors[name] = message
        else:
            clean[name] = float(value)
    table = values.get("angle_table")
    if table not in (None, "", ()):
        clean["angle_table"], message = _check_table(table)
        if message:
            errors["angle_table"] = message
    family = values.get("family")
    if family not in (None, ""):
        if family not in FAMILIES:
            errors["family"] = f"Actuator family must be one of {', '.join(FAMILIES)} (got {family!r})."
        else:
            clean["family"] = family
    insert = values.get("full_cone_insert")
    if insert not in (None, ""):
        if insert not in FULL_CONE_INSERTS:
            errors["full_cone_insert"] = (
                f"Full-cone insert must be one of {', '.join(FULL_CONE_INSERTS)} (got {insert!r})."
            )
        elif spray_type != "full_cone":
            errors["full_cone_insert"] = "A full-cone insert applies to full-cone nozzles only; leave it empty."
        else:
            clean["full_cone_insert"] = insert
    nominal = values.get("orifice_nominal")
    if nominal is not None:
        if not isinstance(nominal, bool):
            errors["orifice_nominal"] = "Nominal orifice must be true or false."
        else:
            clean["orifice_nominal"] = nominal
    flow, pressure = values.get("rated_flow_ml_min"), values.get("rated_pressure_bar")
    if (flow is None) != (pressure is None):
        missing = "rated_pressure_bar" if pressure is None else "rated_flow_ml_min"
        errors.setdefault(missing, "A rated flow needs the pressure it was rated at, and a rating pressure its flow.")
    if flow is not None and values.get("flow_number_ml_min_sqrtbar") is not None:
        errors.setdefault("flow_number_ml_min_sqrtbar", "Give a rated flow at a pressure or a flow number, not both.")
    if (
        values.get("rated_density_kg_m3") is not None
        and flow is None
        and values.get("flow_number_ml_min_sqrtbar") is None
    ):
        errors.setdefault(
            "rated_density_kg_m3", "The rating fluid's density goes with a rated flow or a flow number; give one."
        )
    if clean["family"] not in (None, "aerosol_actuator"):
        for name in VALVE_ANCHORS:
            if values.get(name) is not None:
                errors.setdefault(name, f"{ANCHORS[name].label} applies to aerosol actuators only; leave it empty.")
    if errors:
        for name in errors:
            clean[name] = () if name == "angle_table" else None
    return clean, errors


def anchors_present(values: Mapping) -> dict[str, bool]:
    """For each anchor of one actuator: whether it is known (the angle table when it has a point)."""
    return {name: values.get(name) not in (None, "", ()) for name in ANCHOR_FIELDS}
