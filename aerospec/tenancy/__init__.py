"""Tenants, memberships, invitations, roles and the tenant walls."""

from flask import Blueprint

bp = Blueprint("tenancy", __name__)


def attach_routes() -> None:
    """Import the route modules (create_app calls this before registering the blueprint): not at import
    time, so importing one of this package's modules (its models, its services) loads no views."""
    from aerospec.tenancy import context, views  # noqa: F401 - URL processors and routes
