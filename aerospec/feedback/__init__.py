"""Feedback: lab results recorded against a configuration's actuators, with the prediction they test."""

from flask import Blueprint

bp = Blueprint("feedback", __name__)

from aerospec.feedback import models  # noqa: E402,F401 - attach models


def attach_routes() -> None:
    """The custom models page; lab results are recorded and read through the API (aerospec/api/feedback.py)."""
    from aerospec.feedback import views  # noqa: F401
