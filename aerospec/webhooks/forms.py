"""Webhook endpoint forms (the services check the URL and the events, as for the API)."""

from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from aerospec.forms import Form
from aerospec.webhooks.events import EVENTS


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EndpointForm(Form):
    url = StringField("Endpoint URL", validators=[Length(max=2000)])
    description = StringField("Description (optional)", validators=[Length(max=200)])
    event_types = CheckboxesField(
        "Events to send", choices=[(e.name, f"{e.name}: {e.label}") for e in EVENTS.values()], validate_choice=False
    )
    enabled = BooleanField("Enabled: send events to this endpoint", default=True)


class RotateForm(Form):
    grace_hours = StringField("Hours the old secret keeps signing", default="24")
