"""Procurement: live supplier quotes, sample orders, order payment and supplier price sync."""

from flask import Blueprint

bp = Blueprint("procurement", __name__)

from aerospec.procurement import models  # noqa: E402,F401 - attach models


def attach_routes() -> None:
    """Import the route modules (create_app calls this before registering the blueprint): not at import
    time, so importing one of this package's modules (its models, its services) loads no views."""
    # the platform-admin pages; order payment (checkout, polled status); order pages and the quote comparison
    from aerospec.procurement import admin_views, payment_views, views  # noqa: F401
