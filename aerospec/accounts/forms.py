"""Account forms (flask-wtf: CSRF included)."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class SignupForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=120)])
    company = StringField("Company", validators=[DataRequired("Enter your company's name."), Length(max=120)])
    email = EmailField("Work email", validators=[DataRequired("Enter an email address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Choose a password.")])


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Remember me on this device")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("Choose a new password.")])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])
    password = PasswordField("New password", validators=[DataRequired("Choose a new password.")])


class AcceptInvitationForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=120)])
    password = PasswordField("Password", validators=[DataRequired("Choose a password.")])
