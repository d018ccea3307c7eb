"""Fluids, the actuator catalog, supplier SKUs and safety-data-sheet parsing."""

from flask import Blueprint

bp = Blueprint("catalog", __name__)

from aerospec.catalog import (  # noqa: E402,F401 - attach models and routes
    models,
    sds_views,  # noqa: E402,F401 - safety-data-sheet routes
    views,
)
