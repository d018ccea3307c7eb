"""feedback aggregates (per workspace × actuator × fluid), delivered-order lab-result reminders, bulk imports

Revision ID: 0016_aggregates
Revises: 0015_labpages
Create Date: 2026-12-04 01:50:00.000000

All three tables are tenant-owned: row-level security on PostgreSQL like the other tenant tables.
"""

import sqlalchemy as sa
from alembic import op

from aerospec.models import UTCDateTime
from aerospec.tenancy.rls import disable_rls, enable_rls

revision = "0016_aggregates"
down_revision = "0015_labpages"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "feedback_aggregates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("actuator_supplier", sa.String(length=20), nullable=False),
        sa.Column("actuator_sku", sa.String(length=40), nullable=False),
        sa.Column("fluid_key", sa.String(length=120), nullable=False),
        sa.Column("fluid_name", sa.String(length=120), nullable=True),
        sa.Column("result_count", sa.Integer(), nullable=False),
        sa.Column("pass_count", sa.Integer(), nullable=False),
        sa.Column("fail_count", sa.Integer(), nullable=False),
        sa.Column("cone_count", sa.Integer(), nullable=False),
        sa.Column("avg_predicted_cone_deg", sa.Float(), nullable=True),
        sa.Column("avg_actual_cone_deg", sa.Float(), nullable=True),
        sa.Column("rmse_cone_deg", sa.Float(), nullable=True),
        sa.Column("dv50_count", sa.Integer(), nullable=False),
        sa.Column("avg_predicted_dv50_um", sa.Float(), nullable=True),
        sa.Column("avg_actual_dv50_um", sa.Float(), nullable=True),
        sa.Column("rmse_dv50_um", sa.Float(), nullable=True),
        sa.Column("flow_count", sa.Integer(), nullable=False),
        sa.Column("avg_predicted_flow_ml_min", sa.Float(), nullable=True),
        sa.Column("avg_actual_flow_ml_min", sa.Float(), nullable=True),
        sa.Column("rmse_flow_ml_min", sa.Float(), nullable=True),
        sa.Column("last_result_at", UTCDateTime(), nullable=True),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_feedback_aggregates_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_aggregates")),
        sa.UniqueConstraint(
            "tenant_id",
            "actuator_supplier",
            "actuator_sku",
            "fluid_key",
            name="uq_feedback_aggregates_tenant_id_group",
        ),
    )
    with op.batch_alter_table("feedback_aggregates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_aggregates_tenant_id"), ["tenant_id"], unique=False)
    enable_rls(op, "feedback_aggregates")

    op.create_table(
        "feedback_reminders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("procurement_id", sa.Uuid(), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["procurement_id"],
            ["procurements.id"],
            name=op.f("fk_feedback_reminders_procurement_id_procurements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_feedback_reminders_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_reminders")),
        sa.UniqueConstraint("tenant_id", "procurement_id", name="uq_feedback_reminders_tenant_id_procurement_id"),
    )
    with op.batch_alter_table("feedback_reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_reminders_tenant_id"), ["tenant_id"], unique=False)
    enable_rls(op, "feedback_reminders")

    op.create_table(
        "feedback_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("configuration_id", sa.Uuid(), nullable=False),
        sa.Column("procurement_id", sa.Uuid(), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("feedback_ids", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["configuration_id"],
            ["configurations.id"],
            name=op.f("fk_feedback_imports_configuration_id_configurations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_feedback_imports_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["procurement_id"],
            ["procurements.id"],
            name=op.f("fk_feedback_imports_procurement_id_procurements"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_feedback_imports_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_imports")),
        sa.UniqueConstraint("tenant_id", "token", name="uq_feedback_imports_tenant_id_token"),
    )
    with op.batch_alter_table("feedback_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_imports_tenant_id"), ["tenant_id"], unique=False)
    enable_rls(op, "feedback_imports")


def downgrade():
    disable_rls(op, "feedback_imports")
    with op.batch_alter_table("feedback_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_imports_tenant_id"))
    op.drop_table("feedback_imports")
    disable_rls(op, "feedback_reminders")
    with op.batch_alter_table("feedback_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_reminders_tenant_id"))
    op.drop_table("feedback_reminders")
    disable_rls(op, "feedback_aggregates")
    with op.batch_alter_table("feedback_aggregates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_aggregates_tenant_id"))
    op.drop_table("feedback_aggregates")
