"""Request bodies of the API (pydantic v2), and their errors as per-field messages.

Types and presence are checked here; the services validate meaning (email syntax,
password strength, roles) so the web forms and the API give the same messages.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from aerospec.engine import anchors
from aerospec.engine.types import FAMILIES, FULL_CONE_INSERTS, SPRAY_TYPES


class Body(BaseModel):
    """A JSON object with exactly the documented fields."""

    model_config = ConfigDict(extra="forbid", strict=True)


class SignupBody(Body):
    email: str
    password: str
    name: str
    company: str


class LoginBody(Body):
    email: str
    password: str
    tenant: str | None = None


class RefreshBody(Body):
    refresh_token: str


class ForgotPasswordBody(Body):
    email: str


class ResetPasswordBody(Body):
    token: str
    password: str


class TenantUpdateBody(Body):
    name: str | None = None
    billing_email: str | None = None


class TenantDeleteBody(Body):
    confirmation: str


class InviteBody(Body):
    email: str
    role: str


class RoleBody(Body):
    role: str


class NewAccountBody(Body):
    name: str
    password: str


class GeometryBody(Body):
    """A typed-in geometry for POST /api/configurations/predict, with any makers' anchors.

    Types and ranges are checked field by field; the rules between anchors (a rating with its
    pressure, an insert only on a full cone, the angle table's order...) by engine.anchors,
    each reported under its own field (geometry.<field>)."""

    model_config = {**Body.model_config, "strict": False}

    type: Literal[SPRAY_TYPES]
    orifice_mm: float = Field(gt=0, le=50)
    swirl_chamber_mm: float | None = Field(default=None, gt=0, le=200)
    inlet_area_mm2: float | None = Field(default=None, gt=0, le=1000)
    orifice_length_mm: float | None = Field(default=None, gt=0, le=200)
    family: Literal[FAMILIES] | None = None
    rated_flow_ml_min: float | None = None
    rated_pressure_bar: float | None = None
    rated_density_kg_m3: float | None = None
    flow_number_ml_min_sqrtbar: float | None = None
    flow_exponent: float | None = None
    angle_table: list[tuple[float, float]] | None = Field(default=None, max_length=anchors.MAX_ANGLE_POINTS)
    full_cone_insert: Literal[FULL_CONE_INSERTS] | None = None
    orifice_nominal: bool | None = None
    stem_orifice_mm: float | None = None
    housing_orifice_mm: float | None = None
    vapour_tap_mm: float | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value, info):
        if info.field_name in ("type", "family", "full_cone_insert"):
            return value
        if isinstance(value, str):
            raise ValueError(
                "Must be a number." if info.field_name != "angle_table" else "Must be a list of [bar, degrees] pairs."
            )
        if isinstance(value, bool) and info.field_name != "orifice_nominal":
            raise ValueError("Must be a number.")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("Must be a finite number.")
        return value

    @model_validator(mode="after")
    def _anchors_agree(self):
        _, problems = anchors.check_anchors(self.anchor_values(), self.type)
        if problems:
            raise PydanticCustomError("anchors", "Check the makers' figures.", {"fields": problems})
        return self

    def anchor_values(self) -> dict:
        """The anchors as engine.anchors and engine.Geometry name them (None = not given)."""
        values = {name: getattr(self, name) for name in anchors.ANCHOR_FIELDS}
        values["angle_table"] = tuple(self.angle_table or ())
        return values


_MESSAGES = {
    "missing": "This field is required.",
    "extra_forbidden": "Unknown field.",
    "string_type": "Must be a string.",
}


def field_errors(error: ValidationError) -> dict[str, list[str]]:
    """Pydantic's errors as {field: [messages]} in plain words."""
    errors: dict[str, list[str]] = {}
    for item in error.errors(include_url=False):
        if item["type"] == "none_required":
            continue  # the other half of an optional field's union; "Must be a string." says it
        if item["type"] == "anchors":  # one error from a model's cross-field check: a message per field
            prefix = ".".join(str(part) for part in item["loc"])
            for name, message in item["ctx"]["fields"].items():
                errors.setdefault(f"{prefix}.{name}" if prefix else name, []).append(message)
            continue
        # `str | None` fields report one error per union member; the first names the field.
        loc = [str(part) for part in item["loc"] if part not in ("str", "none")]
        field = ".".join(loc) or "body"
        message = _MESSAGES.get(item["type"], item["msg"].removeprefix("Value error, "))
        if message not in errors.setdefault(field, []):
            errors[field].append(message)
    return errors


# -- lab results (POST /api/feedback, PUT /api/feedback/<id>) ----------------------------------

#: Physical ranges of what a lab measures; a value outside is a typo or a wrong unit.
FEEDBACK_RANGES = {
    "pressure_bar": (0.0, 1000.0, "bar"),
    "spray_cone_angle_actual": (0.0, 180.0, "°"),
    "flow_rate_actual_ml_min": (0.0, 1_000_000.0, "ml/min"),
    "dv10_um": (0.1, 5000.0, "µm"),
    "dv50_um": (0.1, 5000.0, "µm"),
    "dv90_um": (0.1, 5000.0, "µm"),
    "smd_um": (0.1, 5000.0, "µm"),
    "temperature_c": (-60.0, 200.0, "°C"),
}
#: Ranges with an open lower end (a pressure, an angle or a flow of exactly 0 measures nothing).
_OPEN_LOW = {"pressure_bar", "spray_cone_angle_actual", "flow_rate_actual_ml_min"}
_TEXT_LIMITS = {"issue_description": 2000, "test_conditions": 2000, "measured_by": 120}


class FeedbackFields(Body):
    """What a lab measured and said; every field optional here, `FeedbackBody` adds what identifies a test."""

    model_config = {**Body.model_config, "strict": False}

    procurement_id: str | None = None
    spray_cone_angle_actual: float | None = None
    flow_rate_actual_ml_min: float | None = None
    dv10_um: float | None = None
    dv50_um: float | None = None
    dv90_um: float | None = None
    smd_um: float | None = None
    droplet_size_range_um: list[float] | None = None
    measurement_method: Literal["laser_diffraction", "pdpa", "imaging", "other"] | None = None
    temperature_c: float | None = None
    measured_by: str | None = None
    rating: int | None = Field(default=None, ge=1, le=5, strict=True)
    pass_fail: Literal["pass", "fail"] | None = None
    issue_description: str | None = None
    prediction_matched: bool | None = Field(default=None, strict=True)
    confidence_in_prediction: int | None = Field(default=None, ge=1, le=5, strict=True)
    test_conditions: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _types(cls, value, info):
        name = info.field_name
        if value is None:
            return value
        if name in FEEDBACK_RANGES or name == "droplet_size_range_um":
            items = value if name == "droplet_size_range_um" else [value]
            if name == "droplet_size_range_um" and (not isinstance(value, list) or len(value) != 2):
                raise ValueError("Give [smallest, largest] in µm: two numbers.")
            for item in items:
                if isinstance(item, bool) or not isinstance(item, int | float):
                    raise ValueError("Must be a number.")
                if isinstance(item, float) and not math.isfinite(item):
                    raise ValueError("Must be a finite number.")
                low, high, unit = FEEDBACK_RANGES.get(name, FEEDBACK_RANGES["dv50_um"])
                opening = ">" if name in _OPEN_LOW else "≥"
                if not ((item > low if name in _OPEN_LOW else item >= low) and item <= high):
                    raise ValueError(f"Must be {opening} {low:g} and ≤ {high:g} {unit} (got {item:g}).")
        if name in _TEXT_LIMITS and isinstance(value, str) and len(value) > _TEXT_LIMITS[name]:
            raise ValueError(f"At most {_TEXT_LIMITS[name]} characters.")
        return value


class FeedbackBody(FeedbackFields):
    """A lab result: the configuration, the ranked actuator tested, the pressure tested, and what was measured."""

    configuration_id: str
    actuator_sku: str
    pressure_bar: float

    @field_validator("actuator_sku", mode="before")
    @classmethod
    def _sku(cls, value):
        if isinstance(value, str) and not (1 <= len(value.strip()) <= 40):
            raise ValueError("A catalog SKU: 1 to 40 characters.")
        return value.strip() if isinstance(value, str) else value


# ---- API keys (aerospec/api/keys.py); the services check meaning (scope names, ranges) for page and API alike


class ApiKeyCreateBody(Body):
    """A new key: its name, scopes (e.g. "configurations:read") and an optional lifetime in days."""

    name: str
    scopes: list[str] = Field(max_length=12)
    expires_in_days: int | None = None


class ApiKeyRotateBody(Body):
    """How long the old key keeps working beside its replacement, in hours (0: it stops at once; default 24)."""

    grace_period_hours: int | None = None


class ApiKeyOut(BaseModel):
    """A key as the API shows it; `key` (the secret) only in the answer that created it."""

    id: str
    name: str
    hint: str
    mode: Literal["live", "test"]
    scopes: list[str]
    status: Literal["active", "expiring", "expired", "revoked"]
    created_at: str | None
    expires_at: str | None
    revoked_at: str | None
    replaced_by_id: str | None
    last_used_at: str | None
    last_used_ip: str | None
    key: str | None = None


# ---- outgoing webhooks (aerospec/api/webhooks.py); the services check URLs and event names


class WebhookEndpointBody(Body):
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(max_length=50)
    description: str = Field(default="", max_length=200)
    enabled: bool = True


class WebhookEndpointUpdateBody(Body):
    url: str | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = Field(default=None, max_length=50)
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None


class RotateSecretBody(Body):
    # Hours the old secret keeps signing beside the new one (0: stop at once).
    grace_hours: float = Field(default=24, ge=0, le=168, allow_inf_nan=False)
