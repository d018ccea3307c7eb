"""feedback: lab results per configuration and actuator, with the prediction they were measured against

Revision ID: 0013_feedback
Revises: 0012_admin_console
Create Date: 2026-12-03 15:50:00.000000

Tenant-owned: row-level security on PostgreSQL like the other tenant tables.
"""

import sqlalchemy as sa
from alembic import op

from aerospec.models import UTCDateTime
from aerospec.tenancy.rls import disable_rls, enable_rls

revision = "0013_feedback"
down_revision = "0012_admin_console"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "feedback",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("configuration_id", sa.Uuid(), nullable=False),
        sa.Column("actuator_sku", sa.String(length=40), nullable=False),
        sa.Column("actuator_supplier", sa.String(length=20), nullable=False),
        sa.Column("procurement_id", sa.Uuid(), nullable=True),
        sa.Column("pressure_bar", sa.Float(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("spray_cone_angle_actual", sa.Float(), nullable=True),
        sa.Column("droplet_size_range_um", sa.JSON(), nullable=True),
        sa.Column("flow_rate_actual_ml_min", sa.Float(), nullable=True),
        sa.Column("dv10_um", sa.Float(), nullable=True),
        sa.Column("dv50_um", sa.Float(), nullable=True),
        sa.Column("dv90_um", sa.Float(), nullable=True),
        sa.Column("smd_um", sa.Float(), nullable=True),
        sa.Column("measurement_method", sa.String(length=20), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("measured_by", sa.String(length=120), nullable=True),
        sa.Column("pass_fail", sa.String(length=4), nullable=True),
        sa.Column("issue_description", sa.Text(), nullable=True),
        sa.Column("prediction_matched", sa.Boolean(), nullable=True),
        sa.Column("confidence_in_prediction", sa.Integer(), nullable=True),
        sa.Column("test_conditions", sa.Text(), nullable=True),
        sa.Column("prediction", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["configuration_id"],
            ["configurations.id"],
            name=op.f("fk_feedback_configuration_id_configurations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_feedback_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["procurement_id"],
            ["procurements.id"],
            name=op.f("fk_feedback_procurement_id_procurements"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_feedback_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_feedback_tenant_id_configuration_id_created_at",
            ["tenant_id", "configuration_id", "created_at"],
            unique=False,
        )
        batch_op.create_index("ix_feedback_tenant_id_actuator_sku", ["tenant_id", "actuator_sku"], unique=False)
    enable_rls(op, "feedback")


def downgrade():
    disable_rls(op, "feedback")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_tenant_id_actuator_sku")
        batch_op.drop_index("ix_feedback_tenant_id_configuration_id_created_at")
        batch_op.drop_index(batch_op.f("ix_feedback_tenant_id"))
    op.drop_table("feedback")
