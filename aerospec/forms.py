"""The base class of every page's form (as models.py holds the models' base): no capability imports another for it."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import FieldList, FormField

from aerospec import inputs


class Form(FlaskForm):
    """The base of every page's form: what no database can store gets a message on its field.

    A NUL byte in any text or file name, and a number beyond what the columns and formulas take
    (1e400 parses as infinity, a 400-digit quantity as a 1,329-bit integer), are refused here with
    the form shown again, before any validator computes with them or any service stores them.
    """

    def validate(self, extra_validators=None) -> bool:
        unusable = _unusable(self)
        valid = super().validate(extra_validators)
        for field, message, is_number in unusable:
            if is_number and field.errors:
                continue  # its own range message ("A whole number from 1 to 1,000,000.") says it best
            if message not in field.errors:
                field.errors = [*field.errors, message]
        return valid and not unusable


def _leaves(form) -> list:
    """Every input field of a form, inside its sub-forms (FormField) and repeated rows (FieldList) too."""
    out = []
    for field in form:
        if isinstance(field, FormField):
            out.extend(_leaves(field.form))
        elif isinstance(field, FieldList):
            for entry in field.entries:
                out.extend(_leaves(entry.form) if isinstance(entry, FormField) else [entry])
        else:
            out.append(field)
    return out


def _unusable(form) -> list[tuple]:
    """(field, message, is_number) for each field holding what cannot be stored or computed with."""
    found = []
    for field in _leaves(form):
        texts = [raw if isinstance(raw, str) else getattr(raw, "filename", None) for raw in field.raw_data or ()]
        message = next((m for t in texts if isinstance(t, str) and (m := inputs.text_problem(t))), None)
        if message:
            found.append((field, message, False))
        elif isinstance(field.data, (int, float)) and (message := inputs.number_problem(field.data)):
            field.data = None  # validators such as NumberRange would overflow computing with it
            found.append((field, message, True))
    return found
