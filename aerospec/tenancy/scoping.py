"""Tenant context and the ORM guard: walls two and three of the tenancy design.

The tenant in context lives in a ContextVar so requests, jobs and the CLI share one
mechanism. The guard adds `tenant_id = <current>` to every select of a TenantOwned
model and raises when there is no tenant in context. On PostgreSQL each transaction
also carries the tenant in `app.tenant_id` (transaction-local), which the
row-level-security policies read.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

from sqlalchemy import event, text
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session, with_loader_criteria
from sqlalchemy.sql import TableClause, visitors

from aerospec.models import TenantOwned

log = logging.getLogger(__name__)

_tenant: ContextVar[uuid.UUID | None] = ContextVar("aerospec_tenant", default=None)
_bypass: ContextVar[str | None] = ContextVar("aerospec_tenant_bypass", default=None)


class NoTenantInContext(RuntimeError):
    """A tenant-owned model was queried with no tenant in context and no bypass."""


def current_tenant_id() -> uuid.UUID | None:
    """The tenant whose rows queries may see, or None."""
    return _tenant.get()


def bypass_reason() -> str | None:
    """Why the tenant wall is open right now, or None when it is closed."""
    return _bypass.get()


def set_tenant(session: Session, tenant_id: uuid.UUID | None):
    """Put a tenant in context (returns a token for `reset_tenant`)."""
    token = _tenant.set(tenant_id)
    _sync_connection(session)
    return token


def reset_tenant(session: Session, token) -> None:
    """Restore the tenant that was in context before `set_tenant`."""
    _tenant.reset(token)
    _sync_connection(session)


@contextlib.contextmanager
def tenant_scope(session: Session, tenant_id: uuid.UUID | None) -> Iterator[None]:
    """Run a block with one tenant in context (jobs, CLI, tests)."""
    token = set_tenant(session, tenant_id)
    try:
        yield
    finally:
        reset_tenant(session, token)


@contextlib.contextmanager
def unscoped(session: Session, reason: str) -> Iterator[None]:
    """Open the tenant wall for a block that must cross tenants; the reason is logged.

    SECURITY: the only way past the ORM guard and the RLS policies. Use it for
    lookups that by nature precede a tenant (a user's memberships, an invitation
    token) and for platform-admin and cross-tenant jobs.
    """
    log.info("tenant wall bypassed: %s", reason)
    token = _bypass.set(reason)
    _sync_connection(session)
    try:
        yield
    finally:
        _bypass.reset(token)
        _sync_connection(session)


def _guc_values() -> tuple[str, str]:
    tenant = _tenant.get()
    return (str(tenant) if tenant else "", "on" if _bypass.get() else "")


def _sync_connection(session: Session) -> None:
    """Copy the context into the open PostgreSQL transaction, if there is one."""
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _apply_gucs(connection)


def _apply_gucs(connection) -> None:
    tenant, bypass = _guc_values()
    # SECURITY: transaction-local (third argument true) so nothing leaks through the pool.
    connection.execute(
        text("select set_config('app.tenant_id', :tenant, true), set_config('app.bypass_rls', :bypass, true)"),
        {"tenant": tenant, "bypass": bypass},
    )


def _after_begin(session: Session, transaction, connection) -> None:
    if connection.dialect.name == "postgresql":
        _apply_gucs(connection)


_owned_cache: tuple[int, frozenset[str]] = (-1, frozenset())


def _tenant_owned_tables() -> frozenset[str]:
    """Names of tenant-owned tables (recomputed only when a model is added)."""
    global _owned_cache
    from aerospec.models import Base

    mappers = Base.registry.mappers
    if _owned_cache[0] != len(mappers):
        names = frozenset(m.local_table.name for m in mappers if issubclass(m.class_, TenantOwned))
        _owned_cache = (len(mappers), names)
    return _owned_cache[1]


def _touches_tenant_owned(state: ORMExecuteState) -> bool:
    """Whether a select reads a tenant-owned table anywhere: as an entity, in a join,
    in select_from() (counts) or in a subquery. all_mappers alone misses the last three."""
    if any(issubclass(m.class_, TenantOwned) for m in state.all_mappers):
        return True
    owned = _tenant_owned_tables()
    return any(
        isinstance(element, TableClause) and element.name in owned for element in visitors.iterate(state.statement)
    )


def _guard(state: ORMExecuteState) -> None:
    # A column load refreshes an object that was already loaded under the guard.
    if not state.is_select or state.is_column_load or _bypass.get():
        return
    if not _touches_tenant_owned(state):
        return
    tenant = _tenant.get()
    if tenant is None:
        raise NoTenantInContext(
            "A tenant-owned model was queried with no tenant in context; "
            "use tenant_scope() or, for a cross-tenant path, unscoped(reason)."
        )
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls.tenant_id == tenant,
            include_aliases=True,
        )
    )


def install(session_class: type[Session]) -> None:
    """Attach the guard and the PostgreSQL tenant setting to a session class."""
    if not event.contains(session_class, "do_orm_execute", _guard):
        event.listen(session_class, "do_orm_execute", _guard)
        event.listen(session_class, "after_begin", _after_begin)
