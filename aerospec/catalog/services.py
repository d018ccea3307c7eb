"""Catalog logic: the fluid library and tenants' fluids, the actuator catalog, CSV import/export.

Plain functions with explicit session/tenant/actor arguments; they flush, never commit,
and raise aerospec.errors exceptions. The configuration wizard calls `list_fluids`,
`get_fluid` and `actuator_catalog`.
"""

from __future__ import annotations

import csv
import io
import math
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aerospec import search
from aerospec.accounts.services import ClientInfo
from aerospec.catalog import seed, units
from aerospec.catalog.models import Actuator, Fluid, TenantFluid
from aerospec.compliance import services as audit
from aerospec.engine import anchors
from aerospec.engine import types as engine
from aerospec.errors import NotFound, ValidationFailed
from aerospec.pagination import Page, window

FLUID_CATEGORIES = {
    "base": "Spray bases",
    "solvent": "Solvents",
    "blend": "Blends",
    "oil": "Oils",
    "propellant": "Propellants",
    "other": "Other",
}
FLUID_PROPERTIES = (
    "viscosity_cp",
    "density_kg_m3",
    "surface_tension_mn_m",
    "flash_point_c",
    "vapour_pressure_kpa",
    "boiling_point_c",
)
REQUIRED_PROPERTIES = ("viscosity_cp", "density_kg_m3", "surface_tension_mn_m")
AnyFluid = Fluid | TenantFluid


# ---- fluids


def seed_fluids(session: Session) -> tuple[int, int]:
    """Upsert the library from data/fluids.json by name; returns (created, updated)."""
    existing = {f.name: f for f in session.scalars(select(Fluid))}
    created = updated = 0
    columns = ("category", "liquefied_propellant", "sources", "notes", *FLUID_PROPERTIES)
    for entry in seed.fluid_library():
        row = existing.get(entry["name"])
        if row is None:
            session.add(Fluid(name=entry["name"], **{c: entry.get(c) for c in columns}))
            created += 1
            continue
        changed = False
        for column in columns:
            if getattr(row, column) != entry.get(column):
                setattr(row, column, entry.get(column))
                changed = True
        updated += changed
    session.flush()
    return created, updated


def list_fluids(session: Session, tenant, q: str | None = None, category: str | None = None) -> list[AnyFluid]:
    """The tenant's own fluids first, then the library, each by name; optional search and category."""

    def filtered(model):
        stmt = select(model)
        if q:
            stmt = stmt.where(search.contains(model.name, q))
        if category:
            stmt = stmt.where(model.category == category)
        return stmt.order_by(func.lower(model.name))

    own = list(session.scalars(filtered(TenantFluid).where(TenantFluid.tenant_id == tenant.id)))
    return own + list(session.scalars(filtered(Fluid)))


def get_fluid(session: Session, tenant, fluid_id: uuid.UUID | str) -> AnyFluid:
    """A library fluid or one of this tenant's fluids by id; NotFound otherwise (never another tenant's)."""
    try:
        fluid_id = fluid_id if isinstance(fluid_id, uuid.UUID) else uuid.UUID(str(fluid_id))
    except ValueError as error:
        raise NotFound("No such fluid.") from error
    # SECURITY: the tenant filter is explicit here too, not only the ORM guard's.
    own = session.scalar(select(TenantFluid).where(TenantFluid.id == fluid_id, TenantFluid.tenant_id == tenant.id))
    if own is not None:
        return own
    library = session.scalar(select(Fluid).where(Fluid.id == fluid_id))
    if library is None:
        raise NotFound("No such fluid.")
    return library


def is_custom(fluid: AnyFluid) -> bool:
    return isinstance(fluid, TenantFluid)


def validate_fluid_values(values: dict) -> dict:
    """Check name, category and the physical range of each property; raise ValidationFailed
    with a message per field. `values` hold converted numbers (stored units) or None."""
    errors: dict[str, list[str]] = {}
    name = (values.get("name") or "").strip()
    if not name:
        errors["name"] = ["Give the fluid a name."]
    elif len(name) > 120:
        errors["name"] = ["Keep the name under 120 characters."]
    category = values.get("category") or "other"
    if category not in FLUID_CATEGORIES:
        errors["category"] = ["Choose a category from the list."]
    clean = {"name": name, "category": category}
    for prop in FLUID_PROPERTIES:
        value = values.get(prop)
        if value is None:
            if prop in REQUIRED_PROPERTIES:
                errors[prop] = [f"{units.RANGES[prop].label} is required."]
            clean[prop] = None
            continue
        message = units.check_range(prop, value)
        if message:
            errors[prop] = [message + "."]
        clean[prop] = value
    clean["liquefied_propellant"] = bool(values.get("liquefied_propellant"))
    if (
        clean["liquefied_propellant"]
        and clean.get("vapour_pressure_kpa") is None
        and "vapour_pressure_kpa" not in errors
    ):
        errors["vapour_pressure_kpa"] = ["A liquefied propellant needs its vapour pressure at 25 °C."]
    clean["notes"] = (values.get("notes") or "").strip() or None
    if errors:
        raise ValidationFailed("Some fields need attention.", field_errors=errors)
    return clean


def _entered_sources(clean: dict, sources: dict | None) -> dict:
    given = dict(sources or {})
    return {p: given.get(p, "entered by the user") for p in FLUID_PROPERTIES if clean.get(p) is not None}


def create_tenant_fluid(
    session: Session, tenant, actor, values: dict, *, sources: dict | None = None, sds_document_id=None
) -> TenantFluid:
    """Save a custom fluid for this tenant (values in stored units; ranges checked)."""
    clean = validate_fluid_values(values)
    fluid = TenantFluid(
        tenant_id=tenant.id,
        created_by_id=getattr(actor, "id", None),
        sds_document_id=sds_document_id,
        sources=_entered_sources(clean, sources),
        **clean,
    )
    session.add(fluid)
    session.flush()
    return fluid


def _own_fluid(session: Session, tenant, fluid_id) -> TenantFluid:
    fluid = get_fluid(session, tenant, fluid_id)
    if not isinstance(fluid, TenantFluid):
        raise NotFound("Library fluids cannot be changed; create your own copy instead.")
    return fluid


def update_tenant_fluid(
    session: Session, tenant, actor, fluid_id, values: dict, *, sources: dict | None = None
) -> TenantFluid:
    """Change a custom fluid; properties whose value changed are marked as entered by the user.

    A value sent back as the edit form showed it (six significant digits) is unchanged: the
    stored number and its source stay as they were."""
    fluid = _own_fluid(session, tenant, fluid_id)
    clean = validate_fluid_values(values)
    new_sources = dict(fluid.sources or {})
    for prop in FLUID_PROPERTIES:
        old = getattr(fluid, prop)
        if clean.get(prop) is None:
            new_sources.pop(prop, None)
        elif units.same_as_shown(old, clean[prop]) and prop in new_sources:
            clean[prop] = old
        elif old != clean[prop] or prop not in new_sources:
            new_sources[prop] = (sources or {}).get(prop, "entered by the user")
    for key, value in clean.items():
        setattr(fluid, key, value)
    fluid.sources = new_sources
    session.flush()
    return fluid


def delete_tenant_fluid(session: Session, tenant, actor, fluid_id) -> str:
    """Delete a custom fluid of this tenant; returns its name."""
    fluid = _own_fluid(session, tenant, fluid_id)
    name = fluid.name
    session.delete(fluid)
    session.flush()
    return name


def fluid_for_engine(fluid: AnyFluid) -> engine.Fluid:
    """The engine's view of a fluid row."""
    return engine.Fluid(
        viscosity_cp=fluid.viscosity_cp,
        density_kg_m3=fluid.density_kg_m3,
        surface_tension_mn_m=fluid.surface_tension_mn_m,
        flash_point_c=fluid.flash_point_c,
        vapour_pressure_kpa=fluid.vapour_pressure_kpa,
        liquefied_propellant=fluid.liquefied_propellant,
    )


# ---- the audit log's view of fluids

FLUID_AUDIT_FIELDS = ("name", "category", *FLUID_PROPERTIES, "liquefied_propellant", "notes")
FLUID_AUDIT_LABELS = {
    "name": "Name",
    "category": "Category",
    "liquefied_propellant": "Liquefied propellant",
    "notes": "Notes",
    **{p: f"{units.RANGES[p].label} ({units.RANGES[p].unit})" for p in FLUID_PROPERTIES},
}


def fluid_snapshot(fluid: TenantFluid) -> dict:
    """The fields of a tenant fluid the audit log compares (stored units)."""
    return {k: getattr(fluid, k) for k in FLUID_AUDIT_FIELDS}


def record_fluid_event(
    session: Session,
    tenant,
    actor,
    fluid: TenantFluid,
    action: str,
    *,
    before: dict | None = None,
    client: ClientInfo | None = None,
    **details,
) -> None:
    """One audit entry for a tenant fluid: created (its values), edited (what really changed), deleted, from an SDS."""
    if action != "fluid.deleted":
        after = fluid_snapshot(fluid)
        changes = audit.changed_fields(before or {}, after, FLUID_AUDIT_FIELDS)
        changes = {k: v for k, v in changes.items() if before is not None or v[1] not in (None, "")}
        if changes:
            details["changes"] = audit.change_list(changes, FLUID_AUDIT_LABELS)
    audit.record(
        session,
        tenant.id,
        action,
        actor=actor,
        client=client,
        target_type="fluid",
        target_id=fluid.id,
        target_name=fluid.name,
        details=details,
    )


audit.register_target_kind(
    "fluid", audit.TargetKind("Fluid", endpoint="catalog.fluid_detail", id_arg="fluid_id", model=TenantFluid)
)


# ---- actuators

ACTUATOR_FIELDS = (
    "supplier", "sku", "name", "spray_type", "orifice_mm", "swirl_chamber_mm", "inlet_area_mm2",
    "max_pressure_bar", "min_viscosity_cp", "max_viscosity_cp", "body_material", "seal_material",
    "unit_price", "currency", "stock", "lead_time_days", "last_synced_at", "is_sample_data",
    *anchors.ANCHOR_FIELDS,
)  # fmt: skip


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9)
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except InvalidOperation:
            return False
    return a == b


def upsert_actuators(session: Session, rows: list[dict]) -> tuple[int, int]:
    """Insert or update actuators by (supplier, sku); unchanged rows are left alone."""
    existing = {(a.supplier, a.sku): a for a in session.scalars(select(Actuator))}
    created = updated = 0
    for data in rows:
        if "angle_table" in data:  # stored as JSON [[bar, deg], ...]; NULL when there is no table
            data = {**data, "angle_table": [list(point) for point in data["angle_table"]] or None}
        row = existing.get((data["supplier"], data["sku"]))
        if row is None:
            row = Actuator(**{k: data[k] for k in ACTUATOR_FIELDS if k in data})
            session.add(row)
            existing[(row.supplier, row.sku)] = row
            created += 1
            continue
        changed = False
        for key in ACTUATOR_FIELDS:
            if key in data and not _same(getattr(row, key), data[key]):
                setattr(row, key, data[key])
                changed = True
        updated += changed
    session.flush()
    return created, updated


def seed_actuators(session: Session) -> tuple[int, int]:
    """Upsert the deterministic sample catalog; returns (created, updated)."""
    return upsert_actuators(session, seed.generate_actuators())


@dataclass
class ActuatorFilters:
    supplier: str | None = None
    spray_type: str | None = None
    family: str | None = None
    orifice_min_mm: float | None = None
    orifice_max_mm: float | None = None
    pressure_min_bar: float | None = None
    viscosity_cp: float | None = None
    body_material: str | None = None
    in_stock: bool = False


ACTUATOR_SORTS = {
    "price": ("Price, lowest first", (Actuator.unit_price, Actuator.sku)),
    "orifice": ("Orifice, smallest first", (Actuator.orifice_mm, Actuator.sku)),
    "pressure": ("Max pressure, highest first", (Actuator.max_pressure_bar.desc(), Actuator.sku)),
    "lead_time": ("Lead time, shortest first", (Actuator.lead_time_days, Actuator.unit_price)),
    "sku": ("SKU", (Actuator.supplier, Actuator.sku)),
}


def list_actuators(
    session: Session, filters: ActuatorFilters, sort: str = "price", page: int = 1, per_page: int = 25
) -> Page:
    """A page of catalog actuators matching the filters, sorted."""
    stmt = list_actuators_query(filters)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page, offset = window(total, page, per_page)
    order = ACTUATOR_SORTS.get(sort, ACTUATOR_SORTS["price"])[1]
    items = list(session.scalars(stmt.order_by(*order).limit(per_page).offset(offset)))
    return Page(items, total, page, per_page)


def list_actuators_query(filters: ActuatorFilters):
    """The select of catalog actuators matching the filters (unordered)."""
    stmt = select(Actuator)
    f = filters
    if f.supplier:
        stmt = stmt.where(Actuator.supplier == f.supplier)
    if f.spray_type:
        stmt = stmt.where(Actuator.spray_type == f.spray_type)
    if f.family:
        stmt = stmt.where(Actuator.family == f.family)
    if f.orifice_min_mm is not None:
        stmt = stmt.where(Actuator.orifice_mm >= f.orifice_min_mm - 1e-9)
    if f.orifice_max_mm is not None:
        stmt = stmt.where(Actuator.orifice_mm <= f.orifice_max_mm + 1e-9)
    if f.pressure_min_bar is not None:
        stmt = stmt.where(Actuator.max_pressure_bar >= f.pressure_min_bar)
    if f.viscosity_cp is not None:
        stmt = stmt.where(Actuator.min_viscosity_cp <= f.viscosity_cp, Actuator.max_viscosity_cp >= f.viscosity_cp)
    if f.body_material:
        stmt = stmt.where(Actuator.body_material == f.body_material)
    if f.in_stock:
        stmt = stmt.where(Actuator.stock > 0)
    return stmt


def get_actuator(session: Session, actuator_id: uuid.UUID) -> Actuator:
    """One catalog actuator; NotFound if there is none with that id."""
    actuator = session.get(Actuator, actuator_id)
    if actuator is None:
        raise NotFound("No such actuator.")
    return actuator


FAMILY_LABELS = anchors.FAMILY_LABELS


def _num(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class AnchorFact:
    """One maker's figure on an actuator page: given (with its value in words) or missing (with
    what the prediction uses instead)."""

    key: str
    label: str
    given: bool
    text: str


def anchor_facts(a) -> list[AnchorFact]:
    """The makers' anchors that apply to this actuator, each given or missing, in words."""
    water = "water" if a.rated_density_kg_m3 is None else f"a fluid of {_num(a.rated_density_kg_m3)} kg/m³"
    if a.rated_flow_ml_min is not None:
        rating = f"{_num(a.rated_flow_ml_min)} ml/min at {_num(a.rated_pressure_bar)} bar, with {water}"
    elif a.flow_number_ml_min_sqrtbar is not None:
        rating = f"flow number {_num(a.flow_number_ml_min_sqrtbar)} ml/min per √bar, with {water}"
    else:
        rating = None
    nominal = {True: "nominal (a catalog size: the real bore may differ)", False: "measured, not nominal"}
    # (key, label, the figure in words or None when missing, what stands in for it when missing)
    rows = [
        ("flow_rating", "Flow rating", rating, "not published: flow is predicted from the geometry and spray type"),
        ("flow_exponent", "Flow exponent", a.flow_exponent is not None and f"flow ∝ pressure^{_num(a.flow_exponent)}",
         "not published: the spray type's calibrated exponent is used"),
        ("angle_table", "Spray angle table", ", ".join(f"{_num(d)}° at {_num(p)} bar" for p, d in a.angle_points),
         "not published: the cone angle is predicted from the geometry and spray type"),
    ]  # fmt: skip
    if a.spray_type == "full_cone":
        insert = a.full_cone_insert and f"{anchors.INSERT_LABELS[a.full_cone_insert]} insert"
        rows.append(("full_cone_insert", "Full-cone insert", insert, "not stated: the angle cannot follow the insert"))
    rows.append(("orifice_nominal", "Orifice size", nominal.get(a.orifice_nominal), "not stated: nominal or measured"))
    if a.family == "aerosol_actuator":
        for key in anchors.VALVE_ANCHORS:
            value = getattr(a, key)
            rows.append((key, anchors.ANCHORS[key].label, value is not None and f"{_num(value)} mm", "not stated"))
    return [AnchorFact(key, label, bool(text), text or missing) for key, label, text, missing in rows]


def actuator_json(a: Actuator) -> dict:
    """An actuator as the API shows it: its columns, its anchors, and which anchors it has and lacks."""
    out = {
        "id": str(a.id),
        **{k: getattr(a, k) for k in ACTUATOR_FIELDS if k not in anchors.ANCHOR_FIELDS and k != "last_synced_at"},
        "unit_price": str(a.unit_price),
        "last_synced_at": a.last_synced_at.isoformat() if a.last_synced_at else None,
    }
    out["anchors"] = {k: getattr(a, k) for k in anchors.ANCHOR_FIELDS}
    out["anchors"]["angle_table"] = [list(point) for point in a.angle_points]
    facts = anchor_facts(a)
    out["anchors_given"] = [f.key for f in facts if f.given]
    out["anchors_missing"] = [f.key for f in facts if not f.given]
    return out


def catalog_summary(session: Session) -> dict:
    """Count, whether any row is sample data, and when the catalog was last synced."""
    count, samples, synced = session.execute(
        select(
            func.count(Actuator.id),
            func.count(Actuator.id).filter(Actuator.is_sample_data.is_(True)),
            func.max(Actuator.last_synced_at),
        )
    ).one()
    if isinstance(synced, str):  # SQLite hands aggregates back without the column type
        synced = None
    return {"count": count, "sample": samples > 0, "last_synced_at": synced}


def body_materials_in_use(session: Session) -> list[str]:
    return list(session.scalars(select(Actuator.body_material).distinct().order_by(Actuator.body_material)))


class ActuatorCatalog(tuple):
    """`(catalog, ids)`: the engine's column arrays and, in the same order, the actuator ids.

    `catalog.sku[i]` / `ids[i]` map an engine index back to a row. Unpack it
    (`catalog, ids = actuator_catalog(session)`) or use `.catalog` and `.ids`.
    """

    __slots__ = ()

    def __new__(cls, catalog: engine.Catalog, ids: list[uuid.UUID]):
        return super().__new__(cls, (catalog, ids))

    @property
    def catalog(self) -> engine.Catalog:
        return self[0]

    @property
    def ids(self) -> list[uuid.UUID]:
        return self[1]


_catalog_cache: dict = {}
_catalog_lock = threading.Lock()


def _catalog_version(session: Session) -> tuple:
    count, newest = session.execute(select(func.count(Actuator.id), func.max(Actuator.updated_at))).one()
    return (str(session.get_bind().engine.url), count, str(newest))


#: The columns engine_columns reads, in its order (the catalog's and the workspace's own actuators have them all).
ENGINE_COLUMNS = (
    "id", "sku", "supplier", "spray_type", "orifice_mm", "swirl_chamber_mm", "inlet_area_mm2", "max_pressure_bar",
    "min_viscosity_cp", "max_viscosity_cp", "body_material", "seal_material", "unit_price", "lead_time_days",
    *anchors.ANCHOR_FIELDS,
)  # fmt: skip


def engine_columns(rows) -> engine.Catalog:
    """Rows of ENGINE_COLUMNS as the engine's column arrays (a unit price of None is NaN: no price known)."""
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in range(14 + len(anchors.ANCHOR_FIELDS))]
    anchor = dict(zip(anchors.ANCHOR_FIELDS, cols[14:], strict=True))

    def floats(values) -> np.ndarray:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=float)

    def texts(values) -> np.ndarray:
        return np.array(["" if v is None else v for v in values], dtype=object)

    def tables(values) -> np.ndarray:
        out = np.empty(len(values), dtype=object)
        out[:] = [tuple((float(p), float(a)) for p, a in (v or ())) for v in values]
        return out

    # A column no SKU has stays None (the engine's contract), so an old catalog costs nothing.
    def known(values, convert) -> np.ndarray | None:
        return convert(values) if any(v not in (None, "", []) for v in values) else None

    return engine.Catalog(
        sku=np.array(cols[1], dtype=object),
        supplier=np.array(cols[2], dtype=object),
        spray_type=np.array(cols[3], dtype=object),
        orifice_mm=floats(cols[4]),
        swirl_chamber_mm=floats(cols[5]),
        inlet_area_mm2=floats(cols[6]),
        max_pressure_bar=floats(cols[7]),
        min_viscosity_cp=floats(cols[8]),
        max_viscosity_cp=floats(cols[9]),
        body_material=np.array(cols[10], dtype=object),
        seal_material=np.array(cols[11], dtype=object),
        unit_price=floats(cols[12]),
        lead_time_days=np.array(cols[13], dtype=int),
        **{name: known(anchor[name], floats) for name in anchors.NUMERIC_ANCHORS},
        angle_table=known(anchor["angle_table"], tables),
        full_cone_insert=known(anchor["full_cone_insert"], texts),
        family=known(anchor["family"], texts),
        orifice_nominal=known(anchor["orifice_nominal"], lambda v: np.array([bool(x) for x in v], dtype=bool)),
    )


def actuator_catalog(session: Session) -> ActuatorCatalog:
    """The whole actuator catalog as engine column arrays, ordered by (supplier, sku).

    Cached per process; the cache key is (database, row count, newest updated_at), so
    an import, a seed or a sync that adds or changes rows rebuilds it on the next call.
    """
    version = _catalog_version(session)
    with _catalog_lock:
        cached = _catalog_cache.get("value")
        if cached is not None and cached[0] == version:
            return cached[1]
    columns = (getattr(Actuator, name) for name in ENGINE_COLUMNS)
    rows = session.execute(select(*columns).order_by(Actuator.supplier, Actuator.sku)).all()
    result = ActuatorCatalog(engine_columns(rows), [row[0] for row in rows])
    with _catalog_lock:
        _catalog_cache["value"] = (version, result)
    return result


# ---- CSV import/export (platform admins)

CSV_COLUMNS = ACTUATOR_FIELDS


def export_actuators_csv(session: Session) -> str:
    """Every actuator, every column, ordered by supplier and SKU."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for a in session.scalars(select(Actuator).order_by(Actuator.supplier, Actuator.sku)):
        row = []
        for column in CSV_COLUMNS:
            value = getattr(a, column)
            if value is None:
                row.append("")
            elif isinstance(value, bool):
                row.append("true" if value else "false")
            elif column == "angle_table":
                row.append(anchors.format_angle_table(value))
            elif isinstance(value, datetime):
                row.append(value.isoformat())
            elif isinstance(value, float):
                row.append(repr(value))
            else:
                row.append(str(value))
        writer.writerow(row)
    return out.getvalue()


@dataclass
class ImportReport:
    total: int = 0
    valid: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    written: bool = False


_NUMERIC_LIMITS = {
    "orifice_mm": (0.05, 5.0),
    "swirl_chamber_mm": (0.05, 50.0),
    "inlet_area_mm2": (0.0001, 100.0),
    "max_pressure_bar": (0.1, 1000.0),
    "min_viscosity_cp": (0.01, 100_000.0),
    "max_viscosity_cp": (0.01, 100_000.0),
    "unit_price": (0.0, 1_000_000.0),
}


def _parse_row(raw: dict, line: int) -> tuple[dict | None, list[str]]:
    errors: list[str] = []
    row: dict = {}

    def err(column: str, message: str) -> None:
        errors.append(f"row {line}: {column} {message}")

    def text(column: str, max_len: int, required: bool = True) -> str | None:
        value = (raw.get(column) or "").strip()
        if not value and required:
            err(column, "is required")
        elif len(value) > max_len:
            err(column, f"must be at most {max_len} characters (got {len(value)})")
        return value or None

    row["supplier"] = text("supplier", 20)
    if row["supplier"] and row["supplier"] not in seed.SUPPLIERS:
        err("supplier", f"must be one of {', '.join(seed.SUPPLIERS)} (got {row['supplier']!r})")
    row["sku"] = text("sku", 40)
    row["name"] = text("name", 160)
    row["spray_type"] = text("spray_type", 20)
    if row["spray_type"] and row["spray_type"] not in engine.SPRAY_TYPES:
        err("spray_type", f"must be one of {', '.join(engine.SPRAY_TYPES)} (got {row['spray_type']!r})")
    swirl = row["spray_type"] in seed.SWIRL_TYPES
    for column, (low, high) in _NUMERIC_LIMITS.items():
        value = (raw.get(column) or "").strip()
        optional = column in ("swirl_chamber_mm", "inlet_area_mm2") and not swirl
        if not value:
            if column in ("swirl_chamber_mm", "inlet_area_mm2") and swirl:
                err(column, "is required for swirl types (hollow_cone, full_cone)")
            elif not optional:
                err(column, f"must be a number between {units._fmt(low)} and {units._fmt(high)} (got '')")
            row[column] = None
            continue
        try:
            number = units.parse_number(value)
        except ValueError:
            number = None
        if number is None or not (low <= number <= high):
            err(column, f"must be a number between {units._fmt(low)} and {units._fmt(high)} (got {value!r})")
            row[column] = None
            continue
        if optional:
            err(column, "must be empty for plain_orifice")
        row[column] = Decimal(f"{number:.4f}") if column == "unit_price" else number
    if (
        row.get("min_viscosity_cp") is not None
        and row.get("max_viscosity_cp") is not None
        and row["min_viscosity_cp"] > row["max_viscosity_cp"]
    ):
        err("min_viscosity_cp", "must not exceed max_viscosity_cp")
    row["body_material"] = text("body_material", 30)
    if row["body_material"] and row["body_material"] not in seed.BODY_MATERIALS:
        err("body_material", f"must be one of {', '.join(seed.BODY_MATERIALS)} (got {row['body_material']!r})")
    row["seal_material"] = text("seal_material", 30)
    if row["seal_material"] and row["seal_material"] not in seed.SEAL_MATERIALS:
        err("seal_material", f"must be one of {', '.join(seed.SEAL_MATERIALS)} (got {row['seal_material']!r})")
    currency = (raw.get("currency") or "USD").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        err("currency", f"must be a 3-letter code such as USD (got {currency!r})")
    row["currency"] = currency
    for column in ("stock", "lead_time_days"):
        value = (raw.get(column) or "0").strip()
        if not value.isdigit() or int(value) > 10_000_000:
            err(column, f"must be a whole number of 0 or more (got {value!r})")
            row[column] = None
        else:
            row[column] = int(value)
    synced = (raw.get("last_synced_at") or "").strip()
    row["last_synced_at"] = None
    if synced:
        try:
            parsed = datetime.fromisoformat(synced)
            if parsed.tzinfo is None:
                raise ValueError
            row["last_synced_at"] = parsed
        except ValueError:
            err(
                "last_synced_at",
                f"must be an ISO 8601 time with a zone, e.g. 2026-01-31T12:00:00+00:00 (got {synced!r})",
            )
    flag = (raw.get("is_sample_data") or "false").strip().lower()
    if flag not in ("true", "false", "1", "0", "yes", "no"):
        err("is_sample_data", f"must be true or false (got {flag!r})")
    row["is_sample_data"] = flag in ("true", "1", "yes")
    row.update(_parse_anchors(raw, row["spray_type"], err))
    return (None if errors else row), errors


def _parse_anchors(raw: dict, spray_type: str | None, err) -> dict:
    """The anchor columns present in the file, checked by engine.anchors (absent columns are left
    out, so importing an older file keeps the anchors already stored)."""
    given = [name for name in anchors.ANCHOR_FIELDS if name in raw]
    values: dict = {}
    for name in given:
        text = (raw.get(name) or "").strip()
        if not text:
            continue
        if name in anchors.NUMERIC_ANCHORS:
            try:
                values[name] = units.parse_number(text)
            except ValueError:
                values[name] = text  # check_anchors words the refusal
        elif name == "orifice_nominal":
            flag = text.lower()
            values[name] = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(
                flag, text
            )
        else:
            values[name] = text
    clean, problems = anchors.check_anchors(values, spray_type)
    for name, message in problems.items():
        err(name, f"— {message} (got {(raw.get(name) or '').strip()!r})")
    return {name: clean[name] for name in given}


def check_actuators_csv(text: str) -> ImportReport:
    """Validate every row of an actuator CSV (header row = row 1) without writing anything."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text))
    required = {
        "supplier", "sku", "name", "spray_type", "orifice_mm", "max_pressure_bar",
        "min_viscosity_cp", "max_viscosity_cp", "body_material", "seal_material", "unit_price",
    }  # fmt: skip
    header = set(reader.fieldnames or [])
    missing = sorted(required - header)
    if missing:
        report.errors.append(
            f"row 1: the header lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        )
        return report
    seen: dict[tuple, int] = {}
    for line, raw in enumerate(reader, start=2):
        report.total += 1
        row, errors = _parse_row(raw, line)
        key = ((raw.get("supplier") or "").strip(), (raw.get("sku") or "").strip())
        if key in seen:
            errors.append(f"row {line}: sku {key[1]!r} of {key[0]} repeats row {seen[key]}")
            row = None
        seen.setdefault(key, line)
        report.errors.extend(errors)
        if row is not None:
            report.valid.append(row)
    if report.total == 0:
        report.errors.append("The file has a header but no rows.")
    return report


def import_actuators_csv(session: Session, text: str, *, valid_rows_only: bool = False) -> ImportReport:
    """Upsert actuators from CSV by (supplier, sku). All or nothing: with any row error nothing
    is written, unless `valid_rows_only` asks to write the rows that passed."""
    report = check_actuators_csv(text)
    if report.errors and not (valid_rows_only and report.valid):
        return report
    report.created, report.updated = upsert_actuators(session, report.valid)
    report.written = True
    return report
