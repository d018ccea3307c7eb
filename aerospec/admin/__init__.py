"""The platform console: workspaces, trial/suspension actions, impersonation and the admin audit log.

Every page and API route answers 404 to anyone but a platform admin. Every platform-admin action is
written to `admin_audit_logs` (immutable) by `aerospec.admin.audit.record`.
"""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from aerospec.admin import models  # noqa: E402,F401 - attach models


def attach_routes() -> None:
    """Import the route modules (create_app calls this before registering the blueprints)."""
    from aerospec.admin import api_views, impersonation, plan_views, views  # noqa: F401
