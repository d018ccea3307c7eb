"""Feedback: lab results recorded against a configuration's actuators, with the prediction they test."""

from flask import Blueprint

bp = Blueprint("feedback", __name__)

from aerospec.feedback import models  # noqa: E402,F401 - attach models


def attach_routes() -> None:
    """Import the route modules (create_app calls this before registering the blueprint): the lab results
    section of the configuration and order pages, the bulk CSV import pages and the custom models page (the
    API's routes are in aerospec/api/feedback.py and aerospec/api/ml.py)."""
    from aerospec.feedback import import_views, model_views, views  # noqa: F401
