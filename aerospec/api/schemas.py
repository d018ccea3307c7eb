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
        message = _MESSAGES.get(item["type"], item["msg"])
        if message not in errors.setdefault(field, []):
            errors[field].append(message)
    return errors
