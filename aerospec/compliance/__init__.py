"""Audit log (and, later, GDPR export/erasure, consent, retention)."""

from flask import Blueprint

bp = Blueprint("compliance", __name__)


def attach_routes() -> None:
    """Import the route modules (create_app calls this before registering the blueprint): not at import
    time, so importing one of this package's modules (its models, its services) loads no views."""
    from aerospec.compliance import views  # noqa: F401
