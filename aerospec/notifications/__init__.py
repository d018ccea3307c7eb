"""Email rendering and sending; the development outbox."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

from aerospec.notifications import views  # noqa: E402,F401 - attach routes
