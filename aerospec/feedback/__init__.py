"""Feedback: lab results recorded against a configuration's actuators, with the prediction they test."""

from flask import Blueprint

bp = Blueprint("feedback", __name__)

from aerospec.feedback import models  # noqa: E402,F401 - attach models


def attach_routes() -> None:
    """Import the route modules (the API's are in aerospec/api/feedback.py): the bulk CSV import pages."""
    from aerospec.feedback import import_views  # noqa: F401
