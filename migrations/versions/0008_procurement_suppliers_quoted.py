"""orders keep what every supplier quoted; timeline events carry a tone

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-14 10:00:00.000000

Both columns are nullable: orders created before this keep suppliers_quoted NULL (the page
says it was not recorded), and older events without a tone read from their status.
The tables already have row-level security (0003); adding columns does not change it.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("procurements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suppliers_quoted", sa.JSON(), nullable=True))
    with op.batch_alter_table("procurement_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tone", sa.String(length=12), nullable=True))


def downgrade():
    with op.batch_alter_table("procurement_events", schema=None) as batch_op:
        batch_op.drop_column("tone")
    with op.batch_alter_table("procurements", schema=None) as batch_op:
        batch_op.drop_column("suppliers_quoted")
