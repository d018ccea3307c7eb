"""Email rendering and sending; the development outbox."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)


def attach_routes() -> None:
    """Import the route modules (create_app calls this before registering the blueprint): not at import
    time, so importing one of this package's modules (its models, its services) loads no views."""
    from aerospec.notifications import views  # noqa: F401
