"""Forms of the lab-results pages: the bulk CSV upload and its confirm."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField

from aerospec.forms import Form


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
