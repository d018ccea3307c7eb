"""platform console: admin audit log (append-only), impersonations, admin suspension, workspace-list indexes

Revision ID: 0012_admin_console
Revises: 0011_mrr_ledger
Create Date: 2026-12-03 14:40:00.000000

admin_audit_logs is append-only: an ORM guard refuses changes, and a trigger refuses UPDATE and DELETE
in the database itself (PostgreSQL: a plpgsql function; SQLite: RAISE(ABORT)). Neither table is
tenant-owned: platform admins act across workspaces, and the entries outlive the workspaces they name.
"""

import sqlalchemy as sa
from alembic import op

from aerospec.models import UTCDateTime

revision = "0012_admin_console"
down_revision = "0011_mrr_ledger"
branch_labels = None
depends_on = None

MESSAGE = "admin_audit_logs is append-only: entries cannot be changed or deleted"


def upgrade():
    op.create_table(
        "admin_audit_logs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("admin_id", sa.Uuid(), nullable=True),
        sa.Column("admin_email", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["admin_id"], ["users.id"], name=op.f("fk_admin_audit_logs_admin_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_audit_logs")),
    )
    with op.batch_alter_table("admin_audit_logs", schema=None) as batch_op:
        batch_op.create_index("ix_admin_audit_logs_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_admin_audit_logs_admin_id_created_at", ["admin_id", "created_at"], unique=False)
        batch_op.create_index("ix_admin_audit_logs_target", ["target_type", "target_id", "created_at"], unique=False)
        batch_op.create_index("ix_admin_audit_logs_action_created_at", ["action", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_admin_audit_logs_tenant_id"), ["tenant_id"], unique=False)
    op.create_table(
        "impersonations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("admin_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("write_access", sa.Boolean(), nullable=False),
        sa.Column("write_reason", sa.String(length=500), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["admin_id"], ["users.id"], name=op.f("fk_impersonations_admin_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_impersonations_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_impersonations")),
    )
    with op.batch_alter_table("impersonations", schema=None) as batch_op:
        batch_op.create_index("ix_impersonations_admin_id_started_at", ["admin_id", "started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_impersonations_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("suspended_reason", sa.String(length=500), nullable=True))
        batch_op.create_index("ix_tenants_plan_name", ["plan", "name"], unique=False)
        batch_op.create_index("ix_tenants_subscription_status_name", ["subscription_status", "name"], unique=False)
        batch_op.create_index("ix_tenants_trial_ends_at", ["trial_ends_at"], unique=False)
        batch_op.create_index("ix_tenants_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_tenants_name", ["name"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""CREATE FUNCTION admin_audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"""
        )
        op.execute(
            "CREATE TRIGGER admin_audit_logs_append_only BEFORE UPDATE OR DELETE ON admin_audit_logs "
            "FOR EACH ROW EXECUTE FUNCTION admin_audit_logs_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER admin_audit_logs_no_{verb.lower()} BEFORE {verb} ON admin_audit_logs "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS admin_audit_logs_append_only ON admin_audit_logs")
        op.execute("DROP FUNCTION IF EXISTS admin_audit_logs_append_only()")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS admin_audit_logs_no_{verb}")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        for name in ("ix_tenants_name", "ix_tenants_created_at", "ix_tenants_trial_ends_at",
                     "ix_tenants_subscription_status_name", "ix_tenants_plan_name"):
            batch_op.drop_index(name)
        batch_op.drop_column("suspended_reason")
        batch_op.drop_column("suspended_at")
    op.drop_table("impersonations")
    op.drop_table("admin_audit_logs")
