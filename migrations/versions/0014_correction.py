"""correction: the correction-model registry (shared, and each workspace's own layer) and the sharing setting

Revision ID: 0014_correction
Revises: 0013_feedback
Create Date: 2026-12-04 02:00:00.000000

correction_models is platform data (the shared model: no tenant); tenant_correction_models is
tenant-owned, with row-level security like the other tenant tables. tenants.share_lab_results is on
for every workspace, existing ones included (the setting's default).
"""

import sqlalchemy as sa
from alembic import op

from aerospec.models import UTCDateTime
from aerospec.tenancy.rls import disable_rls, enable_rls

revision = "0014_correction"
down_revision = "0013_feedback"
branch_labels = None
depends_on = None


def _columns():
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("trained_at", UTCDateTime(), nullable=False),
        sa.Column("trained_through", UTCDateTime(), nullable=True),
        sa.Column("rows_used", sa.Integer(), nullable=False),
        sa.Column("rows_held_out", sa.Integer(), nullable=False),
        sa.Column("heldout_error", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("promoted_at", UTCDateTime(), nullable=True),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


def upgrade():
    op.create_table("correction_models", *_columns(), sa.PrimaryKeyConstraint("id", name=op.f("pk_correction_models")))
    with op.batch_alter_table("correction_models", schema=None) as batch_op:
        batch_op.create_index("ix_correction_models_status", ["status"], unique=False)
        batch_op.create_index("uq_correction_models_version", ["version"], unique=True)
    op.create_table(
        "tenant_correction_models",
        *_columns(),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tenant_correction_models_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_correction_models")),
    )
    with op.batch_alter_table("tenant_correction_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenant_correction_models_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_tenant_correction_models_tenant_id_status", ["tenant_id", "status"], unique=False)
        batch_op.create_index("uq_tenant_correction_models_tenant_id_version", ["tenant_id", "version"], unique=True)
    enable_rls(op, "tenant_correction_models")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("share_lab_results", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade():
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("share_lab_results")
    disable_rls(op, "tenant_correction_models")
    with op.batch_alter_table("tenant_correction_models", schema=None) as batch_op:
        batch_op.drop_index("uq_tenant_correction_models_tenant_id_version")
        batch_op.drop_index("ix_tenant_correction_models_tenant_id_status")
        batch_op.drop_index(batch_op.f("ix_tenant_correction_models_tenant_id"))
    op.drop_table("tenant_correction_models")
    with op.batch_alter_table("correction_models", schema=None) as batch_op:
        batch_op.drop_index("uq_correction_models_version")
        batch_op.drop_index("ix_correction_models_status")
    op.drop_table("correction_models")
