"""View decorators about who the user is (outside any tenant)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from flask import abort, request
from flask_login import current_user

log = logging.getLogger("aerospec.platform_admin")


def platform_admin_required(view: Callable) -> Callable:
    """Only platform admins get in; everyone else, signed in or not, gets 404.

    SECURITY: 404 rather than 403/redirect, so the admin URLs are not discoverable.
    Every admitted request is logged with who did what (DESIGN.md: platform-admin
    actions are audited; tenant audit logs do not apply outside a tenant).
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated or not getattr(current_user, "is_platform_admin", False):
            abort(404)
        log.info(
            "platform admin %s (%s) %s %s",
            current_user.email,
            current_user.id,
            request.method,
            request.full_path.rstrip("?"),
        )
        return view(*args, **kwargs)

    wrapped.platform_admin_only = True
    return wrapped
