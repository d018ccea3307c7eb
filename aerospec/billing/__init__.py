"""Plans, limits, the payment provider interface (Stripe and offline), provider events."""

from flask import Blueprint

bp = Blueprint("billing", __name__)

from aerospec.billing import models  # noqa: E402,F401 - attach models
