"""audit log entries keep the name of their object (shown after it is deleted)

Revision ID: 0007
Revises: 0006

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    # audit_logs already has row-level security (0001); a new column changes nothing there.
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_name", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.drop_column("target_name")
