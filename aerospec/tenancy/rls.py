"""Row-level security for tenant-owned tables: the database wall under the ORM guard.

Call `enable_rls(op, "table")` in the migration that creates a tenant-owned table.
On PostgreSQL it enables and FORCEs RLS (so the owning app role obeys it too) with a
policy on the transaction-local `app.tenant_id`; an unset tenant sees nothing. The
explicit bypass (`app.bypass_rls = 'on'`) is set only by `scoping.unscoped()`.
On SQLite it does nothing (the ORM guard is the wall there).
"""

from __future__ import annotations

POLICY = "tenant_isolation"
CONDITION = (
    "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid "
    "OR current_setting('app.bypass_rls', true) = 'on'"
)


def enable_rls(op, table: str) -> None:
    """Enable, force and add the tenant policy on `table` (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    op.execute(f'CREATE POLICY {POLICY} ON "{table}" USING ({CONDITION}) WITH CHECK ({CONDITION})')


def disable_rls(op, table: str) -> None:
    """Undo `enable_rls` (for downgrades)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f'DROP POLICY IF EXISTS {POLICY} ON "{table}"')
    op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
