"""The REST API: JWT-authenticated JSON at /api/..., problem+json errors."""

from flask import Blueprint

from aerospec.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api")
# SECURITY: the API authenticates by bearer token, never by cookie, so CSRF cannot apply.
csrf.exempt(bp)


def attach_routes() -> None:
    """Import the route modules (create_app calls this before registering the blueprint): not at import
    time, so importing one of this package's modules (its models, its services) loads no views."""
    from aerospec.api import (  # noqa: F401
        actuators,  # the actuator catalog with its anchors
        admin_procurement,  # platform-admin commissions and revenue
        billing_invoices,  # invoices
        billing_subscriptions,  # subscribe, change plan, cancel, resume, portal
        configurations,
        feedback,  # lab results with the prediction they test
        ml,  # custom models and the training-data export
        payments,  # order checkout and payment status
        procurements,
        views,
    )
