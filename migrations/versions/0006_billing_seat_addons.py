"""per-workspace prices: the seat add-on's quantity (extra seats) and the offline credit balance

A plan's price is per workspace and includes the plan's seats; seats beyond them are an add-on
item. `billing_subscriptions.seats` (the quantity of a per-seat price) gives way to `extra_seats`
(the add-on's quantity) and `credit_balance` (offline provider: credit from a change, in minor
units); `tenants.extra_seats` mirrors the add-on as `tenants.plan` mirrors the price. Existing
subscriptions start with no extra seats: under the old per-seat price every member was billed,
and the new workspace price covers the included seats.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


# Plain ALTER TABLE ... ADD/DROP COLUMN on both engines (SQLite has DROP COLUMN since 3.35): a batch
# "move and copy" of these tables would drop the old table with foreign keys on, and SQLite would run
# the ON DELETE actions of every table that points at it (invoices.subscription_id, every tenant_id).


def upgrade():
    op.add_column("billing_subscriptions", sa.Column("extra_seats", sa.Integer(), nullable=False, server_default="0"))
    op.add_column(
        "billing_subscriptions", sa.Column("credit_balance", sa.Integer(), nullable=False, server_default="0")
    )
    op.execute("ALTER TABLE billing_subscriptions DROP COLUMN seats")
    op.add_column("tenants", sa.Column("extra_seats", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    op.execute("ALTER TABLE tenants DROP COLUMN extra_seats")
    op.add_column("billing_subscriptions", sa.Column("seats", sa.Integer(), nullable=False, server_default="1"))
    op.execute("ALTER TABLE billing_subscriptions DROP COLUMN credit_balance")
    op.execute("ALTER TABLE billing_subscriptions DROP COLUMN extra_seats")
