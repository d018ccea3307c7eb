"""Workspace webhook pages under settings: endpoints, the delivery log, test events, rotation, replays."""

from __future__ import annotations

import uuid

from flask import current_app, flash, g, request, url_for
from flask_login import login_required

from aerospec.errors import Conflict, ValidationFailed
from aerospec.extensions import db
from aerospec.pagination import page_arg
from aerospec.tenancy.context import get_for_tenant_or_404
from aerospec.tenancy.features import require_feature
from aerospec.tenancy.forms import EmptyForm
from aerospec.tenancy.permissions import require_permission
from aerospec.web.client import client_info
from aerospec.web.forms import apply_errors
from aerospec.web.htmx import hx_redirect, render
from aerospec.webhooks import bp
from aerospec.webhooks import services as webhooks
from aerospec.webhooks.events import EVENTS
from aerospec.webhooks.forms import EndpointForm, RotateForm
from aerospec.webhooks.models import WebhookDelivery, WebhookEndpoint

T = "/t/<tenant_slug>/settings/webhooks"
PER_PAGE = 25
DOING = "manage the workspace's webhooks"


def _settings() -> webhooks.Settings:
    return webhooks.Settings.from_config(current_app.config)


def _form_data(form: EndpointForm) -> dict:
    return {
        "url": form.url.data or "",
        "description": form.description.data or "",
        "event_types": list(form.event_types.data or []),
        "enabled": bool(form.enabled.data),
    }


@bp.route(T)
@login_required
@require_permission("manage_webhooks", doing=DOING)
@require_feature("webhooks")
def index():
    """The workspace's webhook endpoints: where events go and whether they arrive."""
    return render(
        "webhooks/index.html",
        endpoints=webhooks.list_endpoints(db.session, g.tenant),
        schedule=webhooks.schedule_words(_settings()),
    )


@bp.route(f"{T}/new", methods=["GET", "POST"])
@login_required
@require_permission("manage_webhooks", doing=DOING)
@require_feature("webhooks")
def new():
    """Add an endpoint: its URL and the events it wants; it gets a signing secret."""
    form = EndpointForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                endpoint = webhooks.create_endpoint(
                    db.session, g.tenant, g.membership, _form_data(form), _settings(), client=client_info()
                )
            except (ValidationFailed, Conflict) as error:
                db.session.rollback()
                apply_errors(form, error if isinstance(error, ValidationFailed) else ValidationFailed(error.message))
                status = 422
            else:
                endpoint_id = endpoint.id
                db.session.commit()
                flash("Endpoint added. Copy its signing secret below to verify our signatures.", "success")
                return hx_redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))
        else:
            status = 422
    return render("webhooks/form.html", block="endpoint_form", status=status, form=form, endpoint=None, events=EVENTS)


@bp.route(f"{T}/<uuid:endpoint_id>")
@login_required
@require_permission("manage_webhooks", doing=DOING)
@require_feature("webhooks")
def detail(endpoint_id: uuid.UUID):
    """One endpoint: its secret, actions, and the delivery log (every attempt, newest first)."""
    endpoint = get_for_tenant_or_404(WebhookEndpoint, endpoint_id)
    log = webhooks.list_attempts(db.session, g.tenant, endpoint, page=page_arg(request.args), per_page=PER_PAGE)
    pending = webhooks.list_deliveries(db.session, g.tenant, endpoint, page=1, per_page=10)
    return render(
        "webhooks/detail.html",
        block="delivery_log",
        endpoint=endpoint,
        log=log,
        waiting=[d for d in pending.items if d.status in webhooks.LIVE],
        rotate_form=RotateForm(),
        action_form=EmptyForm(),
        two_secrets=len(webhooks.live_secrets(endpoint)) > 1,
        schedule=webhooks.schedule_words(_settings()),
    )


@bp.route(f"{T}/<uuid:endpoint_id>/edit", methods=["GET", "POST"])
@login_required
@require_permission("manage_webhooks", doing=DOING)
@require_feature("webhooks")
def edit(endpoint_id: uuid.UUID):
    """Change an endpoint's URL, description, events or enabled flag."""
    endpoint = get_for_tenant_or_404(WebhookEndpoint, endpoint_id)
    form = EndpointForm(obj=endpoint if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                webhooks.update_endpoint(
                    db.session, g.tenant, g.membership, endpoint, _form_data(form), _settings(), client=client_info()
                )
            except ValidationFailed as error:
                db.session.rollback()
                apply_errors(form, error)
                status = 422
            else:
                db.session.commit()
                flash("Endpoint saved.", "success")
                return hx_redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))
        else:
            status = 422
    return render(
        "webhooks/form.html", block="endpoint_form", status=status, form=form, endpoint=endpoint, events=EVENTS
    )


@bp.route(f"{T}/<uuid:endpoint_id>/delete", methods=["GET", "POST"])
@login_required
@require_permission("manage_webhooks", doing=DOING)
@require_feature("webhooks")
def delete(endpoint_id: uuid.UUID):
    """Confirm, then delete an endpoint and its delivery log."""
    endpoint = get_for_tenant_or_404(WebhookEndpoint, endpoint_id)
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        url = endpoint.url
        webhooks.delete_endpoint(db.session, g.tenant, g.membership, endpoint, client=client_info())
        db.session.commit()
        flash(f"Endpoint {url} deleted with its delivery log.", "success")
        return hx_redirect(url_for("webhooks.index"))
    return render("webhooks/delete.html", endpoint=endpoint, form=form)


def _action(endpoint_id: uuid.UUID, run, done: str):
    endpoint = get_for_tenant_or_404(WebhookEndpoint, endpoint_id)
    if not EmptyForm().validate_on_submit():
        flash("That form expired; try again.", "error")
        return hx_redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))
    try:
        run(endpoint)
    except (Conflict, ValidationFailed) as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(done, "success")
    return hx_redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))


@bp.route(f"{T}/<uuid:endpoint_id>/test", methods=["POST"])
@login_required
@require_permission("manage_webhooks", doing=DOING)
@require_feature("webhooks")
def send_test(endpoint_id: uuid.UUID):
    """Send a test event now; its attempts appear in the delivery log."""
    return _action(
        endpoint_id,
        lambda e: webhooks.send_test(db.session, g.tenant, g.membership, e, client=client_info()),
        "Test event sent. Its attempt appears in the delivery log below (reload to follow its retries).",
    )


@bp.route(f"{T}/<uuid:endpoint_id>/enable", methods=["POST"])
@login_required
@require_permission("manage_webhooks", doing=DOING)
@require_feature("webhooks")
def enable(endpoint_id: uuid.UUID):
    """Turn a disabled endpoint back on."""
    return _action(
        endpoint_id,
        lambda e: webhooks.enable_endpoint(db.session, g.tenant, g.membership, e, client=client_info()),
        "Endpoint enabled: new events go to it again. Replay the deliveries it missed from the log.",
    )


@bp.route(f"{T}/<uuid:endpoint_id>/rotate", methods=["POST"])
@login_required
@require_permission("manage_webhooks", doing=DOING)
@require_feature("webhooks")
def rotate(endpoint_id: uuid.UUID):
    """A new signing secret; the old one keeps signing for the hours chosen."""
    endpoint = get_for_tenant_or_404(WebhookEndpoint, endpoint_id)
    form = RotateForm()
    if form.validate_on_submit():
        try:
            webhooks.rotate_secret(
                db.session, g.tenant, g.membership, endpoint, form.grace_hours.data, client=client_info()
            )
        except ValidationFailed as error:
            db.session.rollback()
            apply_errors(form, error)
        else:
            db.session.commit()
            flash("New signing secret made. Both secrets sign until the old one's time is up.", "success")
            return hx_redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))
    log = webhooks.list_attempts(db.session, g.tenant, endpoint, page=1, per_page=PER_PAGE)
    return render(
        "webhooks/detail.html",
        status=422,
        endpoint=endpoint,
        log=log,
        waiting=[],
        rotate_form=form,
        action_form=EmptyForm(),
        two_secrets=len(webhooks.live_secrets(endpoint)) > 1,
        schedule=webhooks.schedule_words(_settings()),
    )


@bp.route(f"{T}/deliveries/<uuid:delivery_id>/replay", methods=["POST"])
@login_required
@require_permission("manage_webhooks", doing=DOING)
@require_feature("webhooks")
def replay(delivery_id: uuid.UUID):
    """Send a delivery again (same body and webhook-id, signed now)."""
    original = get_for_tenant_or_404(WebhookDelivery, delivery_id)
    endpoint_id = original.endpoint_id
    if not EmptyForm().validate_on_submit():
        flash("That form expired; try again.", "error")
        return hx_redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))
    try:
        webhooks.replay(db.session, g.tenant, g.membership, original, client=client_info())
    except Conflict as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        event = original.event_type
        db.session.commit()
        flash(f"Replaying {event}: the new attempt appears at the top of the log.", "success")
    return hx_redirect(url_for("webhooks.detail", endpoint_id=endpoint_id))
