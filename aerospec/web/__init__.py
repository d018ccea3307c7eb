"""Shared request plumbing: layout, htmx helpers, error pages, security headers; the public pages."""

from flask import Blueprint

bp = Blueprint("web", __name__)


def attach_routes() -> None:
    """Import the route modules (create_app calls this before registering the blueprint): not at import
    time, so importing one of this package's modules (its models, its services) loads no views."""
    from aerospec.web import context, errors, security, views  # noqa: F401 - handlers and routes
