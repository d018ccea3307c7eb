"""Procurement: live supplier quotes, sample orders, order payment and supplier price sync."""

from flask import Blueprint

bp = Blueprint("procurement", __name__)

from aerospec.procurement import models  # noqa: E402,F401 - attach models
