"""The REST API: JWT-authenticated JSON at /api/..., problem+json errors."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from aerospec.api import views  # noqa: E402,F401 - attach routes
