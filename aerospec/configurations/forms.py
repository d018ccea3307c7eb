"""Forms of the configuration pages. Numbers are text fields: the service parses them and
its messages (with units) show beside the field, keeping what the user typed."""

from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, TextAreaField

from aerospec.catalog import units
from aerospec.configurations.models import STATUSES
from aerospec.configurations.services import NUMBERS
from aerospec.errors import ValidationFailed
from aerospec.forms import Form

STATUS_CHOICES = [(s, s.title()) for s in STATUSES]
# The numbers typed with a unit, as on the fluid form: field → (label, the units.to_stored column, its choices).
# Density first: a kinematic viscosity is converted with it.
WITH_UNIT = {
    "fluid_density_kg_m3": ("Density", "density_kg_m3"),
    "fluid_viscosity_cP": ("Viscosity", "viscosity_cp"),
    "fluid_surface_tension_mN_m": ("Surface tension", "surface_tension_mn_m"),
    "fluid_flash_point_C": ("Flash point", "flash_point_c"),
    "fluid_vapour_pressure_kPa": ("Vapour pressure", "vapour_pressure_kpa"),
    "max_pressure_bar": ("Pressure", "pressure_bar"),
}
UNIT_CHOICES = {
    name: units.PRESSURE_CHOICES if column == "pressure_bar" else units.UNIT_CHOICES[column]
    for name, (_label, column) in WITH_UNIT.items()
}


def _number(name: str) -> StringField:
    label = WITH_UNIT[name][0] if name in WITH_UNIT else NUMBERS[name][0]
    return StringField(label, render_kw={"inputmode": "decimal", "autocomplete": "off"})


def _unit(name: str) -> SelectField:
    # Checked by the conversion (an unknown unit is a field message, not a 400), so no choice validation.
    choices = UNIT_CHOICES[name]
    return SelectField(f"{WITH_UNIT[name][0]} unit", choices=choices, default=choices[0][0], validate_choice=False)


class ConfigurationForm(Form):
    """Edit every field of a configuration; fluid values and the pressure in any unit the fluid form takes."""

    name = StringField("Name", render_kw={"maxlength": 160})
    description = TextAreaField("Notes")
    fluid_name = StringField("Fluid name")
    fluid_viscosity_cP = _number("fluid_viscosity_cP")  # noqa: N815 - the seed's field names
    fluid_viscosity_cP_unit = _unit("fluid_viscosity_cP")  # noqa: N815
    fluid_density_kg_m3 = _number("fluid_density_kg_m3")
    fluid_density_kg_m3_unit = _unit("fluid_density_kg_m3")
    fluid_surface_tension_mN_m = _number("fluid_surface_tension_mN_m")  # noqa: N815
    fluid_surface_tension_mN_m_unit = _unit("fluid_surface_tension_mN_m")  # noqa: N815
    fluid_flash_point_C = _number("fluid_flash_point_C")  # noqa: N815
    fluid_flash_point_C_unit = _unit("fluid_flash_point_C")  # noqa: N815
    fluid_vapour_pressure_kPa = _number("fluid_vapour_pressure_kPa")  # noqa: N815
    fluid_vapour_pressure_kPa_unit = _unit("fluid_vapour_pressure_kPa")  # noqa: N815
    fluid_liquefied_propellant = BooleanField("Liquefied propellant (flash-boiling)")
    target_spray_cone_deg = _number("target_spray_cone_deg")
    target_spray_cone_tol_deg = _number("target_spray_cone_tol_deg")
    target_droplet_size_um = _number("target_droplet_size_um")
    target_droplet_size_tol_um = _number("target_droplet_size_tol_um")
    target_flow_rate_ml_min = _number("target_flow_rate_ml_min")
    target_flow_rate_tol_ml_min = _number("target_flow_rate_tol_ml_min")
    max_pressure_bar = _number("max_pressure_bar")
    max_pressure_bar_unit = _unit("max_pressure_bar")
    status = SelectField("Status", choices=STATUS_CHOICES)
    tags = StringField("Tags (comma-separated)")

    EDITABLE = (
        "name",
        "description",
        "fluid_name",
        *NUMBERS.keys(),
        "fluid_liquefied_propellant",
        "status",
        "tags",
    )

    def data_for_service(self, config) -> dict:
        """The fields for the service, numbers typed with a unit converted to the stored unit.

        A number sent back as this form showed it (six significant digits, in the stored unit) is the
        stored value unchanged, so saving untouched fields changes nothing. Raises ValidationFailed
        with a message at each field that could not be read."""
        data = {name: getattr(self, name).data for name in self.EDITABLE}
        errors: dict[str, list[str]] = {}
        for name, (_label, column) in WITH_UNIT.items():
            text = (data.get(name) or "").strip()
            unit = getattr(self, f"{name}_unit").data or UNIT_CHOICES[name][0][0]
            if not text:
                continue
            try:
                number, typed_unit = units.split_value_unit(text)
                unit = typed_unit or unit
                value = units.to_stored(column, number, unit, _float(data.get("fluid_density_kg_m3")))
            except ValueError as error:
                message = str(error)
                errors[name] = [f"{WITH_UNIT[name][0]}: {message}{'' if message.endswith('.') else '.'}"]
                continue
            stored = getattr(config, name)
            data[name] = stored if unit == UNIT_CHOICES[name][0][0] and units.same_as_shown(stored, value) else value
        if errors:
            raise ValidationFailed("Some fields need attention.", field_errors=errors)
        return data

    def fill(self, config) -> None:
        """Show a configuration's values rounded for reading (six significant digits), each in its stored unit."""
        for name in self.EDITABLE:
            value = getattr(config, name)
            if name == "tags":
                value = ", ".join(value or [])
            elif isinstance(value, float):
                value = units.shown(value)
            getattr(self, name).data = value
        for name in WITH_UNIT:
            getattr(self, f"{name}_unit").data = UNIT_CHOICES[name][0][0]


def _float(value) -> float | None:
    """A number the data already holds in a stored unit (the density, once converted), else None."""
    return value if isinstance(value, float) else None


class StatusTagsForm(Form):
    """The quick status and tags editor on the detail page."""

    status = SelectField("Status", choices=STATUS_CHOICES)
    tags = StringField("Tags (comma-separated)")


SHARE_CHOICES = {"view": "Can view", "edit": "Can edit"}


class ShareForm(Form):
    """Share with a team member to view or to edit (edit only for roles that may edit)."""

    user_id = SelectField("Team member", choices=[])
    permission = SelectField("Access", choices=list(SHARE_CHOICES.items()))

    def offer(self, permissions: tuple[str, ...]) -> None:
        """Offer only the access the chosen member's role can be given."""
        self.permission.choices = [(p, SHARE_CHOICES[p]) for p in permissions]


class SaveForm(Form):
    """Name the wizard's result to save it as a configuration."""

    name = StringField("Configuration name", render_kw={"maxlength": 160})
    tags = StringField("Tags (comma-separated, optional)")
