"""custom_models: a workspace's own models trained on a selection of its lab results (feature custom_models)

Revision ID: 0019_custom_models
Revises: 0018_webhooks
Create Date: 2026-12-04 02:40:00.000000

Tenant-owned, with row-level security like the other tenant tables.
"""

import sqlalchemy as sa
from alembic import op

from aerospec.models import UTCDateTime
from aerospec.tenancy.rls import disable_rls, enable_rls

revision = "0019_custom_models"
down_revision = "0018_webhooks"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "custom_models",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("model_type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("rows_used", sa.Integer(), nullable=True),
        sa.Column("rows_held_out", sa.Integer(), nullable=True),
        sa.Column("trained_at", UTCDateTime(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_custom_models_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_custom_models_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_models")),
    )
    with op.batch_alter_table("custom_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custom_models_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_custom_models_tenant_id_created_at", ["tenant_id", "created_at"], unique=False)
    enable_rls(op, "custom_models")


def downgrade():
    disable_rls(op, "custom_models")
    with op.batch_alter_table("custom_models", schema=None) as batch_op:
        batch_op.drop_index("ix_custom_models_tenant_id_created_at")
        batch_op.drop_index(batch_op.f("ix_custom_models_tenant_id"))
    op.drop_table("custom_models")
