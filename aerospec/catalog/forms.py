"""Catalog forms: a custom fluid with a number and a unit per property; the CSV upload."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from aerospec.catalog import own_actuators as own
from aerospec.catalog import seed, units
from aerospec.catalog.services import FLUID_CATEGORIES
from aerospec.engine import anchors
from aerospec.forms import Form

# property → (label, help); the unit choices are units.UNIT_CHOICES[property], stored unit first.
PROPERTY_INPUTS = {
    "viscosity_cp": ("Viscosity (dynamic)", "At 25 °C. Kinematic values (cSt) are converted with the density."),
    "density_kg_m3": ("Density", "At 25 °C. A relative density (specific gravity) is multiplied by 997 kg/m³."),
    "surface_tension_mn_m": ("Surface tension", "Against air at 25 °C."),
    "flash_point_c": ("Flash point", "Closed cup if you have it. Leave empty if not flammable."),
    "vapour_pressure_kpa": ("Vapour pressure", "Absolute, at 25 °C. Needed for liquefied propellants."),
    "boiling_point_c": ("Boiling point", "Optional."),
}


def _unit_field(prop: str) -> SelectField:
    choices = units.UNIT_CHOICES[prop]
    return SelectField(f"{PROPERTY_INPUTS[prop][0]} unit", choices=choices, default=choices[0][0])


class FluidForm(Form):
    name = StringField("Name", validators=[Length(max=120)])
    category = SelectField("Category", choices=[(k, v) for k, v in FLUID_CATEGORIES.items()], default="other")
    viscosity_cp = StringField("Viscosity (dynamic)")
    viscosity_cp_unit = _unit_field("viscosity_cp")
    density_kg_m3 = StringField("Density")
    density_kg_m3_unit = _unit_field("density_kg_m3")
    surface_tension_mn_m = StringField("Surface tension")
    surface_tension_mn_m_unit = _unit_field("surface_tension_mn_m")
    flash_point_c = StringField("Flash point")
    flash_point_c_unit = _unit_field("flash_point_c")
    vapour_pressure_kpa = StringField("Vapour pressure")
    vapour_pressure_kpa_unit = _unit_field("vapour_pressure_kpa")
    boiling_point_c = StringField("Boiling point")
    boiling_point_c_unit = _unit_field("boiling_point_c")
    liquefied_propellant = BooleanField("Liquefied propellant (flash-boils when released)")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)])

    def fill_from(self, fluid) -> None:
        """Prefill the form with a fluid's stored values, each in its stored unit."""
        self.name.data = fluid.name
        self.category.data = fluid.category
        for prop in PROPERTY_INPUTS:
            value = getattr(fluid, prop)
            getattr(self, prop).data = "" if value is None else units.shown(value)
            getattr(self, f"{prop}_unit").data = units.UNIT_CHOICES[prop][0][0]
        self.liquefied_propellant.data = fluid.liquefied_propellant
        self.notes.data = fluid.notes

    def converted(self) -> tuple[dict, dict[str, list[str]], dict[str, str]]:
        """The values in stored units, a message per field that could not be read, and
        what was entered per property ("0.8 psi") for its source.

        A unit typed after the number ("0,998 g/cm3") wins over the select."""
        values: dict = {
            "name": self.name.data,
            "category": self.category.data,
            "liquefied_propellant": self.liquefied_propellant.data,
            "notes": self.notes.data,
        }
        errors: dict[str, list[str]] = {}
        entered: dict[str, str] = {}
        # Density first: a kinematic viscosity needs it.
        for prop in ("density_kg_m3", *[p for p in PROPERTY_INPUTS if p != "density_kg_m3"]):
            text = (getattr(self, prop).data or "").strip()
            if not text:
                values[prop] = None
                continue
            try:
                number, typed_unit = units.split_value_unit(text)
                unit = typed_unit or getattr(self, f"{prop}_unit").data
                values[prop] = units.to_stored(prop, number, unit, values.get("density_kg_m3"))
                entered[prop] = (
                    f"relative density {units.shown(number)}" if unit == "relative" else f"{units.shown(number)} {unit}"
                )
            except ValueError as error:
                message = str(error)
                if "kinematic" in message and "density_kg_m3" in errors:
                    message = "Fix the density first: a kinematic viscosity is converted with it."
                errors[prop] = [message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")]
                values[prop] = None
        return values, errors, entered


class ImportForm(Form):
    file = FileField("Actuator CSV file")
    valid_rows_only = BooleanField("Import the valid rows only and skip rows with errors")


# ---- a workspace's own actuator: text fields (a number with or without its unit) and a unit select beside each
# number that has units; the service converts and checks (aerospec.catalog.own_actuators.clean_values).


def _own_actuator_form() -> type:
    attrs = {
        "sku": StringField("SKU", validators=[Length(max=40)]),
        "name": StringField("Name", validators=[Length(max=160)]),
        "maker": StringField("Maker (optional)", validators=[Length(max=80)]),
        "spray_type": SelectField("Spray type", choices=list(seed.SPRAY_TYPE_LABELS.items())),
        "family": SelectField(
            "Actuator family",
            choices=[("", "Not stated (inferred from type and size)"), *anchors.FAMILY_LABELS.items()],
            default="",
        ),
        "body_material": SelectField("Body material", choices=list(seed.BODY_MATERIALS.items())),
        "seal_material": SelectField("Seal material", choices=list(seed.SEAL_MATERIALS.items())),
        "currency": StringField("Currency", default="USD", validators=[Length(max=3)]),
        "angle_table": StringField("Angle table (bar:°, comma-separated)", validators=[Length(max=400)]),
        "full_cone_insert": SelectField(
            "Full-cone insert", choices=[("", "Not stated"), *anchors.INSERT_LABELS.items()], default=""
        ),
        "orifice_nominal": SelectField(
            "Orifice size",
            choices=[("", "Not stated"), ("true", "Nominal (catalog size)"), ("false", "Measured")],
            default="",
        ),
        "notes": TextAreaField("Notes", validators=[Optional(), Length(max=2000)]),
    }
    for name, spec in own.NUMBER_FIELDS.items():
        attrs[name] = StringField(spec.label, validators=[Length(max=60)])
        if spec.kind:
            choices = own.UNIT_CHOICES[spec.kind]
            attrs[f"{name}_unit"] = SelectField(f"{spec.label} unit", choices=choices, default=choices[0][0])
    return type("OwnActuatorFormBase", (Form,), attrs)


class OwnActuatorForm(_own_actuator_form()):
    """One of the workspace's own actuators, as the page types it."""

    def raw_values(self) -> tuple[dict, dict]:
        """(the values as typed, the unit chosen beside each number) for own_actuators.clean_values."""
        values = {name: getattr(self, name).data for name in own.FIELDS}
        chosen = {name: getattr(self, f"{name}_unit").data for name, s in own.NUMBER_FIELDS.items() if s.kind}
        return values, chosen

    def fill_from(self, row) -> None:
        """Prefill with a stored actuator, each number in its stored unit."""
        for name in own.FIELDS:
            value = getattr(row, name)
            if name == "angle_table":
                value = anchors.format_angle_table(row.angle_points)
            elif name == "orifice_nominal":
                value = "" if value is None else ("true" if value else "false")
            elif name in own.NUMBER_FIELDS:
                value = "" if value is None else units.shown(float(value))
            getattr(self, name).data = "" if value is None else value


class OwnImportForm(Form):
    file = FileField("CSV file of your actuators")


class OwnImportConfirmForm(Form):
    csv_text = TextAreaField("File contents")
    filename = StringField("File name", validators=[Length(max=255)])
