"""The API keys page's forms (workspace settings → API keys)."""

from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import Optional

from aerospec.forms import Form
from aerospec.tenancy.permissions import KEY_RESOURCES

ACCESS_CHOICES = [("", "No access"), ("read", "Read"), ("write", "Read and write")]
GRACE_CHOICES = [
    (0, "at once"),
    (1, "after 1 hour"),
    (24, "after 24 hours"),
    (72, "after 3 days"),
    (168, "after 7 days"),
]
RESOURCE_LABELS = {
    "configurations": "Configurations",
    "procurements": "Orders (procurements)",
    "feedback": "Lab results (feedback)",
    "analytics": "Analytics",
    "webhooks": "Webhooks",
    "keys": "API keys",
}


# The scopes the page offers: those some route checks today (all of them: analytics and webhooks have their API now).
PAGE_RESOURCES = ("configurations", "procurements", "feedback", "analytics", "webhooks", "keys")
COMING_SOON_RESOURCES = tuple(r for r in KEY_RESOURCES if r not in PAGE_RESOURCES)


class ApiKeyForm(Form):
    name = StringField("Name")
    expires_in_days = IntegerField(
        "Expires after (days)",
        validators=[Optional()],
        render_kw={"inputmode": "numeric"},
    )

    def scope_fields(self):
        return [getattr(self, f"scope_{resource}") for resource in PAGE_RESOURCES]

    def scopes(self) -> list[str]:
        return [f"{r}:{getattr(self, f'scope_{r}').data}" for r in PAGE_RESOURCES if getattr(self, f"scope_{r}").data]


for _resource in PAGE_RESOURCES:
    setattr(
        ApiKeyForm, f"scope_{_resource}", SelectField(RESOURCE_LABELS[_resource], choices=ACCESS_CHOICES, default="")
    )


class RotateForm(Form):
    grace_period_hours = SelectField("Old key stops", choices=GRACE_CHOICES, coerce=int, default=24)
