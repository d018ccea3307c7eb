"""Per-connection database settings the models rely on."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine


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


def install() -> None:
    """Apply the SQLite pragmas on every new connection (PostgreSQL needs none)."""
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
