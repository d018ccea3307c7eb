"""Form helpers shared by every capability's views."""

from __future__ import annotations

from flask_wtf import FlaskForm

from aerospec.errors import ValidationFailed


def apply_errors(form: FlaskForm, error: ValidationFailed) -> None:
    """Show a service's field errors on the form's fields (others go to form.form_errors)."""
    for name, messages in error.field_errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + list(messages)
        else:
            form.form_errors.extend(messages)
    if not error.field_errors and error.message:
        form.form_errors.append(error.message)
