"""Forms of the safety-data-sheet pages: the upload and the review of extracted values."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from aerospec.catalog.sds_services import REVIEW_PROPERTIES, UNIT_LABELS
from aerospec.catalog.services import FLUID_CATEGORIES
from aerospec.forms import Form


class SdsUploadForm(Form):
    file = FileField(
        "Safety data sheet (PDF, up to 10 MB)",
        validators=[FileRequired("Choose the safety data sheet PDF to upload.")],
    )


class SdsReviewForm(Form):
    """Name plus a number and a unit for each property; the fields are added below."""

    name = StringField("Fluid name", validators=[DataRequired("Name the fluid."), Length(max=120)])
    # The fluid form's categories: the fluid lists filter by them. The service checks the
    # choice, so a bad one gets its message ("Choose a category from the list.").
    category = SelectField("Category", choices=list(FLUID_CATEGORIES.items()), default="other", validate_choice=False)


for _prop in REVIEW_PROPERTIES:
    # Text, not a number input: people type decimal commas ("0,998") and units.parse_number reads them.
    setattr(SdsReviewForm, f"{_prop.key}_value", StringField(f"{_prop.label} value"))
    setattr(
        SdsReviewForm,
        f"{_prop.key}_unit",
        SelectField(f"{_prop.label} unit", choices=[(u, UNIT_LABELS.get(u, u)) for u in _prop.units]),
    )
