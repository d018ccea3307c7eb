"""Revenue analytics for platform admins: the MRR ledger (one row per change of a workspace's recurring
amount, written from provider events), the metrics read from it and from orders and sessions, the
dashboard under /admin/revenue, its API under /api/admin/, and the seeded history to look at."""

from flask import Blueprint

bp = Blueprint("revenue", __name__)

from aerospec.revenue import models  # noqa: E402,F401 - attach models


def attach_routes() -> None:
    """Import the route modules and the ledger's event handlers (called by create_app)."""
    from aerospec.revenue import api, ledger, views  # noqa: F401
