"""The configuration wizard, configurations, versions and sharing."""

from flask import Blueprint

bp = Blueprint("configurations", __name__)

from aerospec.configurations import models  # noqa: E402,F401 - attach models


def attach_routes() -> None:
    """Import the route modules (create_app calls this before registering the blueprint): not at import
    time, so importing one of this package's modules (its models, its services) loads no views."""
    from aerospec.configurations import views  # noqa: F401
