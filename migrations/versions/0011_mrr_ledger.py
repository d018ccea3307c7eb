"""the MRR ledger: one row per change of a workspace's monthly recurring revenue

Revision ID: 0011_mrr_ledger
Revises: 0010_actuator_anchors
Create Date: 2026-12-03 14:20:14.497009

Tenant-owned (row-level security on PostgreSQL). Empty when created: `flask revenue backfill` writes
rows for subscriptions that existed before the ledger, from their mirror rows.

revenue_day_rollups: one closed day's active users and paid orders (platform-wide totals, no tenant's
rows), the maintained summary the dashboard reads; sessions get an index on last_activity_at.
"""

import sqlalchemy as sa
from alembic import op

import aerospec.models  # noqa: F401 - custom column types (UTCDateTime)
from aerospec.tenancy.rls import disable_rls, enable_rls

# revision identifiers, used by Alembic.
revision = "0011_mrr_ledger"
down_revision = "0010_actuator_anchors"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mrr_ledger",
        sa.Column("subscription_id", sa.Uuid(), nullable=True),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("effective_at", aerospec.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("cohort", sa.String(length=7), nullable=False),
        sa.Column("plan", sa.String(length=20), nullable=False),
        sa.Column("interval", sa.String(length=5), nullable=False),
        sa.Column("plan_before", sa.String(length=20), nullable=True),
        sa.Column("interval_before", sa.String(length=5), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("mrr_before", sa.Integer(), nullable=False),
        sa.Column("mrr_after", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("created_at", aerospec.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["billing_subscriptions.id"],
            name=op.f("fk_mrr_ledger_subscription_id_billing_subscriptions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_mrr_ledger_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mrr_ledger")),
        sa.UniqueConstraint("tenant_id", "event_id", name="uq_mrr_ledger_tenant_id_event_id"),
    )
    with op.batch_alter_table("mrr_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_mrr_ledger_month_kind", ["month", "kind"], unique=False)
        batch_op.create_index("ix_mrr_ledger_cohort_month", ["cohort", "month"], unique=False)
        batch_op.create_index(batch_op.f("ix_mrr_ledger_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_mrr_ledger_tenant_id_effective_at", ["tenant_id", "effective_at"], unique=False)
    enable_rls(op, "mrr_ledger")
    op.create_table(
        "revenue_day_rollups",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("active_users", sa.Integer(), nullable=False),
        sa.Column("orders", sa.JSON(), nullable=False),
        sa.Column("computed_at", aerospec.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_revenue_day_rollups")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_last_activity_at", ["last_activity_at"], unique=False)


def downgrade():
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_last_activity_at")
    op.drop_table("revenue_day_rollups")
    disable_rls(op, "mrr_ledger")
    with op.batch_alter_table("mrr_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_mrr_ledger_tenant_id_effective_at")
        batch_op.drop_index(batch_op.f("ix_mrr_ledger_tenant_id"))
        batch_op.drop_index("ix_mrr_ledger_cohort_month")
        batch_op.drop_index("ix_mrr_ledger_month_kind")
    op.drop_table("mrr_ledger")
