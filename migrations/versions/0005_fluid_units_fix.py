"""vapour pressures the fluid form stored 100x too small: fluids and the configurations copied from them

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 18:00:00

A data fix, no schema change (issue 9, item 1). Until this release the fluid form converted
a typed vapour pressure to bar and stored that number in the kPa column, so 5.5 kPa was
stored as 0.055 and 1 bar as 1. The SDS review converted correctly.

Which rows were stored through the form. Only the form's save wrote the exact source
"entered by the user" for a property (create_tenant_fluid/update_tenant_fluid without
sources); the SDS confirm always passes its own ("SDS <file>, section 9: ..." or
"entered by <name or email> ..."), library fluids live in another table, and the fixed form
writes "entered by the user as <number> <unit>". So a tenant fluid whose
sources["vapour_pressure_kpa"] is exactly "entered by the user" had its vapour pressure
stored by the broken form, whether it was created there or an SDS fluid edited there
(an edit re-converts the prefilled kPa value and re-sources it).

What cannot be known. Every save of the edit form divided the vapour pressure by 100 again
(it was prefilled in kPa and converted once more), and nothing records how many times a
fluid was saved. Rule used: multiply by 100 once. A fluid never edited after it was created
(updated_at within a second of created_at) is then exactly right. A fluid edited after it
was created may still be 100^n too small; its source says so, so the person sees, on the
fluid's page, that the value needs checking. A person who noticed the bug and typed a
compensating value (e.g. 550 for 5.5 kPa) cannot be told apart either; they get the same
visible note only when they edited.

Configurations copy the fluid's values (columns fluid_*; their versions keep snapshots and
diffs; the CSV/JSON exports read the columns). Where a configuration's fluid_id is
a corrected fluid of the same tenant, every copy of the fluid's wrong number is multiplied
by 100: the column, and the version snapshots and diff entries, so that restoring a version
does not bring it back (equal within a relative 1e-5: the configuration edit form rounds to
six digits). A configuration holding another number was either edited in its own kPa field
(which never had the bug) or copied before a later edit of the fluid; the two cannot be
told apart, so that number is left alone. Rankings saved with the wrong number are not
recomputed here.

Row-level security: the migration runs as the tables' owner and FORCE ROW LEVEL SECURITY
applies to it, so with no tenant in context it would see no row. It sets the policies'
transaction-local bypass (app.bypass_rls = 'on', the clause tenancy.rls writes into every
policy) for its own statements and clears it before returning.

Downgrade puts the numbers back: fluids carrying this migration's note are divided by 100
and get their old source back, and the configurations and versions the same rule matches
(fluid_id of such a fluid, same number) are divided by 100. It is exact for rows nobody
changed after the upgrade.
"""

import math

import sqlalchemy as sa
from alembic import context, op

import aerospec.models

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

FACTOR = 100.0
COLUMN = "vapour_pressure_kpa"
CONFIG_COLUMN = "fluid_vapour_pressure_kPa"
FORM_SOURCE = "entered by the user"
CORRECTED = (
    "entered by the user; multiplied by 100 when AeroSpec was upgraded, because the fluid form "
    "had stored vapour pressures 100 times too small"
)
EDITED_NOTE = (
    ". This fluid was also edited after it was created, and each save divided the value by 100 "
    "again, so it may still be too small: check it against the data sheet and correct it here"
)
EDITED_AFTER_SECONDS = 1.0

tenant_fluids = sa.table(
    "tenant_fluids",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column(COLUMN, sa.Float()),
    sa.column("sources", sa.JSON()),
    sa.column("created_at", aerospec.models.UTCDateTime()),
    sa.column("updated_at", aerospec.models.UTCDateTime()),
)
configurations = sa.table(
    "configurations",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("fluid_id", sa.Uuid()),
    sa.column(CONFIG_COLUMN, sa.Float()),
)
versions = sa.table(
    "configuration_versions",
    sa.column("id", sa.Uuid()),
    sa.column("configuration_id", sa.Uuid()),
    sa.column("data", sa.JSON()),
    sa.column("diff", sa.JSON()),
)


def _same(a, b) -> bool:
    return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b, rel_tol=1e-5)


def _bypass_rls(bind, on: bool) -> None:
    # SECURITY: transaction-local, for this data fix only; cleared again before returning.
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT set_config('app.bypass_rls', :v, true)"), {"v": "on" if on else ""})


def _scale_configurations(bind, wrong_by_fluid: dict, factor: float) -> None:
    """Multiply by `factor` every copy of a fluid's number in the configurations made from it
    (the column, version snapshots, diff entries); other numbers are left alone."""
    if not wrong_by_fluid:
        return
    rows = bind.execute(
        sa.select(
            configurations.c.id, configurations.c.tenant_id, configurations.c.fluid_id, configurations.c[CONFIG_COLUMN]
        ).where(configurations.c.fluid_id.in_(list(wrong_by_fluid)))
    ).all()
    for config_id, tenant_id, fluid_id, value in rows:
        fluid_tenant, wrong = wrong_by_fluid[fluid_id]
        if tenant_id != fluid_tenant:
            continue
        if _same(value, wrong):
            bind.execute(
                configurations.update().where(configurations.c.id == config_id).values({CONFIG_COLUMN: value * factor})
            )
        for version_id, data, diff in bind.execute(
            sa.select(versions.c.id, versions.c.data, versions.c.diff).where(versions.c.configuration_id == config_id)
        ).all():
            data, diff = dict(data or {}), dict(diff or {})
            changed = False
            if _same(data.get(CONFIG_COLUMN), wrong):
                data[CONFIG_COLUMN] *= factor
                changed = True
            pair = diff.get(CONFIG_COLUMN)
            if isinstance(pair, list) and any(_same(v, wrong) for v in pair):
                diff[CONFIG_COLUMN] = [v * factor if _same(v, wrong) else v for v in pair]
                changed = True
            if changed:
                bind.execute(versions.update().where(versions.c.id == version_id).values(data=data, diff=diff))


def _require_online() -> None:
    if context.is_offline_mode():
        raise RuntimeError("0005 corrects rows it has to read: run it against the database, not with --sql")


def _fluids_with_a_vapour_pressure(bind) -> list:
    return bind.execute(sa.select(tenant_fluids).where(tenant_fluids.c[COLUMN].is_not(None))).all()


def _set_fluid(bind, fluid_id, value: float, sources: dict) -> None:
    bind.execute(tenant_fluids.update().where(tenant_fluids.c.id == fluid_id).values({COLUMN: value, "sources": sources}))


def upgrade():
    _require_online()
    bind = op.get_bind()
    _bypass_rls(bind, True)
    wrong_by_fluid = {}
    for fluid_id, tenant_id, value, sources, created_at, updated_at in _fluids_with_a_vapour_pressure(bind):
        sources = dict(sources or {})
        if sources.get(COLUMN) != FORM_SOURCE:
            continue
        edited = (updated_at - created_at).total_seconds() > EDITED_AFTER_SECONDS
        _set_fluid(bind, fluid_id, value * FACTOR, {**sources, COLUMN: CORRECTED + (EDITED_NOTE if edited else "")})
        wrong_by_fluid[fluid_id] = (tenant_id, value)
    _scale_configurations(bind, wrong_by_fluid, FACTOR)
    # An error above aborts the transaction, and the setting with it.
    _bypass_rls(bind, False)


def downgrade():
    _require_online()
    bind = op.get_bind()
    _bypass_rls(bind, True)
    right_by_fluid = {}
    for fluid_id, tenant_id, value, sources, _created_at, _updated_at in _fluids_with_a_vapour_pressure(bind):
        sources = dict(sources or {})
        if not str(sources.get(COLUMN, "")).startswith(CORRECTED):
            continue
        _set_fluid(bind, fluid_id, value / FACTOR, {**sources, COLUMN: FORM_SOURCE})
        right_by_fluid[fluid_id] = (tenant_id, value)
    _scale_configurations(bind, right_by_fluid, 1 / FACTOR)
    _bypass_rls(bind, False)
