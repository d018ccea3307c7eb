"""Outgoing webhooks: a workspace's endpoints, signed deliveries (Standard Webhooks) and their log."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from aerospec.webhooks import models  # noqa: E402,F401 - attach models


def attach_routes() -> None:
    """The workspace pages under settings (the API's routes are aerospec/api/webhooks.py)."""
    from aerospec.webhooks import views  # noqa: F401
