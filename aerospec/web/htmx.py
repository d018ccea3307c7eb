"""HTMX helpers: one URL serves the full page or one named block of it."""

from __future__ import annotations

from flask import Response, current_app, make_response, render_template, request
from jinja2.runtime import Macro
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    """True when htmx made this request (and is not asking for a full page)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")


def _shared_macros() -> dict:
    """The macros of web/_macros.html, for blocks rendered alone.

    jinja2-fragments renders a block without running the template's top-level
    `{% from "web/_macros.html" import ... %}` (its issues #21/#24), so a fragment
    would fail with "'form_errors' is undefined"; the same macros go in its context.
    """
    module = current_app.jinja_env.get_template("web/_macros.html").module
    # Macros, and helpers the module exports by name (`when` is Python, set there for imports).
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, Macro) or (callable(value) and not name.startswith("_"))
    }


def render(template: str, block: str | None = None, status: int = 200, **context) -> Response:
    """Render the page, or only `block` of it for an htmx request."""
    if block and is_htmx():
        body = render_block(template, block, **{**_shared_macros(), **context})
    else:
        body = render_template(template, **context)
    return make_response(body, status)


def hx_redirect(url: str, status: int = 303) -> Response:
    """Redirect a plain request with 303, an htmx request with HX-Redirect."""
    from flask import redirect

    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, status)
