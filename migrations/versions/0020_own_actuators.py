"""own_actuators: a workspace's own actuators, ranked beside the catalog for that workspace only (issue 12 item 7)

Revision ID: 0020_own_actuators
Revises: 0019_custom_models
Create Date: 2026-12-04 18:50:00.000000

Tenant-owned, with row-level security like the other tenant tables.
"""

import sqlalchemy as sa
from alembic import op

from aerospec.models import UTCDateTime
from aerospec.tenancy.rls import disable_rls, enable_rls

revision = "0020_own_actuators"
down_revision = "0019_custom_models"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tenant_actuators",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("maker", sa.String(length=80), nullable=True),
        sa.Column("spray_type", sa.String(length=20), nullable=False),
        sa.Column("orifice_mm", sa.Float(), nullable=False),
        sa.Column("swirl_chamber_mm", sa.Float(), nullable=True),
        sa.Column("inlet_area_mm2", sa.Float(), nullable=True),
        sa.Column("max_pressure_bar", sa.Float(), nullable=False),
        sa.Column("min_viscosity_cp", sa.Float(), nullable=False),
        sa.Column("max_viscosity_cp", sa.Float(), nullable=False),
        sa.Column("body_material", sa.String(length=30), nullable=False),
        sa.Column("seal_material", sa.String(length=30), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("import_token", sa.String(length=64), nullable=True),
        sa.Column("family", sa.String(length=20), nullable=True),
        sa.Column("rated_flow_ml_min", sa.Float(), nullable=True),
        sa.Column("rated_pressure_bar", sa.Float(), nullable=True),
        sa.Column("rated_density_kg_m3", sa.Float(), nullable=True),
        sa.Column("flow_number_ml_min_sqrtbar", sa.Float(), nullable=True),
        sa.Column("flow_exponent", sa.Float(), nullable=True),
        sa.Column("angle_table", sa.JSON(), nullable=True),
        sa.Column("full_cone_insert", sa.String(length=10), nullable=True),
        sa.Column("orifice_nominal", sa.Boolean(), nullable=True),
        sa.Column("stem_orifice_mm", sa.Float(), nullable=True),
        sa.Column("housing_orifice_mm", sa.Float(), nullable=True),
        sa.Column("vapour_tap_mm", sa.Float(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_actuators_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_tenant_actuators_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_actuators")),
        sa.UniqueConstraint("tenant_id", "sku", name="uq_tenant_actuators_tenant_id_sku"),
    )
    with op.batch_alter_table("tenant_actuators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenant_actuators_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_tenant_actuators_tenant_id_import_token", ["tenant_id", "import_token"], unique=False
        )
    enable_rls(op, "tenant_actuators")


def downgrade():
    disable_rls(op, "tenant_actuators")
    with op.batch_alter_table("tenant_actuators", schema=None) as batch_op:
        batch_op.drop_index("ix_tenant_actuators_tenant_id_import_token")
        batch_op.drop_index(batch_op.f("ix_tenant_actuators_tenant_id"))
    op.drop_table("tenant_actuators")
