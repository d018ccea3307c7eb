"""Per-connection database settings the models rely on, and the last check on what is written."""

from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from aerospec import inputs
from aerospec.errors import ValidationFailed


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:  # noqa: ANN001 - DBAPI hook
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    # Foreign keys: ON DELETE CASCADE (tenant purge) needs them; SQLite has them off by default.
    cursor.execute("PRAGMA foreign_keys=ON")
    # The web and worker processes share the file in development: wait instead of failing.
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _values(parameters) -> Iterable:  # noqa: ANN001 - a DBAPI parameter set, or a list of them
    if isinstance(parameters, dict):
        return parameters.values()
    if isinstance(parameters, (list, tuple)):
        if parameters and isinstance(parameters[0], (dict, list, tuple)):
            return (value for row in parameters for value in _values(row))
        return parameters
    return ()


def _refuse_unstorable(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
    """Below every edge's own check: a NUL, a lone surrogate or a number beyond 64 bits never reaches a driver.

    PostgreSQL refuses the first two (SQLite would store them, so both refuse alike) and both
    databases overflow on the third; the request then answers 422 and its transaction rolls back.
    """
    for value in _values(parameters):
        if isinstance(value, str):
            message = inputs.text_problem(value)
        elif isinstance(value, int):
            message = inputs.number_problem(value)
        else:
            continue
        if message:
            raise ValidationFailed(f"A value could not be used. {message}")


def install() -> None:
    """Apply the SQLite pragmas on every new connection (PostgreSQL needs none); check every write's values."""
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
    if not event.contains(Engine, "before_cursor_execute", _refuse_unstorable):
        event.listen(Engine, "before_cursor_execute", _refuse_unstorable)


# A pooled connection back in use within this many seconds is not pinged first: it answered a
# moment ago. Past it (a quiet spell in which the server may have restarted or closed it), it is.
PING_AFTER_IDLE_SECONDS = 1.0
_CHECKED_IN_AT = "aerospec_checked_in_at"


def _remember_checkin(dbapi_connection, connection_record) -> None:  # noqa: ANN001 - pool hook
    connection_record.info[_CHECKED_IN_AT] = time.monotonic()


def _ping_if_idle(engine: Engine):
    def checkout(dbapi_connection, connection_record, connection_proxy) -> None:  # noqa: ANN001 - pool hook
        checked_in = connection_record.info.get(_CHECKED_IN_AT)
        if checked_in is None or time.monotonic() - checked_in <= PING_AFTER_IDLE_SECONDS:
            return  # new (just connected), or used a moment ago
        # SQLAlchemy's own ping (its pool_pre_ping): False on a lost connection, which the pool
        # then replaces (with every connection opened before it) before the request sees it.
        if not engine.dialect._do_ping_w_event(dbapi_connection):
            raise exc.InvalidatePoolError("the pooled connection was lost while idle")

    return checkout


def install_idle_ping(engine: Engine) -> None:
    """Ping a pooled connection on checkout only when it sat idle (pool_pre_ping pings every checkout:
    a round trip on each request, about a tenth of a PostgreSQL page's time here)."""
    if engine.pool._pre_ping or event.contains(engine, "checkin", _remember_checkin):
        return  # pool_pre_ping chosen explicitly (it pings anyway), or installed already
    event.listen(engine, "checkin", _remember_checkin)
    event.listen(engine, "checkout", _ping_if_idle(engine))
