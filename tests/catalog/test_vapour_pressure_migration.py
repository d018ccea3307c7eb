"""Migration 0005: vapour pressures the old fluid form stored 100× too small are corrected,
in the fluids and in the configurations (columns, version snapshots, diffs) copied from them;
every other row is left exactly as it was; the downgrade puts the numbers back.

Rows are written at the revision before 0005 in the wrong state the old form left, on a
database of their own (SQLite, and PostgreSQL with row-level security when DATABASE_URL
points at a server), with plain SQL, as the old code would have left them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from aerospec.models import UTCDateTime
from tests import migration_db

MIGRATION = migration_db.load("*_fluid_units_fix.py")

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
FORM = "entered by the user"
SDS_LINE = "SDS glycol.pdf, section 9: 'Vapour pressure: 2.3 kPa at 20 °C'"

tenants = migration_db.TENANTS
fluids = sa.table(
    "tenant_fluids",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    *(sa.column(c) for c in ("name", "category")),
    *(sa.column(c, sa.Float()) for c in ("viscosity_cp", "density_kg_m3", "surface_tension_mn_m")),
    sa.column("vapour_pressure_kpa", sa.Float()),
    sa.column("liquefied_propellant", sa.Boolean()),
    sa.column("sources", sa.JSON()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
configurations = sa.table(
    "configurations",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("fluid_id", sa.Uuid()),
    sa.column("name"),
    *(sa.column(c, sa.Float()) for c in ("fluid_viscosity_cP", "fluid_density_kg_m3", "fluid_surface_tension_mN_m")),
    sa.column("fluid_vapour_pressure_kPa", sa.Float()),
    sa.column("fluid_liquefied_propellant", sa.Boolean()),
    sa.column("max_pressure_bar", sa.Float()),
    sa.column("status"),
    sa.column("tags", sa.JSON()),
    sa.column("compatible_actuators", sa.JSON()),
    sa.column("version", sa.Integer()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
versions = sa.table(
    "configuration_versions",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("configuration_id", sa.Uuid()),
    sa.column("version", sa.Integer()),
    sa.column("data", sa.JSON()),
    sa.column("diff", sa.JSON()),
    sa.column("created_at", UTCDateTime()),
)


@pytest.fixture(params=migration_db.engines())
def database(request, tmp_path):
    """A database of its own at the revision before 0005 (an app role without superuser on PostgreSQL)."""
    with migration_db.database_at(request.param, tmp_path, MIGRATION.down_revision) as engine:
        yield engine


def _write(engine, statements) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # FORCE RLS: the owner sees nothing without a tenant or the bypass
            conn.execute(sa.text("SELECT set_config('app.bypass_rls', 'on', true)"))
        for statement in statements:
            conn.execute(statement)


def _read(engine, table, key="id") -> dict:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT set_config('app.bypass_rls', 'on', true)"))
        return {row._mapping[key]: dict(row._mapping) for row in conn.execute(sa.select(table))}


def _tenant(slug: str) -> tuple[uuid.UUID, sa.Insert]:
    tenant_id = uuid.uuid4()
    return tenant_id, tenants.insert().values(
        id=tenant_id, name=slug, slug=slug, plan="starter", subscription_status="trialing",
        billing_email=f"{slug}@example.com", limits={}, features={}, api_enabled_for_users=False,
        created_at=T0, updated_at=T0,
    )  # fmt: skip


def _fluid(tenant_id, name: str, vp: float | None, source: str | None, edited: bool = False) -> tuple:
    fluid_id = uuid.uuid4()
    sources = {"viscosity_cp": FORM, **({"vapour_pressure_kpa": source} if source else {})}
    created = T0
    # The old code stamped created_at and updated_at with two utcnow() calls: microseconds apart.
    updated = T0 + (timedelta(days=2) if edited else timedelta(microseconds=40))
    return fluid_id, fluids.insert().values(
        id=fluid_id, tenant_id=tenant_id, name=name, category="other", viscosity_cp=1.0, density_kg_m3=997.0,
        surface_tension_mn_m=72.0, vapour_pressure_kpa=vp, liquefied_propellant=False, sources=sources,
        created_at=created, updated_at=updated,
    )  # fmt: skip


def _configuration(tenant_id, fluid_id, vp: float | None) -> tuple:
    config_id = uuid.uuid4()
    return config_id, configurations.insert().values(
        id=config_id, tenant_id=tenant_id, fluid_id=fluid_id, name="Config", fluid_viscosity_cP=1.0,
        fluid_density_kg_m3=997.0, fluid_surface_tension_mN_m=72.0, fluid_vapour_pressure_kPa=vp,
        fluid_liquefied_propellant=False, max_pressure_bar=5.0, status="draft", tags=[], compatible_actuators=[],
        version=1, created_at=T0, updated_at=T0,
    )  # fmt: skip


def _version(tenant_id, config_id, number: int, vp, diff: dict) -> tuple:
    version_id = uuid.uuid4()
    data = {"name": "Config", "fluid_vapour_pressure_kPa": vp, "fluid_density_kg_m3": 997.0}
    return version_id, versions.insert().values(
        id=version_id, tenant_id=tenant_id, configuration_id=config_id, version=number, data=data, diff=diff,
        created_at=T0 + timedelta(hours=number),
    )  # fmt: skip


def test_form_stored_vapour_pressures_are_corrected_and_nothing_else_changes(database):
    a, insert_a = _tenant("acme")
    b, insert_b = _tenant("bolt")
    # What the old form stored for 5.5 kPa, 0.8 psi and 1 bar (to_bar's number in the kPa column).
    kpa_id, kpa = _fluid(a, "Typed 5.5 kPa", 0.055, FORM)
    psi_id, psi = _fluid(a, "Typed 0.8 psi", 0.8 * 6894.757293168 / 1000 / 100, FORM)
    bar_id, bar = _fluid(b, "Typed 1 bar", 1.0, FORM)
    # Typed 5.5 kPa, then saved again from the edit form: 0.055 → 0.00055.
    edited_id, edited = _fluid(a, "Edited", 0.00055, FORM, edited=True)
    # Left alone: the SDS path (right), a user's SDS entry (right), the fixed form, no vapour pressure.
    sds_id, sds = _fluid(a, "From SDS", 2.3, SDS_LINE)
    sds_user_id, sds_user = _fluid(a, "SDS, typed by Ada", 4.0, "entered by Ada Formulator")
    fixed_id, fixed = _fluid(a, "Fixed form", 5.5, "entered by the user as 5.5 kPa")
    none_id, none = _fluid(a, "No vapour pressure", None, None)

    copied_id, copied = _configuration(a, kpa_id, 0.055)  # the wizard copied the wrong number
    v1_id, v1 = _version(a, copied_id, 1, 0.055, {})
    v2_id, v2 = _version(a, copied_id, 2, 0.055, {"name": ["Old", "Config"]})
    retyped_id, retyped = _configuration(a, kpa_id, 3.0)  # then corrected by hand in its kPa field
    r1_id, r1 = _version(a, retyped_id, 1, 0.055, {})
    r2_id, r2 = _version(a, retyped_id, 2, 3.0, {"fluid_vapour_pressure_kPa": [0.055, 3.0]})
    typed_id, typed = _configuration(a, None, 0.055)  # typed into the wizard: kPa, never converted
    sds_config_id, sds_config = _configuration(a, sds_id, 2.3)
    foreign_id, foreign = _configuration(b, kpa_id, 0.055)  # another tenant's row naming A's fluid id
    bar_config_id, bar_config = _configuration(b, bar_id, 1.0)
    _write(database, [insert_a, insert_b, kpa, psi, bar, edited, sds, sds_user, fixed, none, copied, v1, v2,
                      retyped, r1, r2, typed, sds_config, foreign, bar_config])  # fmt: skip
    before = {"fluids": _read(database, fluids), "configs": _read(database, configurations),
              "versions": _read(database, versions)}  # fmt: skip
    if database.dialect.name == "postgresql":
        # The migration's role owns the tables and FORCE RLS applies to it: without the bypass it
        # would see, and so correct, nothing.
        with database.begin() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(fluids)).scalar() == 0

    upgrade(revision=MIGRATION.revision)

    after = _read(database, fluids)
    assert after[kpa_id]["vapour_pressure_kpa"] == pytest.approx(5.5)
    assert after[psi_id]["vapour_pressure_kpa"] == pytest.approx(5.5158058, rel=1e-7)
    assert after[bar_id]["vapour_pressure_kpa"] == pytest.approx(100.0)
    for fluid_id in (kpa_id, psi_id, bar_id):
        source = after[fluid_id]["sources"]["vapour_pressure_kpa"]
        assert source.startswith("entered by the user; multiplied by 100 when AeroSpec was upgraded")
        assert "edited after it was created" not in source
        assert after[fluid_id]["sources"]["viscosity_cp"] == FORM  # other properties keep their source
    # Multiplied once; it says it may still be too small, since every edit divided it again.
    assert after[edited_id]["vapour_pressure_kpa"] == pytest.approx(0.055)
    assert "edited after it was created" in after[edited_id]["sources"]["vapour_pressure_kpa"]
    assert "check it against the data sheet" in after[edited_id]["sources"]["vapour_pressure_kpa"]
    for fluid_id in (sds_id, sds_user_id, fixed_id, none_id):
        assert after[fluid_id] == before["fluids"][fluid_id]
    for fluid_id, row in after.items():
        assert row["updated_at"] == before["fluids"][fluid_id]["updated_at"]

    configs = _read(database, configurations)
    assert configs[copied_id]["fluid_vapour_pressure_kPa"] == pytest.approx(5.5)
    assert configs[bar_config_id]["fluid_vapour_pressure_kPa"] == pytest.approx(100.0)
    for config_id in (retyped_id, typed_id, sds_config_id, foreign_id):
        assert configs[config_id] == before["configs"][config_id]

    history = _read(database, versions)
    assert history[v1_id]["data"]["fluid_vapour_pressure_kPa"] == pytest.approx(5.5)
    assert history[v2_id]["data"]["fluid_vapour_pressure_kPa"] == pytest.approx(5.5)
    assert history[v2_id]["diff"] == {"name": ["Old", "Config"]}
    # The hand-corrected configuration: its first snapshot was the copied wrong number, its 3.0 stays.
    assert history[r1_id]["data"]["fluid_vapour_pressure_kPa"] == pytest.approx(5.5)
    assert history[r2_id]["data"]["fluid_vapour_pressure_kPa"] == 3.0
    assert history[r2_id]["diff"]["fluid_vapour_pressure_kPa"] == [pytest.approx(5.5), 3.0]
    for version_id in (v1_id, v2_id, r1_id, r2_id):
        assert history[version_id]["data"]["fluid_density_kg_m3"] == 997.0

    downgrade(revision=MIGRATION.down_revision)

    restored = _read(database, fluids)
    for fluid_id, row in before["fluids"].items():
        assert restored[fluid_id]["sources"] == row["sources"]
        assert restored[fluid_id]["vapour_pressure_kpa"] == _approx(row["vapour_pressure_kpa"])
    restored_configs = _read(database, configurations)
    for config_id, row in before["configs"].items():
        assert restored_configs[config_id]["fluid_vapour_pressure_kPa"] == _approx(row["fluid_vapour_pressure_kPa"])
    restored_versions = _read(database, versions)
    for version_id, row in before["versions"].items():
        for part in ("data", "diff"):
            assert restored_versions[version_id][part].keys() == row[part].keys()
            for key, value in row[part].items():
                assert restored_versions[version_id][part][key] == _approx(value), (part, key)


def _approx(value):
    """The value back within float rounding (×100 then ÷100); text and None exactly."""
    if isinstance(value, float) or (isinstance(value, list) and all(isinstance(v, float) for v in value)):
        return pytest.approx(value, rel=1e-12)
    return value
