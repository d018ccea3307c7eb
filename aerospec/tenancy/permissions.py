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
    # ---- the workspace's own actuators (issue 12): viewers read and rank them; users and admins add, edit, delete
    "edit_own_actuators": {"admin": YES, "user": YES, "viewer": NO},
    # ---- tenant administration (admin only)
    "manage_members": {"admin": YES, "user": NO, "viewer": NO},
    "manage_settings": {"admin": YES, "user": NO, "viewer": NO},
    "view_audit_log": {"admin": YES, "user": NO, "viewer": NO},
    "delete_tenant": {"admin": YES, "user": NO, "viewer": NO},
    # ---- API keys (workspace settings → API keys, and /api/keys): admins only
    "view_api_keys": {"admin": YES, "user": NO, "viewer": NO},
    "manage_api_keys": {"admin": YES, "user": NO, "viewer": NO},
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
    "view_feedback": "Read lab results and download their instrument files",
    "record_feedback": "Record lab results",
    "edit_feedback": "Edit lab results",
    "edit_own_actuators": "Add, edit and delete the workspace's own actuators",
    "manage_members": "Change roles and remove members",
    "manage_settings": "Change workspace settings",
    "view_audit_log": "Read the audit log",
    "delete_tenant": "Delete the workspace",
    "view_api_keys": "See the workspace's API keys",
    "manage_api_keys": "Create, rotate and revoke API keys",
    "manage_webhooks": "Manage webhook endpoints, see their delivery log and replay deliveries",
}


# Permissions of the product's matrix whose page does not exist yet: the roles page lists
# them as coming soon instead of as something a role can do today.
# Every permission's page and API exist; a permission whose page is still to come is listed here.
COMING_SOON: dict[str, str] = {}

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


# ---- API keys: a key acts as the workspace with its scopes, never as a person. Its scopes are read and
# write per resource ("write" includes "read"); the permission a route checks maps to one scope below.
# A permission absent here (members, billing, settings, the audit log, deleting the workspace) is never a
# key's: those need a person. "Their own only" cells do not apply to a key: it has no rows of its own, so
# its scope decides (a key with feedback:write may correct any lab result, as an admin may).
KEY_RESOURCES = ("configurations", "procurements", "feedback", "analytics", "webhooks", "keys")
KEY_SCOPES = tuple(f"{resource}:{access}" for resource in KEY_RESOURCES for access in ("read", "write"))
ANY_SCOPE = "*"
KEY_SCOPE_FOR = {
    "api_access": ANY_SCOPE,  # every live key may call the API; its scopes decide what it reaches
    "view_configurations": "configurations:read",
    "edit_configurations": "configurations:write",
    "delete_configurations": "configurations:write",
    "export_data": "configurations:read",
    "view_analytics": "analytics:read",
    "view_procurements": "procurements:read",
    "order_samples": "procurements:write",
    "view_feedback": "feedback:read",
    "record_feedback": "feedback:write",
    "edit_feedback": "feedback:write",
    "edit_own_actuators": "configurations:write",
    "view_api_keys": "keys:read",
    "manage_api_keys": "keys:write",
    "manage_webhooks": "webhooks:write",
}


def expand_scopes(scopes) -> frozenset[str]:
    """A key's scopes with what they imply ("configurations:write" brings "configurations:read")."""
    granted = set(scopes or ())
    granted |= {scope.replace(":write", ":read") for scope in granted if scope.endswith(":write")}
    return frozenset(granted)


def key_can(scopes, permission: str) -> bool:
    """Whether an API key with `scopes` may do `permission` (no role: its scopes alone decide)."""
    if permission not in MATRIX:
        raise KeyError(f"unknown permission {permission!r}")
    needed = KEY_SCOPE_FOR.get(permission)
    if needed is None:
        return False
    return needed == ANY_SCOPE or needed in expand_scopes(scopes)


def key_refusal(permission: str, *, doing: str | None = None) -> str:
    """Why an API key may not do something: the scope it lacks, or that a person must do it."""
    action = doing or PERMISSION_LABELS[permission][0].lower() + PERMISSION_LABELS[permission][1:]
    needed = KEY_SCOPE_FOR.get(permission)
    if needed is None:
        return f"An API key cannot {action}: a workspace admin must, signed in as themselves."
    return f"This API key does not have the {needed} scope, which it needs to {action}."


def permits(actor, permission: str, *, owner_id: uuid.UUID | None | object = NO_ROW) -> bool:
    """The one decision for a member or an API key (an actor with `api_scopes`) in a workspace."""
    scopes = getattr(actor, "api_scopes", None)
    if scopes is not None:
        return key_can(scopes, permission)
    tenant = getattr(actor, "tenant", None)
    return can(
        getattr(actor, "role", None),
        permission,
        actor_id=getattr(actor, "user_id", None),
        owner_id=owner_id,
        api_enabled_for_users=bool(getattr(tenant, "api_enabled_for_users", False)),
    )


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
    if permits(membership, permission, owner_id=owner_id):
        return
    if getattr(membership, "api_scopes", None) is not None:
        raise PermissionDenied(key_refusal(permission, doing=doing))
    raise PermissionDenied(refusal(getattr(membership, "role", None), permission, doing=doing))


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
