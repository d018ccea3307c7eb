"""The REST API: JWT-authenticated JSON at /api/..., problem+json errors."""

from flask import Blueprint

from aerospec.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api")

from aerospec.api import models  # noqa: E402,F401 - attach models (API keys)

# SECURITY: the API authenticates by bearer token, never by cookie, so CSRF cannot apply.
csrf.exempt(bp)


def attach_routes() -> None:
    """Import the route modules (create_app calls this before registering the blueprint): not at import
    time, so importing one of this package's modules (its models, its services) loads no views."""
    from aerospec.api import (  # noqa: F401
        actuators,  # the actuator catalog with its anchors
        admin_procurement,  # platform-admin commissions and revenue
        analytics,  # accuracy, usage and the most used SKUs and fluids
        billing_invoices,  # invoices
        billing_subscriptions,  # subscribe, change plan, cancel, resume, portal
        configurations,
        docs,  # the OpenAPI document and the reference page
        feedback,  # lab results with the prediction they test
        key_pages,  # the workspace settings page for API keys (tenancy's blueprint)
        keys,  # API keys managed over the API
        ml,  # custom models and the training-data export
        payments,  # order checkout and payment status
        procurements,
        views,
        webhooks,  # outgoing webhook endpoints, deliveries and replays
    )
