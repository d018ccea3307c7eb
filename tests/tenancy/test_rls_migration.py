"""Migration 0009_defence: refresh tokens and offline checkouts become tenant-owned (NOT NULL tenant, foreign
key, index, forced RLS). Rows that cannot belong to a tenant go first; a checkout that only named its
tenant in its metadata gets it; the downgrade gives the old shape back.

Rows are written at the revision before, with plain SQL, on a database of their own (SQLite, and
PostgreSQL as a non-superuser role when DATABASE_URL points at a server).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from aerospec.models import UTCDateTime
from tests import migration_db

MIGRATION = migration_db.load("0009_defence_*.py")

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

tenants = migration_db.TENANTS
users = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    *(sa.column(c) for c in ("email", "name", "password_hash")),
    sa.column("is_platform_admin", sa.Boolean()),
    *(sa.column(c, UTCDateTime()) for c in ("password_changed_at", "created_at", "updated_at")),
)
sessions = sa.table(
    "sessions",
    sa.column("id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("kind"),
    sa.column("remember", sa.Boolean()),
    *(sa.column(c, UTCDateTime()) for c in ("started_at", "last_activity_at")),
)
refresh_tokens = sa.table(
    "refresh_tokens",
    *(sa.column(c, sa.Uuid()) for c in ("id", "session_id", "user_id", "tenant_id")),
    sa.column("token_hash"),
    *(sa.column(c, UTCDateTime()) for c in ("issued_at", "expires_at")),
)
checkouts = sa.table(
    "offline_checkout_sessions",
    sa.column("id"),
    sa.column("tenant_id", sa.Uuid()),
    *(sa.column(c) for c in ("mode", "status", "payment_status", "currency", "description", "customer_email")),
    sa.column("amount_total", sa.Integer()),
    sa.column("metadata", sa.JSON()),
    sa.column("line_items", sa.JSON()),
    *(sa.column(c) for c in ("success_url", "cancel_url")),
    sa.column("created_at", UTCDateTime()),
)


@pytest.fixture(params=migration_db.engines())
def database(request, tmp_path):
    """A database of its own at the revision before 0009_defence."""
    with migration_db.database_at(request.param, tmp_path, MIGRATION.down_revision) as engine:
        yield engine


def _run(engine, *statements):
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # after 0009, FORCE RLS: read through the bypass
            conn.execute(sa.text("SELECT set_config('app.bypass_rls', 'on', true)"))
        return [conn.execute(statement) for statement in statements]


def _checkout(checkout_id: str, tenant_id, metadata: dict) -> sa.Insert:
    return checkouts.insert().values(
        id=checkout_id, tenant_id=tenant_id, mode="payment", status="open", payment_status="unpaid",
        currency="usd", description="Order", customer_email="payer@example.com", amount_total=12000,
        metadata=metadata, line_items=[], success_url="/paid", cancel_url="/cancelled", created_at=T0,
    )  # fmt: skip


def _rls(engine) -> dict:
    if engine.dialect.name != "postgresql":
        return {}
    [rows] = _run(
        engine,
        sa.text(
            "select relname, relrowsecurity, relforcerowsecurity from pg_class "
            "where relname in ('refresh_tokens', 'offline_checkout_sessions')"
        ),
    )
    return {r.relname: (r.relrowsecurity, r.relforcerowsecurity) for r in rows}


def test_rows_without_a_tenant_go_a_checkout_gets_the_tenant_its_metadata_names_and_downgrade_restores(database):
    tenant_id, gone_tenant, user_id, session_id = (uuid.uuid4() for _ in range(4))
    token = {"session_id": session_id, "user_id": user_id, "issued_at": T0, "expires_at": T0 + timedelta(days=7)}
    _run(
        database,
        tenants.insert().values(
            id=tenant_id, name="Acme", slug="acme", plan="starter", subscription_status="trialing",
            billing_email="b@example.com", limits={}, features={}, api_enabled_for_users=False,
            created_at=T0, updated_at=T0,
        ),
        users.insert().values(
            id=user_id, email="ada@example.com", name="Ada", password_hash="x", is_platform_admin=False,
            password_changed_at=T0, created_at=T0, updated_at=T0,
        ),
        sessions.insert().values(id=session_id, user_id=user_id, kind="api", remember=False, started_at=T0,
                                 last_activity_at=T0),
        refresh_tokens.insert().values(id=uuid.uuid4(), tenant_id=tenant_id, token_hash="a" * 64, **token),
        # A purged workspace's token (no foreign key before 0009): it could never be exchanged.
        refresh_tokens.insert().values(id=uuid.uuid4(), tenant_id=gone_tenant, token_hash="b" * 64, **token),
        _checkout("cs_offline_kept", tenant_id, {"tenant_id": str(tenant_id)}),
        _checkout("cs_offline_from_metadata", None, {"kind": "procurement", "tenant_id": str(tenant_id)}),
        _checkout("cs_offline_gone_tenant", None, {"tenant_id": str(gone_tenant)}),
        _checkout("cs_offline_no_tenant", None, {"tenant_id": "not-a-uuid"}),
    )  # fmt: skip

    upgrade(revision=MIGRATION.revision)

    [tokens, rows] = _run(
        database,
        sa.select(refresh_tokens.c.token_hash, refresh_tokens.c.tenant_id),
        sa.select(checkouts.c.id, checkouts.c.tenant_id),
    )
    assert {tuple(r) for r in tokens} == {("a" * 64, tenant_id)}
    assert {tuple(r) for r in rows} == {("cs_offline_kept", tenant_id), ("cs_offline_from_metadata", tenant_id)}
    columns = {c["name"]: c for c in sa.inspect(database).get_columns("offline_checkout_sessions")}
    assert columns["tenant_id"]["nullable"] is False
    keys = sa.inspect(database).get_foreign_keys("refresh_tokens")
    assert any(k["referred_table"] == "tenants" and k["constrained_columns"] == ["tenant_id"] for k in keys)
    assert set(_rls(database).values()) <= {(True, True)}

    downgrade(revision=MIGRATION.down_revision)

    columns = {c["name"]: c for c in sa.inspect(database).get_columns("offline_checkout_sessions")}
    assert columns["tenant_id"]["nullable"] is True
    keys = sa.inspect(database).get_foreign_keys("refresh_tokens")
    assert not any(k["referred_table"] == "tenants" for k in keys)
    assert set(_rls(database).values()) <= {(False, False)}
    _run(database, _checkout("cs_offline_again_without", None, {}))  # the old shape takes a NULL tenant again
