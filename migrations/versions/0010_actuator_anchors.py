"""actuators carry makers' anchors: family, rated flow, flow exponent, angle table, insert, valve restrictions

Revision ID: 0010_actuator_anchors
Revises: 0009_defence
Create Date: 2026-12-03 14:30:00.000000

Every column is nullable (None = the maker's figure is not known); existing rows keep NULL until a
seed or a CSV import fills them. The actuator catalog is global (not tenant-owned), so there is no
row-level security to change.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010_actuator_anchors"
down_revision = "0009_defence"
branch_labels = None
depends_on = None

FLOATS = (
    "rated_flow_ml_min",
    "rated_pressure_bar",
    "rated_density_kg_m3",
    "flow_number_ml_min_sqrtbar",
    "flow_exponent",
    "stem_orifice_mm",
    "housing_orifice_mm",
    "vapour_tap_mm",
)


def upgrade():
    with op.batch_alter_table("actuators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("family", sa.String(length=20), nullable=True))
        for name in FLOATS:
            batch_op.add_column(sa.Column(name, sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("angle_table", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("full_cone_insert", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("orifice_nominal", sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table("actuators", schema=None) as batch_op:
        for name in ("orifice_nominal", "full_cone_insert", "angle_table", *reversed(FLOATS), "family"):
            batch_op.drop_column(name)
