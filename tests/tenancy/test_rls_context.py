"""The tenant context reaches PostgreSQL before every statement, and only when it changed.

`scoping` copies the context (tenant, bypass) into the connection's transaction just before
a statement runs, instead of at each change: these tests prove no statement (ORM select,
flush, raw SQL, after a savepoint's rollback) ever runs under a stale context.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event, text

from aerospec.extensions import db as _db
from aerospec.tenancy.models import Membership
from aerospec.tenancy.scoping import tenant_scope, unscoped
from tests.tenancy.test_rls import _insert_member, _insert_tenant, _insert_user, pg_app  # noqa: F401 - a fixture


@pytest.fixture
def world(pg_app):  # noqa: F811 - the fixture imported above
    """Tenants A (two members) and B (one) committed through the bypass; the app's session; cleanup."""
    with pg_app.app_context():
        with _db.engine.begin() as setup:
            setup.execute(text("select set_config('app.bypass_rls', 'on', true)"))
            a, b = _insert_tenant(setup), _insert_tenant(setup)
            members = {a: {_insert_member(setup, a, "admin"), _insert_member(setup, a, "user")}}
            members[b] = {_insert_member(setup, b, "admin")}
            stranger = _insert_user(setup)
        calls: list[str] = []

        def record(conn, cursor, statement, *args):
            if "set_config(" in statement:
                calls.append(statement)

        event.listen(_db.engine, "before_cursor_execute", record)
        try:
            yield _db.session, a, b, members, stranger, calls
        finally:
            event.remove(_db.engine, "before_cursor_execute", record)
            _db.session.remove()
            with _db.engine.begin() as cleanup:
                cleanup.execute(text("select set_config('app.bypass_rls', 'on', true)"))
                cleanup.execute(text("delete from tenants where id in (:a, :b)"), {"a": a, "b": b})
                cleanup.execute(text("delete from users where id = :u"), {"u": stranger})


def _seen(session) -> set:
    return set(session.execute(text("select user_id from memberships")).scalars())


def test_switching_tenants_inside_one_transaction_switches_what_raw_sql_sees(world):
    session, a, b, members, _, _ = world
    with tenant_scope(session, a):
        assert _seen(session) == members[a]
        with tenant_scope(session, b):
            assert _seen(session) == members[b]
        assert _seen(session) == members[a]
    assert _seen(session) == set()  # the tenant left the context: the next statement sees nothing


def test_leaving_unscoped_closes_the_wall_for_the_next_statement(world):
    session, a, b, members, _, _ = world
    with unscoped(session, "test"):
        assert members[a] | members[b] <= _seen(session)
    assert _seen(session) == set()
    with tenant_scope(session, b), unscoped(session, "test"):
        assert members[a] | members[b] <= _seen(session)


def test_a_flush_runs_under_the_tenant_in_context_when_it_is_sent(world):
    session, a, b, _, stranger, _ = world
    with tenant_scope(session, a):
        session.execute(text("select 1"))  # the transaction has received tenant A
    with tenant_scope(session, b):
        session.add(Membership(id=uuid.uuid4(), tenant_id=b, user_id=stranger, role="viewer"))
        session.flush()  # accepted: B's row under B, although nothing but the flush followed the switch
    with tenant_scope(session, a):
        session.add(Membership(id=uuid.uuid4(), tenant_id=b, user_id=stranger, role="user"))
        with pytest.raises(Exception, match="row-level security"):
            session.flush()  # B's row under A: refused
    session.rollback()


def test_a_rolled_back_savepoint_does_not_leave_a_stale_context(world):
    session, a, b, members, _, _ = world
    with tenant_scope(session, a):
        assert _seen(session) == members[a]
        with tenant_scope(session, b):
            nested = session.begin_nested()
            assert _seen(session) == members[b]  # B sent inside the savepoint...
            nested.rollback()  # ...and undone by PostgreSQL with it, back to A
            assert _seen(session) == members[b]  # still B in context: sent again
        assert _seen(session) == members[a]
    session.rollback()


def test_the_context_is_sent_once_per_change_followed_by_a_statement(world):
    session, a, b, _, _, calls = world
    with tenant_scope(session, a):
        for _ in range(3):
            _seen(session)
        with tenant_scope(session, b):
            pass  # no statement: nothing sent
    assert len(calls) == 1
    _seen(session)
    assert len(calls) == 2  # back to no tenant before this statement
    session.commit()
    _seen(session)
    assert len(calls) == 3  # a new transaction receives the context again
