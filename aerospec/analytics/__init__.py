"""Analytics for a workspace: prediction accuracy against lab results, usage over time, the most used SKUs
and fluids. Computed from the rows the app already keeps (lab results with their stored prediction,
configurations, orders, API-call roll-ups, memberships and the audit log); nothing here stores anything."""

from flask import Blueprint

bp = Blueprint("analytics", __name__)


def attach_routes() -> None:
    """Import the route modules (create_app calls this before registering the blueprint): not at import
    time, so importing one of this package's modules (its services, its charts) loads no views."""
    from aerospec.analytics import views  # noqa: F401
