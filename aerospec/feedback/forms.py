"""The lab-result form: numbers typed with a unit, converted to the units a result is stored in.

Numbers are text fields (decimal commas and units typed in are read, as on the fluid form); every
message names the field and keeps what the person typed.

Also the bulk CSV upload and its confirm.
"""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField

from aerospec.api.schemas import FEEDBACK_RANGES
from aerospec.catalog import units
from aerospec.errors import ValidationFailed
from aerospec.feedback.models import METHODS
from aerospec.forms import Form

METHOD_LABELS = {
    "laser_diffraction": "Laser diffraction",
    "pdpa": "PDPA (phase Doppler)",
    "imaging": "Imaging",
    "other": "Other",
}
TEMPERATURE_CHOICES = [("°C", "°C"), ("°F", "°F"), ("K", "K")]
#: Form field → (label, its unit select or None, the conversion to the stored unit; None: degrees only).
NUMBERS = {
    "pressure_bar": ("Pressure tested", "pressure_unit", units.to_bar),
    "flow_rate_actual_ml_min": ("Flow rate", "flow_unit", units.to_ml_min),
    "spray_cone_angle_actual": ("Cone angle (°)", None, None),
    "dv10_um": ("Dv10", "size_unit", units.to_um),
    "dv50_um": ("Dv50", "size_unit", units.to_um),
    "dv90_um": ("Dv90", "size_unit", units.to_um),
    "smd_um": ("SMD (D32)", "size_unit", units.to_um),
    "temperature_c": ("Temperature", "temperature_unit", units.to_celsius),
}
STORED_UNITS = {
    "pressure_bar": "bar",
    "flow_rate_actual_ml_min": "ml/min",
    "spray_cone_angle_actual": "°",
    "dv10_um": "µm",
    "dv50_um": "µm",
    "dv90_um": "µm",
    "smd_um": "µm",
    "temperature_c": "°C",
}


def _number(name: str) -> StringField:
    return StringField(NUMBERS[name][0], render_kw={"inputmode": "decimal", "autocomplete": "off"})


def _unit(label: str, choices: list[tuple[str, str]]) -> SelectField:
    # Checked by the conversion (an unknown unit is a field message, not a 400).
    return SelectField(label, choices=choices, default=choices[0][0], validate_choice=False)


class LabResultForm(Form):
    """One actuator tested: which, at what pressure, what was measured, by whom, and the instrument's file."""

    actuator_sku = SelectField("Actuator tested", choices=[], validate_choice=False)
    pressure_bar = _number("pressure_bar")
    pressure_unit = _unit("Pressure unit", units.PRESSURE_CHOICES)
    flow_rate_actual_ml_min = _number("flow_rate_actual_ml_min")
    flow_unit = _unit("Flow rate unit", units.FLOW_CHOICES)
    spray_cone_angle_actual = _number("spray_cone_angle_actual")
    dv10_um = _number("dv10_um")
    dv50_um = _number("dv50_um")
    dv90_um = _number("dv90_um")
    smd_um = _number("smd_um")
    size_unit = _unit("Droplet size unit", units.DROPLET_CHOICES)
    measurement_method = SelectField(
        "Droplet sizing method",
        choices=[("", "Choose (needed with droplet sizes)"), *METHOD_LABELS.items()],
        validate_choice=False,
    )
    temperature_c = _number("temperature_c")
    temperature_unit = _unit("Temperature unit", TEMPERATURE_CHOICES)
    measured_by = StringField("Measured by", render_kw={"maxlength": 120, "autocomplete": "off"})
    rating = SelectField(
        "Rating",
        choices=[("", "No rating"), *[(str(n), f"{n} of 5") for n in range(1, 6)]],
        validate_choice=False,
    )
    pass_fail = SelectField(
        "Verdict", choices=[("", "Not judged"), ("pass", "Pass"), ("fail", "Fail")], validate_choice=False
    )
    issue_description = TextAreaField("Notes", render_kw={"maxlength": 2000, "rows": 3})
    instrument_file = FileField(
        "Instrument export (CSV, up to 1 MB)", render_kw={"accept": ".csv,.tsv,.txt,text/csv,text/plain"}
    )
    # A previewed instrument file travels back with the form until it is confirmed (signed: attachments).
    pending_content = HiddenField()
    pending_name = HiddenField()
    pending_token = HiddenField()

    MEASURED = ("flow_rate_actual_ml_min", "spray_cone_angle_actual", "dv10_um", "dv50_um", "dv90_um", "smd_um")

    def data_for_service(self, *, with_identity: bool = True) -> dict:
        """The typed values in stored units (bar, ml/min, °, µm, °C) and the choices, checked; ValidationFailed
        with a message at each field that cannot be used. `with_identity`: include the SKU and the pressure."""
        errors: dict[str, list[str]] = {}
        data: dict = {}
        for name, (label, unit_field, convert) in NUMBERS.items():
            if name == "pressure_bar" and not with_identity:
                continue
            text = (getattr(self, name).data or "").strip()
            if not text:
                data[name] = None
                continue
            try:
                if convert is None:
                    value = units.parse_number(text.removesuffix("°").strip())
                else:
                    number, typed = units.split_value_unit(text)
                    unit = typed or getattr(self, unit_field).data or ""
                    value = convert(number, unit)
            except ValueError as error:
                message = str(error)
                errors[name] = [f"{label}: {message}{'' if message.endswith('.') else '.'}"]
                continue
            low, high, unit_word = FEEDBACK_RANGES[name]
            open_low = name in ("pressure_bar", "spray_cone_angle_actual", "flow_rate_actual_ml_min")
            if (value <= low if open_low else value < low) or value > high:
                errors[name] = [
                    f"{label} must be {'above' if open_low else 'at least'} {low:g} and at most {high:g} {unit_word} "
                    f"(you gave {units.shown(value)} {unit_word})."
                ]
                continue
            data[name] = value
        if with_identity:
            if not self.actuator_sku.data:
                errors["actuator_sku"] = ["Choose the actuator you tested."]
            if data.get("pressure_bar") is None and "pressure_bar" not in errors:
                errors["pressure_bar"] = ["Give the pressure the actuator was tested at."]
            data["actuator_sku"] = self.actuator_sku.data or ""
        method = self.measurement_method.data or None
        if method is not None and method not in METHODS:
            errors["measurement_method"] = ["Choose a method from the list."]
        data["measurement_method"] = method
        rating = self.rating.data or None
        if rating is not None and rating not in {"1", "2", "3", "4", "5"}:
            errors["rating"] = ["Choose a rating from 1 to 5."]
        data["rating"] = int(rating) if rating and "rating" not in errors else None
        verdict = self.pass_fail.data or None
        if verdict is not None and verdict not in ("pass", "fail"):
            errors["pass_fail"] = ["Choose pass, fail or not judged."]
        data["pass_fail"] = verdict
        data["measured_by"] = (self.measured_by.data or "").strip() or None
        data["issue_description"] = (self.issue_description.data or "").strip() or None
        for name, limit in (("measured_by", 120), ("issue_description", 2000)):
            if data[name] and len(data[name]) > limit:
                errors[name] = [f"At most {limit:,} characters (you gave {len(data[name]):,})."]
        if errors:
            raise ValidationFailed("Some fields need attention.", field_errors=errors)
        return data

    def fill(self, row) -> None:
        """Show a stored result for editing, each number in its stored unit."""
        for name in NUMBERS:
            value = getattr(row, name)
            getattr(self, name).data = units.shown(value) if value is not None else ""
        self.pressure_unit.data, self.flow_unit.data, self.size_unit.data = "bar", "ml/min", "µm"
        self.temperature_unit.data = "°C"
        self.measurement_method.data = row.measurement_method or ""
        self.rating.data = str(row.rating) if row.rating else ""
        self.pass_fail.data = row.pass_fail or ""
        self.measured_by.data = row.measured_by or ""
        self.issue_description.data = row.issue_description or ""


class ImportForm(Form):
    """Upload a CSV of lab results for a preview (nothing is stored yet)."""

    file = FileField("CSV file of lab results")
    order = SelectField("Order the samples came from (optional)", choices=[("", "Not tied to an order")])


class ConfirmImportForm(Form):
    """Store what the preview showed: the file's text (base64) and its token travel with the form."""

    content = HiddenField()
    token = HiddenField()
    filename = HiddenField()
    order = HiddenField()


MODEL_TYPE_LABELS = {
    "shrinkage": "Per-actuator correction (shrinkage)",
    "gradient_boosting": "Gradient boosting (scikit-learn)",
}
MODEL_TYPE_HELP = {
    "shrinkage": (
        "Learns how far the physics is off for each actuator, its family and overall, and trusts an actuator's own "
        "results more as they add up. Works from 4 results; it does not learn how the error changes with pressure "
        "or fluid."
    ),
    "gradient_boosting": (
        "Learns how the error changes with pressure, orifice size, fluid properties and family, from decision trees "
        "trained on your results. Needs at least 12 results, and does best with many results over a range of "
        "pressures and fluids."
    ),
}


class TrainModelForm(Form):
    """Train a custom model: its name, its type, and which of the workspace's lab results it learns from."""

    name = StringField("Name", render_kw={"maxlength": 80, "autocomplete": "off"})
    model_type = RadioField(
        "Model type", choices=list(MODEL_TYPE_LABELS.items()), default="shrinkage", validate_choice=False
    )
    fluid = SelectField("Fluid", choices=[], validate_choice=False)
    sku = SelectField("Actuator", choices=[], validate_choice=False)
    date_from = StringField("Recorded from", render_kw={"type": "date"})
    date_to = StringField("Recorded until", render_kw={"type": "date"})

    def body(self) -> dict:
        """The fields as the API's TrainCustomModelBody takes them (blank selections left out)."""
        data = {"name": self.name.data or "", "model_type": self.model_type.data or ""}
        for key in ("fluid", "sku", "date_from", "date_to"):
            value = (getattr(self, key).data or "").strip()
            if value:
                data[key] = value
        return data
