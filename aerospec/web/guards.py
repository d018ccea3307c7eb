"""The request's first check, before CSRF or any view reads it: body size, and text no database can store.

`init_app` runs before CSRFProtect is set up, so its hook runs first: a 100 MB body is refused
from its Content-Length without being read (CSRF would otherwise parse the whole form to find
its token), and an upload route's larger limit (`upload_limit`) applies before CSRF parses it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, request
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from aerospec import inputs
from aerospec.errors import ValidationFailed

# Query parameters a shared helper cleans itself and nothing stores: `next` goes through
# web.redirects.safe_next, which strips control characters (a NUL included) and then sends a
# hostile address home instead of refusing the page.
SELF_CLEANED = frozenset({"next"})


def upload_limit(max_bytes: int, *, view_answers: bool = False, form_field_bytes: int | None = None) -> Callable:
    """View decorator: this route accepts bodies up to `max_bytes` (instead of the app's MAX_CONTENT_LENGTH).

    With view_answers, a larger body goes to the view itself (which must refuse it unread, seeing
    `request.content_length > request.max_content_length`) so it can show its form with the message.
    `form_field_bytes`: the largest non-file form field it takes (MAX_FORM_MEMORY_SIZE otherwise), for a form
    that carries a previewed file back in a hidden field.
    """

    def mark(view: Callable) -> Callable:
        # functools.wraps in the other decorators copies these outwards, to the registered function.
        view.upload_limit = max_bytes
        view.answers_too_large = view_answers
        view.form_field_bytes = form_field_bytes
        return view

    return mark


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.3g} MB"


def guard_request():
    """Refuse a body over the route's limit (413), path values no row has (404) and NUL in the query (422)."""
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "upload_limit", None) or current_app.config.get("MAX_CONTENT_LENGTH")
    if limit:
        # SECURITY: werkzeug enforces this while reading (chunked bodies too); Content-Length is checked now.
        request.max_content_length = limit
        if getattr(view, "form_field_bytes", None):
            request.max_form_memory_size = min(view.form_field_bytes, limit)
        if (request.content_length or 0) > limit:
            if getattr(view, "answers_too_large", False):
                # SECURITY: the view (behind its own login and permission checks) shows its form with the
                # message and reads nothing of the body, so CSRF's hook, which would parse it, is skipped.
                return current_app.ensure_sync(view)(**(request.view_args or {}))
            raise RequestEntityTooLarge(
                f"The request is {_megabytes(request.content_length)}; this page accepts at most "
                f"{_megabytes(limit)}. Send a smaller file or less text."
            )
    for value in (request.view_args or {}).values():
        # SECURITY: a path value no row can have (a NUL, a number past 64 bits) names nothing: 404, as unknown ids.
        if isinstance(value, str) and inputs.text_problem(value):
            raise NotFound()
        if isinstance(value, int) and inputs.number_problem(value):
            raise NotFound()
    errors: dict[str, list[str]] = {}
    for name, value in request.args.items(multi=True):
        if name in SELF_CLEANED:
            continue
        message = inputs.text_problem(name) or inputs.text_problem(value)
        if message and message not in errors.setdefault(name, []):
            errors[name].append(message)
    errors = {name: messages for name, messages in errors.items() if messages}
    if errors:
        names = ", ".join(f"“{name}”" for name in errors)
        message = next(iter(errors.values()))[0]
        raise ValidationFailed(f"The address cannot be used as it is ({names}). {message}", field_errors=errors)
    return None


def init_app(app: Flask) -> None:
    """Install the guard ahead of every other before-request hook (call before csrf.init_app)."""
    app.before_request(guard_request)
