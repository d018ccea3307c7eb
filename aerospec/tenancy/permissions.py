"""The permission matrix of DESIGN.md: the one place a role check is decided.

Views use `require_permission`, services and the API call `ensure_permitted`/`can`.
Rows below the line are tenant-administration permissions this issue adds; they
follow the "invite team members" and "manage billing" rows (admin only).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps

from aerospec.errors import PermissionDenied

YES, NO, OWN, IF_ENABLED = "yes", "no", "own", "if_enabled"

MATRIX: dict[str, dict[str, str]] = {
    "view_configurations": {"admin": YES, "user": YES, "viewer": YES},
    "edit_configurations": {"admin": YES, "user": YES, "viewer": NO},
    "delete_configurations": {"admin": YES, "user": OWN, "viewer": NO},
    "invite_members": {"admin": YES, "user": NO, "viewer": NO},
    "manage_billing": {"admin": YES, "user": NO, "viewer": NO},
    "view_analytics": {"admin": YES, "user": YES, "viewer": NO},
    "export_data": {"admin": YES, "user": YES, "viewer": NO},
    "api_access": {"admin": YES, "user": IF_ENABLED, "viewer": NO},
    # ---- procurement: viewers follow orders; users and admins quote, order and pay
    "view_procurements": {"admin": YES, "user": YES, "viewer": YES},
    "order_samples": {"admin": YES, "user": YES, "viewer": NO},
    # ---- lab results: viewers read them; users and admins record; a user edits only their own
    "view_feedback": {"admin": YES, "user": YES, "viewer": YES},
    "record_feedback": {"admin": YES, "user": YES, "viewer": NO},
    "edit_feedback": {"admin": YES, "user": OWN, "viewer": NO},
    # ---- tenant administration (admin only)
    "manage_members": {"admin": YES, "user": NO, "viewer": NO},
    "manage_settings": {"admin": YES, "user": NO, "viewer": NO},
    "view_audit_log": {"admin": YES, "user": NO, "viewer": NO},
    "delete_tenant": {"admin": YES, "user": NO, "viewer": NO},
    "manage_webhooks": {"admin": YES, "user": NO, "viewer": NO},
}

# What each permission lets a member do, in the words every page uses (the roles page,
# refusals): they must say what the running product does, no more.
PERMISSION_LABELS = {
    "view_configurations": "View configurations, fluids and the actuator catalog",
    "edit_configurations": "Create and edit configurations and the workspace's fluids",
    "delete_configurations": "Archive, restore and share configurations",
    "invite_members": "Invite team members",
    "manage_billing": "Manage billing",
    "view_analytics": "View analytics",
    "export_data": "Export configurations (CSV or JSON)",
    "api_access": "Use the REST API",
    "view_procurements": "Follow supplier orders",
    "order_samples": "Compare quotes, order and pay",
    "view_feedback": "Read lab results (API)",
    "record_feedback": "Record lab results (API)",
    "edit_feedback": "Edit lab results (API)",
    "manage_members": "Change roles and remove members",
    "manage_settings": "Change workspace settings",
    "view_audit_log": "Read the audit log",
    "delete_tenant": "Delete the workspace",
    "manage_webhooks": "Manage webhook endpoints, see their delivery log and replay deliveries",
}


# Permissions of the product's matrix whose page does not exist yet: the roles page lists
# them as coming soon instead of as something a role can do today.
# Viewers have no API access, so "read lab results" waits for its page (record and edit work through the API).
COMING_SOON = {"view_analytics": "an analytics page", "view_feedback": "a lab results page"}

# What a cell means, and what a row needs beyond the role.
CELL_WORDS = {YES: "Yes", NO: "No", OWN: "Their own only", IF_ENABLED: "If an admin turns it on"}
NOTES = {
    "delete_configurations": "Nothing is deleted: an archived configuration can be restored from the list.",
    "api_access": "Admins turn it on for users in the workspace settings; the plan must include the API.",
}

# `owner_id` when no row is at hand (a list's button: the action is allowed in principle). A row whose
# owner is gone (None: the creator's account was erased) is nobody's own: "own only" refuses it.
NO_ROW = object()

# A refusal on someone else's row, for the "their own only" cells.
OWN_ONLY = {
    "delete_configurations": "archive, restore and share only the configurations you created",
    "edit_feedback": "edit only the lab results you recorded",
}


def role_rows() -> list[dict]:
    """The matrix as the roles page shows it: today's permissions with each role's words."""
    return [
        {
            "permission": permission,
            "label": PERMISSION_LABELS[permission],
            "cells": {role: CELL_WORDS[cell] for role, cell in cells.items()},
            "note": NOTES.get(permission),
        }
        for permission, cells in MATRIX.items()
        if permission not in COMING_SOON
    ]


def coming_soon_rows() -> list[dict]:
    """Permissions of the matrix waiting for their page, with who will have them."""
    return [
        {
            "what": what,
            "roles": [role for role, cell in MATRIX[permission].items() if cell != NO],
        }
        for permission, what in COMING_SOON.items()
    ]


def refusal(role: str | None, permission: str, *, doing: str | None = None) -> str:
    """Why a role may not do something, in the roles page's words."""
    action = doing or PERMISSION_LABELS[permission][0].lower() + PERMISSION_LABELS[permission][1:]
    if role and MATRIX[permission].get(role) == OWN:
        return f"As a {role}, you can {OWN_ONLY[permission]}."
    return f"Your role ({role or 'none'}) cannot {action}."


def can(
    role: str | None,
    permission: str,
    *,
    actor_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None | object = NO_ROW,
    api_enabled_for_users: bool = False,
) -> bool:
    """Whether a member with `role` may do `permission` (on a row owned by owner_id; NO_ROW: no row at hand)."""
    if permission not in MATRIX:
        raise KeyError(f"unknown permission {permission!r}")
    if role is None:
        return False
    cell = MATRIX[permission].get(role, NO)
    if cell == YES:
        return True
    if cell == OWN:
        # "own only": the row must be the actor's; with no row, the action is allowed
        # in principle (a list can show the button only on own rows).
        # SECURITY: a row without an owner is not the actor's own (it was "allowed" while None meant "no row").
        if owner_id is NO_ROW:
            return True
        return actor_id is not None and owner_id is not None and owner_id == actor_id
    if cell == IF_ENABLED:
        return api_enabled_for_users
    return False


def ensure_permitted(
    membership, permission: str, *, owner_id: uuid.UUID | None | object = NO_ROW, doing: str | None = None
) -> None:
    """Raise PermissionDenied unless the membership's role allows the permission.

    `doing` words the refusal for the page at hand ("add, edit or delete the workspace's fluids").
    """
    role = getattr(membership, "role", None)
    actor_id = getattr(membership, "user_id", None)
    tenant = getattr(membership, "tenant", None)
    enabled = bool(getattr(tenant, "api_enabled_for_users", False))
    if not can(role, permission, actor_id=actor_id, owner_id=owner_id, api_enabled_for_users=enabled):
        raise PermissionDenied(refusal(role, permission, doing=doing))


def require_permission(permission: str, *, doing: str | None = None) -> Callable:
    """View decorator: 403 unless the current member's role allows the permission (`doing`: the refusal's words)."""
    if permission not in MATRIX:
        raise KeyError(f"unknown permission {permission!r}")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            from flask import g

            ensure_permitted(g.get("membership"), permission, doing=doing)
            return view(*args, **kwargs)

        wrapped.required_permission = permission
        return wrapped

    return decorator
