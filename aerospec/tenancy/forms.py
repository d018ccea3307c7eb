"""Tenant administration forms."""

from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from aerospec.forms import Form

ROLE_CHOICES = [("admin", "Admin"), ("user", "User"), ("viewer", "Viewer")]


class InviteForm(Form):
    email = EmailField("Email", validators=[DataRequired("Enter the email address to invite.")])
    role = SelectField("Role", choices=ROLE_CHOICES, default="user")


class RoleForm(Form):
    role = SelectField("Role", choices=ROLE_CHOICES)


class SettingsForm(Form):
    name = StringField("Workspace name", validators=[DataRequired("Enter the workspace name."), Length(max=120)])
    billing_email = EmailField("Billing email", validators=[DataRequired("Enter a billing email address.")])
    api_enabled_for_users = BooleanField("Members with the user role may use the API")
    share_lab_results = BooleanField("Share our lab results to improve the shared model")


class DeleteTenantForm(Form):
    confirmation = StringField(
        "Type the workspace's address name to confirm",
        validators=[DataRequired("Type the workspace's address name to confirm.")],
    )


class EmptyForm(Form):
    """A form with only the CSRF token (buttons that POST)."""
