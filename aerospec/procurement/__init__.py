"""Procurement: live supplier quotes, sample orders, order payment and supplier price sync."""

from flask import Blueprint

bp = Blueprint("procurement", __name__)

# models; the platform-admin pages; order payment (checkout, polled status); order pages and the quote comparison
from aerospec.procurement import admin_views, models, payment_views, views  # noqa: E402,F401 - attach models and routes
