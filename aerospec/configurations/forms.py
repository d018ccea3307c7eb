"""Forms of the configuration pages. Numbers are text fields: the service parses them and
its messages (with units) show beside the field, keeping what the user typed."""

from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, TextAreaField

from aerospec.configurations.models import STATUSES
from aerospec.configurations.services import NUMBERS
from aerospec.forms import Form

STATUS_CHOICES = [(s, s.title()) for s in STATUSES]


def _number(name: str) -> StringField:
    return StringField(NUMBERS[name][0], render_kw={"inputmode": "decimal", "autocomplete": "off"})


class ConfigurationForm(Form):
    """Edit every field of a configuration."""

    name = StringField("Name", render_kw={"maxlength": 160})
    description = TextAreaField("Notes")
    fluid_name = StringField("Fluid name")
    fluid_viscosity_cP = _number("fluid_viscosity_cP")  # noqa: N815 - the seed's field names
    fluid_density_kg_m3 = _number("fluid_density_kg_m3")
    fluid_surface_tension_mN_m = _number("fluid_surface_tension_mN_m")  # noqa: N815
    fluid_flash_point_C = _number("fluid_flash_point_C")  # noqa: N815
    fluid_vapour_pressure_kPa = _number("fluid_vapour_pressure_kPa")  # noqa: N815
    fluid_liquefied_propellant = BooleanField("Liquefied propellant (flash-boiling)")
    target_spray_cone_deg = _number("target_spray_cone_deg")
    target_spray_cone_tol_deg = _number("target_spray_cone_tol_deg")
    target_droplet_size_um = _number("target_droplet_size_um")
    target_droplet_size_tol_um = _number("target_droplet_size_tol_um")
    target_flow_rate_ml_min = _number("target_flow_rate_ml_min")
    target_flow_rate_tol_ml_min = _number("target_flow_rate_tol_ml_min")
    max_pressure_bar = _number("max_pressure_bar")
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

    def data_for_service(self) -> dict:
        return {name: getattr(self, name).data for name in self.EDITABLE}

    def fill(self, config) -> None:
        """Show a configuration's values: 12 significant digits drop float noise but keep every
        digit a person or a unit conversion gave, so saving untouched fields changes nothing."""
        for name in self.EDITABLE:
            value = getattr(config, name)
            if name == "tags":
                value = ", ".join(value or [])
            elif isinstance(value, float):
                value = f"{value:.12g}"
            getattr(self, name).data = value


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
