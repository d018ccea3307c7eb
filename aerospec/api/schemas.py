"""Request bodies of the API (pydantic v2), and their errors as per-field messages.

Types and presence are checked here; the services validate meaning (email syntax,
password strength, roles) so the web forms and the API give the same messages.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError


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
        # `str | None` fields report one error per union member; the first names the field.
        loc = [str(part) for part in item["loc"] if part not in ("str", "none")]
        field = ".".join(loc) or "body"
        message = _MESSAGES.get(item["type"], item["msg"])
        if message not in errors.setdefault(field, []):
            errors[field].append(message)
    return errors
