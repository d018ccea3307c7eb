"""Tenant context and the ORM guard: walls two and three of the tenancy design.

The tenant in context lives in a ContextVar so requests, jobs and the CLI share one
mechanism. The guard adds `tenant_id = <current>` to every select of a TenantOwned
model and raises when there is no tenant in context. On PostgreSQL each transaction
also carries the tenant in `app.tenant_id` (transaction-local), which the
row-level-security policies read: before any statement runs on a connection, the
context is copied into its transaction if it differs from what that transaction last
received, so a change of context costs one `set_config` only when a statement follows it.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
import weakref
from collections.abc import Iterator
from contextvars import ContextVar

from sqlalchemy import event, text
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql import TableClause, visitors
from sqlalchemy.sql.elements import ReleaseSavepointClause, RollbackToSavepointClause, SavepointClause

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
    return _tenant.set(tenant_id)


def reset_tenant(session: Session, token) -> None:
    """Restore the tenant that was in context before `set_tenant`."""
    _tenant.reset(token)


@contextlib.contextmanager
def tenant_scope(session: Session, tenant_id: uuid.UUID | None) -> Iterator[None]:
    """Run a block with one tenant in context (jobs, CLI, tests)."""
    token = set_tenant(session, tenant_id)
    try:
        yield
    finally:
        reset_tenant(session, token)


@contextlib.contextmanager
def unscoped(session: Session, reason: str, *, routine: bool = False) -> Iterator[None]:
    """Open the tenant wall for a block that must cross tenants; the reason is logged.

    SECURITY: the only way past the ORM guard and the RLS policies. Use it for
    lookups that by nature precede a tenant (a user's memberships, an invitation
    token) and for platform-admin and cross-tenant jobs. `routine` marks the one read
    every signed-in request makes (its own login and memberships): logged at debug, so
    the info log keeps the bypasses worth reading.
    """
    (log.debug if routine else log.info)("tenant wall bypassed: %s", reason)
    token = _bypass.set(reason)
    try:
        yield
    finally:
        _bypass.reset(token)


def _guc_values() -> tuple[str, str]:
    tenant = _tenant.get()
    return (str(tenant) if tenant else "", "on" if _bypass.get() else "")


# SECURITY: transaction-local (third argument true) so nothing leaks through the pool.
_SET_GUCS = text("select set_config('app.tenant_id', :tenant, true), set_config('app.bypass_rls', :bypass, true)")
_TRANSACTION_CONTROL = (SavepointClause, ReleaseSavepointClause, RollbackToSavepointClause)  # read no rows
_APPLIED = "aerospec_tenant_gucs"  # connection.info key: what this connection's transaction last received
_AT_SAVEPOINT = "aerospec_tenant_gucs_at_savepoints"  # per open savepoint: what had been received when it began


def _before_execute(conn, clauseelement, multiparams, params, execution_options) -> None:
    """SECURITY: every statement on PostgreSQL (ORM, flush, Core, raw SQL) runs under the
    context in force when it is sent: copy the context into the transaction when it changed."""
    if clauseelement is _SET_GUCS or isinstance(clauseelement, _TRANSACTION_CONTROL):
        return
    values = _guc_values()
    if conn.info.get(_APPLIED) == values:
        return
    tenant, bypass = values
    conn.execute(_SET_GUCS, {"tenant": tenant, "bypass": bypass})  # may begin the transaction (clears below)
    conn.info[_APPLIED] = values


def _forget_applied(conn, *args) -> None:
    """A transaction began or ended: its successor starts with nothing set."""
    conn.info.pop(_APPLIED, None)
    conn.info.pop(_AT_SAVEPOINT, None)


def _savepoint(conn, name) -> None:
    conn.info.setdefault(_AT_SAVEPOINT, []).append(conn.info.get(_APPLIED))


def _release_savepoint(conn, name, context) -> None:
    stack = conn.info.get(_AT_SAVEPOINT)
    if stack:
        stack.pop()


def _rollback_savepoint(conn, name, context) -> None:
    """PostgreSQL undoes a set_config made after the savepoint: back to what was set when it began."""
    stack = conn.info.get(_AT_SAVEPOINT)
    conn.info[_APPLIED] = stack.pop() if stack else None


_owned_tables: frozenset[str] | None = None


@event.listens_for(Mapper, "after_mapper_constructed")
def _forget_owned_tables(mapper: Mapper, class_: type) -> None:
    """A model was added: the names below are read again at the next guarded statement."""
    global _owned_tables
    _owned_tables = None


def _tenant_owned_tables() -> frozenset[str]:
    """Names of tenant-owned tables (read once, and again only after a model is added:
    listing the registry's mappers costs tens of µs, once per guarded statement before)."""
    global _owned_tables
    names = _owned_tables
    if names is None:
        from aerospec.models import Base

        names = _owned_tables = frozenset(
            m.local_table.name for m in Base.registry.mappers if issubclass(m.class_, TenantOwned)
        )
    return names


# Statement objects walked already, with the answer: a statement is immutable (SQLAlchemy's generative
# methods return a copy), so a statement built once and reused (the per-request lookups keep theirs)
# is walked once a process. Weak keys: a statement built for one request leaves with it.
_walked: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _touches_tenant_owned(state: ORMExecuteState) -> bool:
    """Whether a select reads a tenant-owned table anywhere: as an entity, in a join,
    in select_from() (counts) or in a subquery. all_mappers alone misses the last three."""
    statement = state.statement
    owned = _tenant_owned_tables()
    known = _walked.get(statement)
    if known is not None and known[0] is owned:  # answered against today's list of tenant-owned tables
        return known[1]
    # Both answers depend on the statement alone (the mappers it reads, the tables it names), so both are kept:
    # all_mappers builds a description of every column, which cost a reused 15-column select 0.1 ms a run.
    touches = any(issubclass(m.class_, TenantOwned) for m in state.all_mappers) or any(
        isinstance(element, TableClause) and element.name in owned for element in visitors.iterate(statement)
    )
    _walked[statement] = (owned, touches)
    return touches


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
    state.statement = _guarded(state.statement, tenant)


# A statement with one tenant's criteria added, per statement and tenant: a statement built once and
# reused (the list page's and the per-request lookups keep theirs) is guarded once per tenant and then
# keeps SQLAlchemy's cache key, which a fresh copy computes again on every execution (about 0.4 ms for
# the list page's select). The criteria are the same as ever, only built less often. Weak keys, as above.
_guarded_for: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_GUARDED_TENANTS_MAX = 256  # tenants kept per statement; past it that statement's entries start afresh


def _guarded(statement, tenant: uuid.UUID):
    """`statement` with the filter `tenant_id = tenant` on every tenant-owned entity it reads."""
    per_tenant = _guarded_for.get(statement)
    if per_tenant is None:
        per_tenant = _guarded_for[statement] = {}
    guarded = per_tenant.get(tenant)
    if guarded is None:
        if len(per_tenant) >= _GUARDED_TENANTS_MAX:
            per_tenant.clear()
        # SECURITY: `tenant` is this entry's key and the lambda's only free variable, so a statement
        # guarded for one tenant is never handed to another.
        guarded = per_tenant[tenant] = statement.options(
            with_loader_criteria(
                TenantOwned,
                lambda cls: cls.tenant_id == tenant,
                include_aliases=True,
            )
        )
    return guarded


def install(session_class: type[Session]) -> None:
    """Attach the guard to a session class."""
    if not event.contains(session_class, "do_orm_execute", _guard):
        event.listen(session_class, "do_orm_execute", _guard)


def install_engine(engine) -> None:
    """Carry the tenant context into every transaction of a PostgreSQL engine (RLS reads it)."""
    if engine.dialect.name != "postgresql" or event.contains(engine, "before_execute", _before_execute):
        return
    event.listen(engine, "before_execute", _before_execute)
    for name in ("begin", "commit", "rollback"):
        event.listen(engine, name, _forget_applied)
    event.listen(engine, "savepoint", _savepoint)
    event.listen(engine, "release_savepoint", _release_savepoint)
    event.listen(engine, "rollback_savepoint", _rollback_savepoint)
