"""Account forms (flask-wtf: CSRF included)."""

from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired

from aerospec.forms import Form


class SignupForm(Form):
    """Fields are validated together by the sign-up service, so every message shows at once."""

    name = StringField("Your name")
    company = StringField("Company")
    email = EmailField("Work email")
    password = PasswordField("Password")


class LoginForm(Form):
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Remember me on this device")


class ForgotPasswordForm(Form):
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")])


class ResetPasswordForm(Form):
    password = PasswordField("New password", validators=[DataRequired("Choose a new password.")])


class ChangePasswordForm(Form):
    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])
    password = PasswordField("New password", validators=[DataRequired("Choose a new password.")])


class AcceptInvitationForm(Form):
    """Validated by the account service (name, password strength) in one pass."""

    name = StringField("Your name")
    password = PasswordField("Password")
