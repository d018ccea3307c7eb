"""Operations: logs as one JSON object a line (with the request's or job's context), and error tracking.

Every log record carries the context of what produced it: a request (request_id, tenant, user,
route) or a job (job_id, job, tenant). Each request ends with one `aerospec.request` line with its
status and duration_ms, and answers its request id in `X-Request-ID` (the caller's, when it sent a
sane one). With SENTRY_DSN set, sentry-sdk reports errors from the web (Flask) and the worker (RQ).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"
# SECURITY: a caller's request id is echoed and logged only when it is a short plain token.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_CONTEXT: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("aerospec_log_context", default=_EMPTY)
# LogRecord's own attributes: everything else on a record came from `extra=` and is logged as a field.
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}

request_log = logging.getLogger("aerospec.request")

# SECURITY: an API key never reaches a log line or an error report: `?api_key=` values (the form the API
# accepts and warns about) and anything shaped like a key are replaced wherever text is written.
_SECRETS = (
    (re.compile(r"(api_key=)[^&\s\"']+", re.IGNORECASE), r"\1[redacted]"),
    (re.compile(r"\b(sk_(?:live|test)_)[0-9a-f]{8,}"), r"\1[redacted]"),
)


def redact(text: str) -> str:
    """`text` with API keys replaced by "[redacted]"."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class _RedactKeys(logging.Filter):
    """Every record's message with API keys redacted (werkzeug's and gunicorn's request lines carry the query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_REDACT_KEYS = _RedactKeys()


def log_context() -> dict[str, Any]:
    """The fields every log line gets here (request or job), as a new dict."""
    return dict(_CONTEXT.get())


@contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Add fields (job_id, tenant, ...) to every log line written inside the block."""
    token = _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the context fields, any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_CONTEXT.get())
        entry.update({k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class _QuietMaintenance(logging.Filter):
    """Drop rq's registry-cleaning chatter below WARNING: idle workers sweep every 15 s (six lines each)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        message = record.getMessage()
        return "cleaning registries for queue" not in message and "cleaning group registries" not in message


_QUIET_MAINTENANCE = _QuietMaintenance()


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Route every logger (rq's and gunicorn's included) through one stderr handler, JSON by default."""
    formatter: logging.Formatter = (
        JsonFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
    )
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        root.addHandler(handler)
    handler.setFormatter(formatter)
    if _REDACT_KEYS not in handler.filters:
        handler.addFilter(_REDACT_KEYS)
    root.setLevel(level)
    rq_worker = logging.getLogger("rq.worker")
    if _QUIET_MAINTENANCE not in rq_worker.filters:
        rq_worker.addFilter(_QUIET_MAINTENANCE)
    # gunicorn's own logger writes through its handlers: same format (its lines before the app loads stay plain).
    for gunicorn_handler in logging.getLogger("gunicorn.error").handlers:
        gunicorn_handler.setFormatter(formatter)


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID when it is a sane token, else a fresh one."""
    if header and _SANE_REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


def _request_started(sender: Flask, **extra: Any) -> None:
    # The request_started signal comes before the URL processors, so a request they abort
    # (a 404 tenant, a login redirect) still gets its id and its log line.
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()
    g._log_token = _CONTEXT.set({"request_id": g.request_id})


def _request_fields(response: Response) -> dict[str, Any]:
    from flask_login import current_user

    tenant = g.get("tenant")
    user = g.get("api_user") or (current_user if current_user and current_user.is_authenticated else None)
    started = g.get("request_started")
    return {
        "method": request.method,
        "path": request.path,
        "route": request.url_rule.rule if request.url_rule is not None else None,
        "endpoint": request.endpoint,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started is not None else None,
        "tenant": str(tenant.id) if tenant is not None else None,
        "tenant_slug": getattr(tenant, "slug", None),
        "user": str(user.id) if user is not None else None,
        # A platform admin viewing as `user` (aerospec.admin.impersonation): the line names both.
        "impersonator": g.get("impersonator_id"),
        # An API key's request (aerospec.api.key_auth): the key's id, never the key.
        "api_key": str(g.api_key.id) if g.get("api_key") is not None else None,
    }


def _after_request(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id is None:
        return response
    response.headers[REQUEST_ID_HEADER] = request_id
    fields = _request_fields(response)
    level = logging.ERROR if response.status_code >= 500 else logging.INFO
    request_log.log(level, "%s %s %s", request.method, request.path, response.status_code, extra=fields)
    return response


def _teardown_request(exc: BaseException | None) -> None:
    token = g.pop("_log_token", None)
    if token is not None:
        _CONTEXT.reset(token)


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """A Sentry event without API keys in its request's URL and query string (sentry-sdk drops Authorization)."""
    req = event.get("request") or {}
    for name in ("query_string", "url"):
        if isinstance(req.get(name), str):
            req[name] = redact(req[name])
    return event


def init_sentry(app: Flask) -> bool:
    """Start sentry-sdk with its Flask and RQ integrations when SENTRY_DSN is set; True if started."""
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration(), RqIntegration()],
        environment=app.config.get("SENTRY_ENVIRONMENT"),
        traces_sample_rate=app.config.get("SENTRY_TRACES_SAMPLE_RATE", 0.0),
        before_send=scrub_event,
        # SECURITY: sentry-sdk's default (send_default_pii unset) sends no cookies, users, emails or IPs.
    )
    return True


def init_app(app: Flask) -> None:
    """Logs (JSON unless LOG_FORMAT=text), the request id and the per-request log line, and Sentry."""
    configure_logging(app.config.get("LOG_LEVEL", "INFO"), app.config.get("LOG_FORMAT", "json"))
    from flask import request_started

    request_started.connect(_request_started, app)
    app.after_request(_after_request)
    app.teardown_request(_teardown_request)
    init_sentry(app)
