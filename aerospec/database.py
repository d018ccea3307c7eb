"""Per-connection database settings the models rely on, and the last check on what is written."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import event
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
