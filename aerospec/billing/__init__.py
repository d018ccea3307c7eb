"""Plans, limits, the payment provider interface (Stripe and offline), provider events,
subscriptions, invoices, usage and the trial/dunning lifecycle."""

from flask import Blueprint

bp = Blueprint("billing", __name__)

from aerospec.billing import models  # noqa: E402,F401 - attach models


def attach_routes() -> None:
    """Import the route modules (called by create_app before registering the blueprint).

    Not at import time: plans and models are imported early by other capabilities, and the
    pages import those capabilities back (a cycle).
    """
    # the offline checkout and webhook; invoices; the billing page (plan overrides: aerospec.admin)
    from aerospec.billing import invoice_views, subscription_views, views  # noqa: F401
