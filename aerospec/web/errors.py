"""Error pages for people and RFC 9457 problem details for the API."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, NotFound

from aerospec.errors import DomainError
from aerospec.web import bp
from aerospec.web.htmx import is_htmx

log = logging.getLogger(__name__)

PAGES = {403: "web/403.html", 404: "web/404.html", 500: "web/500.html"}
FLOOD_MESSAGE = "Too many attempts. Wait a minute and try again."


def form_again_on_flood(render_form: Callable[[str], Response]) -> Callable:
    """View decorator: a POST refused by the flood limit (429) shows the view's form again, as it was typed,
    with the wait message among its errors (`render_form(message)` renders it), instead of an error page
    that would take the form's place, and its input, in an htmx swap."""

    def mark(view: Callable) -> Callable:
        view.form_again_on_flood = render_form  # functools.wraps in outer decorators copies it outwards
        return view

    return mark


def wants_problem_json() -> bool:
    """API paths and JSON clients get problem+json instead of pages."""
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/problem+json")


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    errors: dict[str, list[str]] | None = None,
    type_: str = "about:blank",
    headers: dict | None = None,
    extensions: dict | None = None,
) -> Response:
    """An application/problem+json response (RFC 9457), with per-field `errors` and extension members."""
    body: dict = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extensions or {})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _page(status: int, title: str, message: str, billing_link: str | None = None) -> Response:
    template = PAGES.get(status, "web/error.html")
    context = {"status": status, "title": title, "message": message, "billing_link": billing_link}
    html = render_template("web/_error_fragment.html" if is_htmx() else template, **context)
    return Response(html, status=status, mimetype="text/html")


def _billing_link(*, absolute: bool, admins_only: bool) -> str | None:
    """For a plan's 402 (feature or limit): the workspace's billing page, where an admin upgrades.

    People see the link only when they may open that page (the message tells anyone else to ask
    an admin); the API names it to every caller as the `billing_url` extension member.
    """
    from flask import g, url_for

    from aerospec.billing import lifecycle
    from aerospec.tenancy.permissions import can

    tenant, membership = g.get("tenant"), g.get("membership")
    if tenant is None:
        return None
    if admins_only and (membership is None or not can(membership.role, "manage_billing")):
        return None
    if absolute:
        return lifecycle.billing_url(tenant)
    return url_for(lifecycle.billing_endpoint(), tenant_slug=tenant.slug)


def upgrade_link() -> str | None:
    """The billing page link for a 402 shown inside a form (admins only), or None."""
    return _billing_link(absolute=False, admins_only=True)


@bp.app_errorhandler(DomainError)
def handle_domain_error(error: DomainError):
    """A service refused: say why, with the right status."""
    from aerospec.extensions import db

    db.session.rollback()
    upgrade = error.status == 402  # a plan's feature or limit: point at the billing page
    if wants_problem_json():
        link = _billing_link(absolute=True, admins_only=False) if upgrade else None
        extensions = {"billing_url": link} if link else None
        response = problem(error.status, error.title, error.message, error.field_errors or None, extensions=extensions)
    else:
        response = _page(
            error.status,
            error.title,
            error.message,
            _billing_link(absolute=False, admins_only=True) if upgrade else None,
        )
    for key, value in (getattr(error, "headers", None) or {}).items():
        response.headers[key] = value  # e.g. Retry-After on a 429
    return response


@bp.app_errorhandler(CSRFError)
def handle_csrf(error: CSRFError):
    """An expired or missing CSRF token: explain and let the user retry."""
    message = "Your form expired or was sent from elsewhere. Reload the page and try again."
    if wants_problem_json():
        return problem(400, "CSRF token missing or invalid", message)
    return _page(400, "Please try again", message)


@bp.app_errorhandler(HTTPException)
def handle_http(error: HTTPException):
    """404, 405, 429 and friends, as a page or problem+json."""
    if error.code == 429:
        message = FLOOD_MESSAGE
        view = current_app.view_functions.get(request.endpoint or "")
        again = getattr(view, "form_again_on_flood", None)
        if again is not None and request.method == "POST" and not wants_problem_json():
            return _with_retry_after(again(message), error)
    elif error.code == 404 and error.description == NotFound.description:
        message = "We couldn't find that page."
    else:
        message = error.description or ""
    if wants_problem_json():
        response = problem(error.code or 500, error.name, message)
    else:
        response = _page(error.code or 500, error.name, message)
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return _with_retry_after(response, error) if error.code == 429 else response


def _with_retry_after(response: Response, error: HTTPException) -> Response:
    retry = getattr(error, "retry_after", None)
    if retry:
        response.headers["Retry-After"] = str(retry)
    return response


@bp.app_errorhandler(Exception)
def handle_unexpected(error: Exception):
    """Anything else: log it, roll back, and show a calm 500."""
    from aerospec.extensions import db

    if isinstance(error, HTTPException):
        return handle_http(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    if current_app.config.get("PROPAGATE_EXCEPTIONS") or (
        current_app.testing and not current_app.config.get("TEST_ERROR_PAGES")
    ):
        raise error
    message = "Something went wrong on our side. Nothing was saved; please try again."
    if wants_problem_json():
        return problem(500, "Internal Server Error", message)
    return _page(500, "Something went wrong", message)
