"""A workspace's own actuators: checked values (typed with units), SKUs that collide with nothing, CSV import with
a preview, and the engine catalog with them appended for that workspace only.

Plain functions with explicit session/tenant/actor arguments; they flush, never commit, and raise
aerospec.errors exceptions. The form page, the CSV upload and the API all go through `clean_values`, so one
rule gives one message (and one unit conversion) wherever a value comes in.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aerospec.catalog import seed, units
from aerospec.catalog import services as catalog
from aerospec.catalog.models import Actuator, TenantActuator
from aerospec.compliance import services as audit
from aerospec.engine import anchors
from aerospec.engine import types as engine
from aerospec.errors import NotFound, ValidationFailed
from aerospec.models import get_owned, utcnow
from aerospec.pagination import Page, window

#: The engine catalog's `supplier` of a workspace's own actuator (there is no supplier to quote it).
OWN_SUPPLIER = "own"
#: What a ranked result says beside an own actuator (page and API).
OWN_LABEL = "own actuator"

#: Unit choices per kind of quantity, stored unit first (what the form offers beside a number).
UNIT_CHOICES: dict[str, list[tuple[str, str]]] = {
    "length": [("mm", "mm"), ("µm", "µm"), ("in", "in")],
    "area": units.AREA_CHOICES,
    "pressure": units.PRESSURE_CHOICES,
    "viscosity": [("cP", "cP"), ("mPa·s", "mPa·s"), ("Pa·s", "Pa·s"), ("P", "P")],
    "flow": units.FLOW_CHOICES,
    "density": [("kg/m³", "kg/m³"), ("g/cm³", "g/cm³"), ("g/mL", "g/mL"), ("relative", "relative (water = 1)")],
}
_CONVERT = {
    "length": units.to_mm,
    "area": units.to_mm2,
    "pressure": units.to_bar,
    "viscosity": lambda value, unit: units.to_cp(value, unit, None),
    "flow": units.to_ml_min,
    "density": units.to_kg_m3,
}


@dataclass(frozen=True)
class NumberField:
    label: str
    kind: str | None  # a key of UNIT_CHOICES; None: a plain number (no unit)
    required: bool = False
    low: float | None = None  # stored unit; the anchors' ranges are checked by engine.anchors
    high: float | None = None


#: Every number an own actuator stores, in the order the form and the CSV list them.
NUMBER_FIELDS: dict[str, NumberField] = {
    "orifice_mm": NumberField("Orifice diameter", "length", True, 0.05, 5.0),
    "swirl_chamber_mm": NumberField("Swirl chamber diameter", "length", False, 0.05, 50.0),
    "inlet_area_mm2": NumberField("Swirl inlet area", "area", False, 0.0001, 100.0),
    "max_pressure_bar": NumberField("Maximum pressure", "pressure", True, 0.1, 1000.0),
    "min_viscosity_cp": NumberField("Lowest viscosity", "viscosity", True, 0.01, 100_000.0),
    "max_viscosity_cp": NumberField("Highest viscosity", "viscosity", True, 0.01, 100_000.0),
    "unit_price": NumberField("Unit price", None, False, 0.0, 1_000_000.0),
    "rated_flow_ml_min": NumberField("Rated flow", "flow"),
    "rated_pressure_bar": NumberField("Rating pressure", "pressure"),
    "rated_density_kg_m3": NumberField("Rating fluid density", "density"),
    "flow_number_ml_min_sqrtbar": NumberField("Flow number (ml/min/√bar)", None),
    "flow_exponent": NumberField("Flow exponent", None),
    "stem_orifice_mm": NumberField("Valve stem orifice", "length"),
    "housing_orifice_mm": NumberField("Valve housing orifice", "length"),
    "vapour_tap_mm": NumberField("Vapour tap", "length"),
}
TEXT_FIELDS = {"sku": ("SKU", 40, True), "name": ("Name", 160, True), "maker": ("Maker", 80, False)}
#: Every column of an own actuator a person gives (form, CSV header, API body).
FIELDS = (
    "sku", "name", "maker", "spray_type", *NUMBER_FIELDS, "body_material", "seal_material", "currency",
    "family", "angle_table", "full_cone_insert", "orifice_nominal", "notes",
)  # fmt: skip
CSV_REQUIRED = ("sku", "name", "spray_type", "orifice_mm", "max_pressure_bar", "min_viscosity_cp",
                "max_viscosity_cp", "body_material", "seal_material")  # fmt: skip
MAX_CSV_ROWS = 2000
_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _sentence(message: str) -> str:
    message = message.strip()
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def read_number(name: str, raw, unit: str | None = None) -> float | None:
    """One number of field `name` in its stored unit: a JSON number is in the stored unit already; text may carry
    its unit ("0,3 mm", "45 psi"), which wins over `unit` (the form's select). None when empty; ValueError
    (a message for the field) when it cannot be read."""
    spec = NUMBER_FIELDS[name]
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValueError(f"{spec.label}: enter a number")
    if isinstance(raw, int | float):
        return units.parse_number(raw)
    if not isinstance(raw, str):
        raise ValueError(f"{spec.label}: enter a number")
    number, typed = units.split_value_unit(raw)
    chosen = typed or unit
    if spec.kind is None:
        if typed:
            raise ValueError(f"{spec.label} takes a plain number, without a unit (got {raw.strip()!r})")
        return number
    if not chosen:
        return number  # no unit anywhere: the stored unit
    return _CONVERT[spec.kind](number, chosen)


def _flag(raw):
    if raw is None or isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if not text:
        return None
    return _FLAGS.get(text, str(raw))  # check_anchors words the refusal of anything else


def clean_values(raw: Mapping, unit_choice: Mapping | None = None) -> dict:
    """Check and convert one actuator's values (text from a form or a CSV, or JSON from the API); the columns of a
    TenantActuator in stored units. Raises ValidationFailed with one message per field."""
    errors: dict[str, list[str]] = {}
    unit_choice = unit_choice or {}
    out: dict = {}

    def err(name: str, message: str) -> None:
        errors.setdefault(name, []).append(_sentence(message))

    for name, (label, limit, required) in TEXT_FIELDS.items():
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            err(name, f"{label} must be text")
            value = None
        value = (value or "").strip()
        if not value and required:
            err(name, f"{label} is required")
        elif len(value) > limit:
            err(name, f"{label} must be at most {limit} characters (got {len(value)})")
        out[name] = value or None
    spray_type = raw.get("spray_type")
    if spray_type not in engine.SPRAY_TYPES:
        err("spray_type", f"Spray type must be one of {', '.join(engine.SPRAY_TYPES)}")
        spray_type = None
    out["spray_type"] = spray_type
    for name, spec in NUMBER_FIELDS.items():
        try:
            value = read_number(name, raw.get(name), unit_choice.get(name))
        except (ValueError, TypeError) as error:
            message = str(error)
            err(name, message if message.startswith(spec.label) else f"{spec.label}: {message}")
            out[name] = None
            continue
        if value is None and spec.required:
            err(name, f"{spec.label} is required")
        elif value is not None and spec.low is not None and not (spec.low <= value <= spec.high):
            unit = f" {UNIT_CHOICES[spec.kind][0][0]}" if spec.kind else ""
            err(name, f"{spec.label} must be between {units._fmt(spec.low)} and {units._fmt(spec.high)}{unit} "
                      f"(got {units._fmt(value)}{unit})")  # fmt: skip
            value = None
        out[name] = value
    swirl = spray_type in seed.SWIRL_TYPES
    if spray_type == "plain_orifice":
        for name in ("swirl_chamber_mm", "inlet_area_mm2"):
            if out.get(name) is not None:
                err(name, f"{NUMBER_FIELDS[name].label} applies to swirl nozzles only; leave it empty")
    chamber, orifice = out.get("swirl_chamber_mm"), out.get("orifice_mm")
    if swirl and chamber is not None and orifice is not None and chamber <= orifice:
        err("swirl_chamber_mm", "The swirl chamber must be wider than the orifice")
    if (out.get("min_viscosity_cp") or 0) > (out.get("max_viscosity_cp") or float("inf")):
        err("max_viscosity_cp", "The highest viscosity must not be below the lowest")
    if out.get("unit_price") is not None:
        out["unit_price"] = Decimal(f"{out['unit_price']:.4f}")
    for name, choices in (("body_material", seed.BODY_MATERIALS), ("seal_material", seed.SEAL_MATERIALS)):
        value = raw.get(name)
        value = value.strip() if isinstance(value, str) else value
        if value not in choices:
            label = "Body material" if name == "body_material" else "Seal material"
            err(name, f"{label} must be one of {', '.join(choices)}")
            value = None
        out[name] = value
    currency = raw.get("currency") or "USD"
    currency = currency.strip().upper() if isinstance(currency, str) else ""
    if len(currency) != 3 or not currency.isalpha():
        err("currency", "Currency must be a 3-letter code such as USD")
    out["currency"] = currency
    notes = raw.get("notes")
    notes = notes.strip() if isinstance(notes, str) else None
    if notes and len(notes) > 2000:
        err("notes", "Keep the notes under 2,000 characters")
    out["notes"] = notes or None
    given = {name: out.get(name) for name in anchors.NUMERIC_ANCHORS}
    for name in ("family", "full_cone_insert"):
        value = raw.get(name)
        given[name] = value.strip() if isinstance(value, str) else value
    given["angle_table"] = raw.get("angle_table")
    given["orifice_nominal"] = _flag(raw.get("orifice_nominal"))
    clean, problems = anchors.check_anchors(given, spray_type)
    for name, message in problems.items():
        if name not in errors:
            err(name, message)
    for name in anchors.ANCHOR_FIELDS:
        out[name] = clean[name]
    out["angle_table"] = [list(point) for point in clean["angle_table"]] or None
    if errors:
        raise ValidationFailed("Some fields need attention.", field_errors=errors)
    return out


def check_sku(session: Session, tenant, sku: str, *, own_id: uuid.UUID | None = None) -> str | None:
    """Why `sku` cannot be this workspace's own actuator's SKU (a catalog SKU, or another of its own), or None."""
    catalog_row = session.scalar(select(Actuator).where(func.lower(Actuator.sku) == sku.lower()).limit(1))
    if catalog_row is not None:
        maker = seed.SUPPLIERS.get(catalog_row.supplier, catalog_row.supplier)
        return f"{catalog_row.sku} is a {maker} catalog SKU; give your actuator a SKU of its own."
    # SECURITY: only this workspace's own actuators (another workspace may use the same SKU for its own).
    stmt = select(TenantActuator).where(
        TenantActuator.tenant_id == tenant.id, func.lower(TenantActuator.sku) == sku.lower()
    )
    if own_id is not None:
        stmt = stmt.where(TenantActuator.id != own_id)
    mine = session.scalar(stmt.limit(1))
    if mine is not None:
        return f"Your workspace already has an own actuator with SKU {mine.sku} ({mine.name})."
    return None


def create_own_actuator(session: Session, tenant, actor, raw: Mapping, unit_choice: Mapping | None = None):
    """Add an actuator of the workspace's own (values checked and converted; the SKU collides with nothing)."""
    values = clean_values(raw, unit_choice)
    problem = check_sku(session, tenant, values["sku"])
    if problem:
        raise ValidationFailed("Some fields need attention.", field_errors={"sku": [problem]})
    row = TenantActuator(tenant_id=tenant.id, created_by_id=getattr(actor, "id", None), **values)
    session.add(row)
    session.flush()
    return row


def get_own_actuator(session: Session, tenant, actuator_id) -> TenantActuator:
    """One of this workspace's own actuators; NotFound for a catalog id, another workspace's or a malformed id."""
    return get_owned(session, TenantActuator, tenant, actuator_id, "No such actuator of your workspace.")


def update_own_actuator(
    session: Session, tenant, actor, actuator_id, raw: Mapping, unit_choice: Mapping | None = None
) -> TenantActuator:
    """Change one of the workspace's own actuators (every value given again, as the form sends them)."""
    row = get_own_actuator(session, tenant, actuator_id)
    values = clean_values(raw, unit_choice)
    problem = check_sku(session, tenant, values["sku"], own_id=row.id)
    if problem:
        raise ValidationFailed("Some fields need attention.", field_errors={"sku": [problem]})
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    session.flush()
    return row


def delete_own_actuator(session: Session, tenant, actor, actuator_id) -> str:
    """Delete one of the workspace's own actuators; returns its SKU. Lab results recorded for it stay."""
    row = get_own_actuator(session, tenant, actuator_id)
    sku = row.sku
    session.delete(row)
    session.flush()
    return sku


def find_own_by_sku(session: Session, tenant_id: uuid.UUID | None, sku: str) -> TenantActuator | None:
    """The workspace's own actuator with this SKU, or None (never another workspace's)."""
    if tenant_id is None:
        return None
    return session.scalar(
        select(TenantActuator).where(TenantActuator.tenant_id == tenant_id, TenantActuator.sku == sku)
    )


OWN_SORTS = {
    "sku": (TenantActuator.sku,),
    "orifice": (TenantActuator.orifice_mm, TenantActuator.sku),
    "pressure": (TenantActuator.max_pressure_bar.desc(), TenantActuator.sku),
    "price": (TenantActuator.unit_price, TenantActuator.sku),
    "lead_time": (TenantActuator.sku,),
}


def _own_query(tenant, filters: catalog.ActuatorFilters):
    f = filters
    stmt = select(TenantActuator).where(TenantActuator.tenant_id == tenant.id)
    if f.supplier:  # own actuators have no supplier: a supplier filter lists none of them
        return None
    for column, value in (
        (TenantActuator.spray_type, f.spray_type),
        (TenantActuator.family, f.family),
        (TenantActuator.body_material, f.body_material),
    ):
        if value:
            stmt = stmt.where(column == value)
    if f.orifice_min_mm is not None:
        stmt = stmt.where(TenantActuator.orifice_mm >= f.orifice_min_mm - 1e-9)
    if f.orifice_max_mm is not None:
        stmt = stmt.where(TenantActuator.orifice_mm <= f.orifice_max_mm + 1e-9)
    if f.pressure_min_bar is not None:
        stmt = stmt.where(TenantActuator.max_pressure_bar >= f.pressure_min_bar)
    if f.viscosity_cp is not None:
        stmt = stmt.where(
            TenantActuator.min_viscosity_cp <= f.viscosity_cp, TenantActuator.max_viscosity_cp >= f.viscosity_cp
        )
    if f.in_stock:  # no stock is known for an own actuator
        return None
    return stmt


def list_all_actuators(
    session: Session,
    tenant,
    filters: catalog.ActuatorFilters,
    *,
    source: str | None = None,
    sort: str = "sku",
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """A page of the workspace's own actuators (first) and the catalog's, filtered; `source` "own" or "catalog"
    keeps one of them. Items are TenantActuator or Actuator rows."""
    own_stmt = _own_query(tenant, filters) if source in (None, "own") else None
    own_total = session.scalar(select(func.count()).select_from(own_stmt.subquery())) if own_stmt is not None else 0
    cat_total = 0
    if source in (None, "catalog"):
        cat_stmt = catalog.list_actuators_query(filters)
        cat_total = session.scalar(select(func.count()).select_from(cat_stmt.subquery())) or 0
    total = (own_total or 0) + cat_total
    page, offset = window(total, page, per_page)
    items: list = []
    if own_stmt is not None and offset < own_total:
        order = OWN_SORTS.get(sort, OWN_SORTS["sku"])
        items = list(session.scalars(own_stmt.order_by(*order).limit(per_page).offset(offset)))
    left = per_page - len(items)
    if left and source in (None, "catalog") and cat_total:
        start = max(0, offset - own_total)
        order = catalog.ACTUATOR_SORTS.get(sort, catalog.ACTUATOR_SORTS["sku"])[1]
        items += list(session.scalars(cat_stmt.order_by(*order).limit(left).offset(start)))
    return Page(items, total, page, per_page)


def own_json(a: TenantActuator) -> dict:
    """An own actuator as the API shows it: the catalog's shape, `source` "own" and the "own actuator" label."""
    out = {
        "id": str(a.id),
        "source": "own",
        "label": OWN_LABEL,
        "supplier": OWN_SUPPLIER,
        **{name: getattr(a, name) for name in ("sku", "name", "maker", "spray_type", *NUMBER_FIELDS)},
        "body_material": a.body_material,
        "seal_material": a.seal_material,
        "currency": a.currency,
        "notes": a.notes,
        "is_sample_data": False,
        "last_synced_at": None,
        "created_at": a.created_at.isoformat() if a.created_at else None,
        "updated_at": a.updated_at.isoformat() if a.updated_at else None,
    }
    for name in anchors.ANCHOR_FIELDS:
        out.pop(name, None)
    out["unit_price"] = str(a.unit_price) if a.unit_price is not None else None
    out["anchors"] = {k: getattr(a, k) for k in anchors.ANCHOR_FIELDS}
    out["anchors"]["angle_table"] = [list(point) for point in a.angle_points]
    facts = catalog.anchor_facts(a)
    out["anchors_given"] = [f.key for f in facts if f.given]
    out["anchors_missing"] = [f.key for f in facts if not f.given]
    return out


def any_json(a) -> dict:
    """A catalog or own actuator as the API lists it (`source` says which)."""
    if isinstance(a, TenantActuator):
        return own_json(a)
    return {**catalog.actuator_json(a), "source": "catalog", "label": None}


# ---- the engine catalog with the workspace's own actuators appended

_cache: dict = {}
_cache_lock = threading.Lock()
_CACHE_TENANTS = 64


def _own_version(session: Session, tenant_id: uuid.UUID) -> tuple:
    count, newest = session.execute(
        select(func.count(TenantActuator.id), func.max(TenantActuator.updated_at)).where(
            TenantActuator.tenant_id == tenant_id
        )
    ).one()
    return (count, str(newest))


def _append(base: engine.Catalog, extra: engine.Catalog) -> engine.Catalog:
    """`base` followed by `extra`, column by column; a column only one side has is filled with "not known"."""
    n_base, n_extra = len(base), len(extra)
    fills = {"angle_table": (), "full_cone_insert": "", "family": "", "orifice_nominal": False}
    values = {}
    for spec in dataclasses.fields(engine.Catalog):
        if not spec.init:
            continue
        a, b = getattr(base, spec.name), getattr(extra, spec.name)
        if a is None and b is None:
            values[spec.name] = None
            continue
        fill = fills.get(spec.name, np.nan)

        def filled(column, n, fill=fill):
            if column is not None:
                return column
            out = np.empty(n, dtype=object if fill in ((), "") else (bool if fill is False else float))
            out[:] = [fill] * n if fill == () else fill
            return out

        left, right = filled(a, n_base), filled(b, n_extra)
        if spec.name == "angle_table":
            joined = np.empty(n_base + n_extra, dtype=object)
            joined[:] = list(left) + list(right)
        else:
            joined = np.concatenate([left, right])
        values[spec.name] = joined
    return engine.Catalog(**values)


def actuator_catalog_for(session: Session, tenant_id: uuid.UUID | None) -> catalog.ActuatorCatalog:
    """The catalog as engine arrays with the workspace's own actuators appended (supplier OWN_SUPPLIER), or the
    catalog alone when it has none or no workspace is given. Cached per workspace like the catalog: the key is
    the catalog's version and the workspace's own (row count, newest updated_at)."""
    base = catalog.actuator_catalog(session)
    if tenant_id is None:
        return base
    version = _own_version(session, tenant_id)
    if version[0] == 0:
        return base
    with _cache_lock:
        cached = _cache.get(tenant_id)
        if cached is not None and cached[0] == version and cached[2] is base:  # the same catalog build too
            return cached[1]
    # SECURITY: the explicit tenant filter as well as the ORM guard's: only this workspace's rows are appended.
    rows = session.execute(
        select(*(getattr(TenantActuator, name) if name != "supplier" else TenantActuator.sku
                 for name in catalog.ENGINE_COLUMNS if name != "lead_time_days"))
        .where(TenantActuator.tenant_id == tenant_id)
        .order_by(TenantActuator.sku)
    ).all()  # fmt: skip
    supplier_at = catalog.ENGINE_COLUMNS.index("supplier")
    lead_at = catalog.ENGINE_COLUMNS.index("lead_time_days")
    shaped = []
    for row in rows:
        values = list(row)
        values[supplier_at] = OWN_SUPPLIER
        values.insert(lead_at, 0)  # no lead time is known for an own actuator
        shaped.append(values)
    own = catalog.engine_columns(shaped)
    result = catalog.ActuatorCatalog(_append(base.catalog, own), [*base.ids, *(row[0] for row in rows)])
    with _cache_lock:
        if len(_cache) >= _CACHE_TENANTS:
            _cache.pop(next(iter(_cache)))
        _cache[tenant_id] = (version, result, base)
    return result


def is_own(cat: engine.Catalog, i: int) -> bool:
    return str(cat.supplier[i]) == OWN_SUPPLIER


def model_supplier(supplier: str, tenant_id) -> str:
    """The supplier part of a SKU's name in a correction model: an own actuator's carries its workspace, since
    two workspaces' own "X1" are different actuators (and one's results must never move the other's)."""
    if supplier == OWN_SUPPLIER and tenant_id is not None:
        return f"{OWN_SUPPLIER}.{uuid.UUID(str(tenant_id)).hex}"
    return supplier


# ---- CSV import: a preview with row-level errors, then all or nothing

CSV_COLUMNS = FIELDS


def csv_template() -> str:
    """A header and one example row, for people starting a file."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    example = {
        "sku": "INH-HC-030", "name": "In-house hollow cone 0.3 mm", "maker": "in-house", "spray_type": "hollow_cone",
        "orifice_mm": "0.3 mm", "swirl_chamber_mm": "1.2 mm", "inlet_area_mm2": "0.12 mm²",
        "max_pressure_bar": "10 bar", "min_viscosity_cp": "0.5 cP", "max_viscosity_cp": "50 cP",
        "body_material": "POM", "seal_material": "none", "currency": "USD", "family": "pump_trigger",
        "rated_flow_ml_min": "60 ml/min", "rated_pressure_bar": "3 bar", "angle_table": "1:50,3:62",
    }  # fmt: skip
    writer.writerow([example.get(c, "") for c in CSV_COLUMNS])
    return out.getvalue()


def import_token(text: str) -> str:
    """The file's identity: its rows with line endings and trailing blanks normalised."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return hashlib.sha256("\n".join(line for line in lines if line).encode()).hexdigest()


@dataclass
class CsvReport:
    rows: list[dict] = field(default_factory=list)  # {"line", "values"} of every row that passed
    errors: list[dict] = field(default_factory=list)  # {"line", "field", "message"}
    total: int = 0
    token: str = ""
    already: TenantActuator | None = None  # a row from the same file, imported before

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.errors and self.already is None


def check_csv(session: Session, tenant, text: str) -> CsvReport:
    """Check every row of an own-actuator CSV (header = row 1) against the same rules as the form; writes nothing."""
    report = CsvReport(token=import_token(text))
    # SECURITY: the same file is looked for among this workspace's rows only.
    report.already = session.scalar(
        select(TenantActuator)
        .where(TenantActuator.tenant_id == tenant.id, TenantActuator.import_token == report.token)
        .limit(1)
    )
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in CSV_REQUIRED if c not in header]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if missing or unknown:
        if missing:
            report.errors.append({"line": 1, "field": "header", "message": f"The header lacks {', '.join(missing)}."})
        if unknown:
            report.errors.append(
                {"line": 1, "field": "header", "message": f"Unknown column{'s' * (len(unknown) > 1)}: "
                 f"{', '.join(unknown)}. The columns are: {', '.join(CSV_COLUMNS)}."}
            )  # fmt: skip
        return report
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue
        report.total += 1
        if report.total > MAX_CSV_ROWS:
            report.errors.append(
                {"line": line, "field": "file", "message": f"At most {MAX_CSV_ROWS} rows per file; split it."}
            )
            break
        if None in raw:
            report.errors.append({"line": line, "field": "row", "message": "The row has more cells than the header."})
            continue
        try:
            values = clean_values(raw)
        except ValidationFailed as error:
            for name, messages in error.field_errors.items():
                for message in messages:
                    report.errors.append({"line": line, "field": name, "message": message})
            continue
        key = values["sku"].lower()
        if key in seen:
            report.errors.append(
                {"line": line, "field": "sku", "message": f"SKU {values['sku']} repeats row {seen[key]}."}
            )
            continue
        seen[key] = line
        problem = check_sku(session, tenant, values["sku"])
        if problem:
            report.errors.append({"line": line, "field": "sku", "message": problem})
            continue
        report.rows.append({"line": line, "values": values})
    if report.total == 0 and not report.errors:
        report.errors.append({"line": 1, "field": "file", "message": "The file has a header but no rows."})
    return report


class AlreadyImported(ValidationFailed):
    """The same file was imported into this workspace before."""


def already_message(row: TenantActuator) -> str:
    when = row.created_at.strftime("%Y-%m-%d %H:%M UTC") if row.created_at else "earlier"
    return (
        f"This file was already imported on {when} (it added {row.sku}, among others); nothing was imported again. "
        "To change those actuators, edit them, or delete them and import the file again."
    )


def import_csv(session: Session, tenant, actor, text: str) -> list[TenantActuator]:
    """Add every row of the file, or none: any row error, or the same file imported before, writes nothing."""
    report = check_csv(session, tenant, text)
    if report.already is not None:
        raise AlreadyImported(already_message(report.already), field_errors={"file": [already_message(report.already)]})
    if not report.ok:
        fields: dict[str, list[str]] = {}
        for e in report.errors:
            fields.setdefault(f"row {e['line']}: {e['field']}", []).append(e["message"])
        raise ValidationFailed("The file has errors; nothing was imported.", field_errors=fields)
    rows = [
        TenantActuator(
            tenant_id=tenant.id, created_by_id=getattr(actor, "id", None), import_token=report.token, **r["values"]
        )
        for r in report.rows
    ]
    session.add_all(rows)
    session.flush()
    return rows


def own_count(session: Session, tenant) -> int:
    return session.scalar(select(func.count(TenantActuator.id)).where(TenantActuator.tenant_id == tenant.id)) or 0


def get_any_actuator(session: Session, tenant, actuator_id) -> Actuator | TenantActuator:
    """A catalog actuator or one of this workspace's own by id; NotFound otherwise (never another workspace's)."""
    try:
        actuator_id = actuator_id if isinstance(actuator_id, uuid.UUID) else uuid.UUID(str(actuator_id))
    except ValueError as error:
        raise NotFound("No such actuator.") from error
    row = session.get(Actuator, actuator_id)
    if row is not None:
        return row
    return get_own_actuator(session, tenant, actuator_id)


def record_event(session: Session, tenant, actor, action: str, *, sku: str, target_id=None, client=None, **details):
    """One audit entry for an own actuator: added, edited, deleted (by SKU), or a CSV imported (its row count)."""
    audit.record(
        session,
        tenant.id,
        action,
        actor=actor,
        client=client,
        target_type="own_actuator",
        target_id=target_id,
        target_name=sku,
        details=details or None,
    )
