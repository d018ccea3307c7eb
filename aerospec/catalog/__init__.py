"""Fluids, the actuator catalog, supplier SKUs and safety-data-sheet parsing."""

from flask import Blueprint

bp = Blueprint("catalog", __name__)

from aerospec.catalog import models  # noqa: E402,F401 - attach models


def attach_routes() -> None:
    """Import the route modules (create_app calls this before registering the blueprint): not at import
    time, so importing one of this package's modules (its models, its services) loads no views."""
    from aerospec.catalog import own_views, sds_views, views  # noqa: F401 - pages, own actuators, safety data sheets
