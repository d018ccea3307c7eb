"""feedback_files: the instrument export attached to a lab result

Revision ID: 0015_labpages
Revises: 0014_correction
Create Date: 2026-12-04 01:45:00.000000

Tenant-owned: row-level security on PostgreSQL like the other tenant tables.
"""

import sqlalchemy as sa
from alembic import op

from aerospec.models import UTCDateTime
from aerospec.tenancy.rls import disable_rls, enable_rls

revision = "0015_labpages"
down_revision = "0014_correction"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "feedback_files",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("feedback_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"], ["feedback.id"], name=op.f("fk_feedback_files_feedback_id_feedback"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_feedback_files_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_files")),
    )
    with op.batch_alter_table("feedback_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_files_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_feedback_files_tenant_id_sha256", ["tenant_id", "sha256"], unique=True)
        batch_op.create_index("ix_feedback_files_tenant_id_feedback_id", ["tenant_id", "feedback_id"], unique=True)
    enable_rls(op, "feedback_files")


def downgrade():
    disable_rls(op, "feedback_files")
    with op.batch_alter_table("feedback_files", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_files_tenant_id_feedback_id")
        batch_op.drop_index("ix_feedback_files_tenant_id_sha256")
        batch_op.drop_index(batch_op.f("ix_feedback_files_tenant_id"))
    op.drop_table("feedback_files")
