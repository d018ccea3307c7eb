"""refresh tokens and offline checkout sessions become tenant-owned, with row-level security

Revision ID: 0009_defence
Revises: 0008
Create Date: 2026-12-15 09:00:00.000000

refresh_tokens (token hashes, session ids) and offline_checkout_sessions (payers' emails, amounts)
had no row-level security. Both now follow the tenant-owned pattern: tenant_id NOT NULL, a foreign
key to tenants with ON DELETE CASCADE and an index leading with it, and (PostgreSQL) FORCEd RLS with
the tenant_isolation policy of aerospec.tenancy.rls.

Rows that cannot belong to a tenant are removed first: refresh tokens of a tenant that no longer
exists (they could never be exchanged: the exchange needs a membership), and offline checkouts with
neither a tenant nor a known tenant in their metadata (their page answered 404). An offline checkout
without a tenant but with a live one in its metadata gets that tenant. This runs before RLS is enabled,
so no bypass is needed.
"""

import json
import uuid

import sqlalchemy as sa
from alembic import context, op

from aerospec.tenancy.rls import disable_rls, enable_rls

# revision identifiers, used by Alembic.
revision = "0009_defence"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("refresh_tokens", "offline_checkout_sessions")

tenants = sa.table("tenants", sa.column("id", sa.Uuid()))
refresh_tokens = sa.table("refresh_tokens", sa.column("tenant_id", sa.Uuid()))
checkouts = sa.table(
    "offline_checkout_sessions",
    sa.column("id", sa.String()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("metadata", sa.JSON()),
)


def _tenant_from_metadata(metadata, live: set) -> uuid.UUID | None:
    if isinstance(metadata, str):  # a JSON column read without its type on some drivers
        metadata = json.loads(metadata or "{}")
    try:
        tenant_id = uuid.UUID(str((metadata or {}).get("tenant_id")))
    except ValueError:
        return None
    return tenant_id if tenant_id in live else None


def _remove_rows_without_a_tenant(bind) -> None:
    live = set(bind.execute(sa.select(tenants.c.id)).scalars())
    bind.execute(refresh_tokens.delete().where(refresh_tokens.c.tenant_id.not_in(sa.select(tenants.c.id))))
    orphans = bind.execute(sa.select(checkouts.c.id, checkouts.c.metadata).where(checkouts.c.tenant_id.is_(None)))
    for checkout_id, metadata in orphans.all():
        tenant_id = _tenant_from_metadata(metadata, live)
        if tenant_id is None:
            bind.execute(checkouts.delete().where(checkouts.c.id == checkout_id))
        else:
            bind.execute(checkouts.update().where(checkouts.c.id == checkout_id).values(tenant_id=tenant_id))


def upgrade():
    if context.is_offline_mode():
        raise RuntimeError("0009 moves rows it has to read: run it against the database, not with --sql")
    _remove_rows_without_a_tenant(op.get_bind())
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refresh_tokens_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_refresh_tokens_tenant_id_tenants"), "tenants", ["tenant_id"], ["id"], ondelete="CASCADE"
        )
    with op.batch_alter_table("offline_checkout_sessions", schema=None) as batch_op:
        batch_op.alter_column("tenant_id", existing_type=sa.Uuid(), nullable=False)
    for table in TABLES:
        enable_rls(op, table)


def downgrade():
    for table in TABLES:
        disable_rls(op, table)
    with op.batch_alter_table("offline_checkout_sessions", schema=None) as batch_op:
        batch_op.alter_column("tenant_id", existing_type=sa.Uuid(), nullable=True)
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_refresh_tokens_tenant_id_tenants"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_tenant_id"))
