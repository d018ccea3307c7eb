"""Users, sign-up, login, sessions, password reset."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from aerospec.accounts import views  # noqa: E402,F401 - attach routes
