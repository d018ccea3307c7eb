"""Workspace settings → API keys: create (shown once), list with last use, rotate, revoke. Admins only.

The routes join tenancy's blueprint (they are tenant pages under /t/<slug>/settings/api-keys); the logic
is aerospec/api/key_services.py, shared with the API.
"""

from __future__ import annotations

import uuid

from flask import flash, g, redirect, session, url_for
from flask_login import login_required

from aerospec.api import key_services as keys
from aerospec.api.key_auth import test_mode
from aerospec.api.key_forms import COMING_SOON_RESOURCES, GRACE_CHOICES, RESOURCE_LABELS, ApiKeyForm, RotateForm
from aerospec.errors import ValidationFailed
from aerospec.extensions import db
from aerospec.limits.effective import feature_enabled
from aerospec.limits.messages import feature_message
from aerospec.tenancy import bp
from aerospec.tenancy.forms import EmptyForm
from aerospec.tenancy.permissions import require_permission
from aerospec.web.client import client_info
from aerospec.web.forms import apply_errors
from aerospec.web.htmx import render

T = "/t/<tenant_slug>/settings/api-keys"
# The key just created or rotated, kept for the one page view that shows it (post/redirect/get: reloading that
# page neither creates another key nor shows this one again).
SHOW_ONCE = "_api_key_shown_once"


def _show_once(key, raw: str, old=None):
    session[SHOW_ONCE] = {"tenant": str(g.tenant.id), "key": str(key.id), "secret": raw, "old": old and str(old.id)}
    return redirect(url_for("tenancy.api_keys"), 303)


def _take_shown_once() -> dict | None:
    shown = session.pop(SHOW_ONCE, None)
    if not shown or shown.get("tenant") != str(g.tenant.id):
        return None
    old = keys.get_key(db.session, g.tenant, shown["old"]) if shown.get("old") else None
    key = keys.get_key(db.session, g.tenant, shown["key"])
    return {"key": key, "secret": shown["secret"], "rotated": old is not None, "old": old}


def _page(form: ApiKeyForm | None = None, *, created=None, status: int = 200):
    in_plan = feature_enabled(g.tenant, keys.API_NOT_IN_PLAN)
    response = render(
        "tenancy/api_keys.html",
        status=status,
        form=form or ApiKeyForm(),
        rotate_form=RotateForm(),
        keys=keys.list_keys(db.session, g.tenant) if in_plan else [],
        in_plan=in_plan,
        not_in_plan=None if in_plan else feature_message(g.tenant, keys.API_NOT_IN_PLAN),
        created=created,
        status_of=keys.status,
        coming_soon=[RESOURCE_LABELS[r] for r in COMING_SOON_RESOURCES],
        grace_choices=GRACE_CHOICES,
        keys_in_test_mode=test_mode(),
    )
    # SECURITY: the page that shows a new key once must not be kept by the browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route(T, methods=["GET"])
@login_required
@require_permission("view_api_keys")
def api_keys():
    """The workspace's API keys, and the form to create one (and, once, a key just made)."""
    return _page(created=_take_shown_once())


@bp.route(T, methods=["POST"])
@login_required
@require_permission("manage_api_keys")
def create_api_key():
    """Create a key; the page shows it this once."""
    form = ApiKeyForm()
    if form.validate_on_submit():
        try:
            key, raw = keys.create_key(
                db.session,
                g.tenant,
                g.membership,
                name=form.name.data,
                scopes=form.scopes(),
                expires_in_days=form.expires_in_days.data,
                test_mode=test_mode(),
                client=client_info(),
            )
        except ValidationFailed as error:
            db.session.rollback()
            apply_errors(form, _on_page(error))
            return _page(form, status=422)
        db.session.commit()
        return _show_once(key, raw)
    if form.expires_in_days.errors:
        form.expires_in_days.errors = [
            f"Must be a whole number of days from 1 to {keys.EXPIRY_DAYS_MAX}, or empty for no expiry."
        ]
    return _page(form, status=422)


def _on_page(error: ValidationFailed) -> ValidationFailed:
    # The API's "scopes" error belongs to the page's first access select.
    errors = dict(error.field_errors)
    if "scopes" in errors:
        errors["scope_configurations"] = errors.pop("scopes")
    return ValidationFailed(error.message, field_errors=errors)


@bp.route(f"{T}/<uuid:key_id>/rotate", methods=["POST"])
@login_required
@require_permission("manage_api_keys")
def rotate_api_key(key_id: uuid.UUID):
    """Replace a key; the page shows the new one once, the old one works for the chosen grace period."""
    old = keys.get_key(db.session, g.tenant, key_id)
    form = RotateForm()
    hours = form.grace_period_hours.data if form.validate_on_submit() else -1
    try:
        new, raw = keys.rotate_key(
            db.session,
            g.tenant,
            g.membership,
            old,
            grace_period_hours=hours,
            test_mode=test_mode(),
            client=client_info(),
        )
    except ValidationFailed as error:
        db.session.rollback()
        for messages in error.field_errors.values():
            for message in messages:
                flash(f"{old.name}: {message}", "error")
        return redirect(url_for("tenancy.api_keys"), 303)
    db.session.commit()
    return _show_once(new, raw, old)


@bp.route(f"{T}/<uuid:key_id>/revoke", methods=["POST"])
@login_required
@require_permission("manage_api_keys")
def revoke_api_key(key_id: uuid.UUID):
    """Revoke a key at once (the button asks to confirm first)."""
    EmptyForm()
    key = keys.get_key(db.session, g.tenant, key_id)
    keys.revoke_key(db.session, g.tenant, g.membership, key, client=client_info())
    db.session.commit()
    flash(f"The key “{key.name}” ({key.hint}) was revoked: requests with it are refused from now on.", "success")
    return redirect(url_for("tenancy.api_keys"), 303)
