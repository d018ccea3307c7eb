"""The REST API: JWT-authenticated JSON at /api/..., problem+json errors."""

from flask import Blueprint

from aerospec.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api")
# SECURITY: the API authenticates by bearer token, never by cookie, so CSRF cannot apply.
csrf.exempt(bp)

from aerospec.api import configurations, views  # noqa: E402,F401 - attach routes
