"""Catalog forms: a custom fluid with a number and a unit per property; the CSV upload."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from aerospec.catalog import units
from aerospec.catalog.services import FLUID_CATEGORIES

VISCOSITY_UNITS = [("cP", "cP"), ("mPa·s", "mPa·s"), ("Pa·s", "Pa·s"), ("cSt", "cSt (uses the density)"),
                   ("mm²/s", "mm²/s (uses the density)")]  # fmt: skip
DENSITY_UNITS = [
    ("kg/m³", "kg/m³"),
    ("g/cm³", "g/cm³"),
    ("g/mL", "g/mL"),
    ("relative", "relative density (water = 1)"),
]
SURFACE_TENSION_UNITS = [("mN/m", "mN/m"), ("dyn/cm", "dyn/cm"), ("N/m", "N/m")]
TEMPERATURE_UNITS = [("°C", "°C"), ("°F", "°F"), ("K", "K")]
PRESSURE_UNITS = [("kPa", "kPa"), ("bar", "bar"), ("psi", "psi"), ("MPa", "MPa")]

# property → (label, unit choices, quantity for units.parse, help)
PROPERTY_INPUTS = {
    "viscosity_cp": (
        "Viscosity (dynamic)", VISCOSITY_UNITS, "viscosity",
        "At 25 °C. Kinematic values (cSt) are converted with the density.",
    ),
    "density_kg_m3": (
        "Density", DENSITY_UNITS, "density",
        "At 25 °C. A relative density (specific gravity) is multiplied by 997 kg/m³.",
    ),
    "surface_tension_mn_m": (
        "Surface tension", SURFACE_TENSION_UNITS, "surface_tension", "Against air at 25 °C.",
    ),
    "flash_point_c": (
        "Flash point", TEMPERATURE_UNITS, "temperature",
        "Closed cup if you have it. Leave empty if not flammable.",
    ),
    "vapour_pressure_kpa": (
        "Vapour pressure", PRESSURE_UNITS, "pressure",
        "Absolute, at 25 °C. Needed for liquefied propellants.",
    ),
    "boiling_point_c": ("Boiling point", TEMPERATURE_UNITS, "temperature", "Optional."),
}  # fmt: skip


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


class FluidForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=120)])
    category = SelectField("Category", choices=[(k, v) for k, v in FLUID_CATEGORIES.items()], default="other")
    viscosity_cp = StringField("Viscosity (dynamic)")
    viscosity_cp_unit = SelectField("Viscosity unit", choices=VISCOSITY_UNITS, default="cP")
    density_kg_m3 = StringField("Density")
    density_kg_m3_unit = SelectField("Density unit", choices=DENSITY_UNITS, default="kg/m³")
    surface_tension_mn_m = StringField("Surface tension")
    surface_tension_mn_m_unit = SelectField("Surface tension unit", choices=SURFACE_TENSION_UNITS, default="mN/m")
    flash_point_c = StringField("Flash point")
    flash_point_c_unit = SelectField("Flash point unit", choices=TEMPERATURE_UNITS, default="°C")
    vapour_pressure_kpa = StringField("Vapour pressure")
    vapour_pressure_kpa_unit = SelectField("Vapour pressure unit", choices=PRESSURE_UNITS, default="kPa")
    boiling_point_c = StringField("Boiling point")
    boiling_point_c_unit = SelectField("Boiling point unit", choices=TEMPERATURE_UNITS, default="°C")
    liquefied_propellant = BooleanField("Liquefied propellant (flash-boils when released)")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)])

    def fill_from(self, fluid) -> None:
        """Prefill the form with a fluid's stored values, in stored units."""
        self.name.data = fluid.name
        self.category.data = fluid.category
        for prop in PROPERTY_INPUTS:
            getattr(self, prop).data = _fmt(getattr(fluid, prop))
        self.liquefied_propellant.data = fluid.liquefied_propellant
        self.notes.data = fluid.notes

    def converted(self) -> tuple[dict, dict[str, list[str]]]:
        """The values in stored units, and a message per field that could not be read.

        A unit typed after the number ("0,998 g/cm3") wins over the select."""
        values: dict = {
            "name": self.name.data,
            "category": self.category.data,
            "liquefied_propellant": self.liquefied_propellant.data,
            "notes": self.notes.data,
        }
        errors: dict[str, list[str]] = {}
        # Density first: a kinematic viscosity needs it.
        for prop in ("density_kg_m3", *[p for p in PROPERTY_INPUTS if p != "density_kg_m3"]):
            label, _choices, quantity, _help = PROPERTY_INPUTS[prop]
            text = (getattr(self, prop).data or "").strip()
            if not text:
                values[prop] = None
                continue
            try:
                number, typed_unit = units.split_value_unit(text)
                unit = typed_unit or getattr(self, f"{prop}_unit").data
                values[prop] = units.parse_quantity(f"{number} {unit}", quantity, values.get("density_kg_m3"))
            except ValueError as error:
                message = str(error)
                if "kinematic" in message and "density_kg_m3" in errors:
                    message = "Fix the density first: a kinematic viscosity is converted with it."
                errors[prop] = [message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")]
                values[prop] = None
        return values, errors


class ImportForm(FlaskForm):
    file = FileField("Actuator CSV file")
    valid_rows_only = BooleanField("Import the valid rows only and skip rows with errors")
