"""Feedback aggregates per workspace × actuator × fluid, recomputed from the group's lab results (never incremented)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from aerospec import queueing
from aerospec.configurations.models import Configuration
from aerospec.feedback.models import Feedback, FeedbackAggregate
from aerospec.models import utcnow
from aerospec.pagination import Page, window
from aerospec.tenancy.scoping import tenant_scope

#: Aggregated quantity -> (the measured column on Feedback, the key in the stored prediction, the column suffix).
AGGREGATED = {
    "cone": ("spray_cone_angle_actual", "cone_deg", "cone_deg"),
    "dv50": ("dv50_um", "dv50_um", "dv50_um"),
    "flow": ("flow_rate_actual_ml_min", "flow_ml_min", "flow_ml_min"),
}


@dataclass(frozen=True)
class GroupKey:
    """One aggregate row's identity within a workspace."""

    supplier: str
    sku: str
    fluid_key: str


def fluid_of(config: Configuration) -> dict:
    """The configuration's fluid as a lab result stores it with its prediction: a grouping key and the name."""
    if config.fluid_id is not None:
        key = f"fluid:{config.fluid_id}"
    else:
        viscosity, density = config.fluid_viscosity_cP, config.fluid_density_kg_m3
        key = f"props:{viscosity:.6g}/{density:.6g}/{config.fluid_surface_tension_mN_m:.6g}"
    return {"key": key, "name": config.fluid_name, "id": str(config.fluid_id) if config.fluid_id else None}


def _fluid_for_row(row: Feedback, configs: dict[uuid.UUID, Configuration]) -> dict:
    # Results recorded before the fluid was stored with the prediction fall back to the configuration's fluid now.
    stored = (row.prediction or {}).get("fluid")
    if isinstance(stored, dict) and stored.get("key"):
        return stored
    config = configs.get(row.configuration_id)
    return fluid_of(config) if config is not None else {"key": "unknown", "name": None}


def group_key(row: Feedback, configs: dict[uuid.UUID, Configuration]) -> GroupKey:
    """The aggregate a lab result counts towards."""
    return GroupKey(row.actuator_supplier, row.actuator_sku, _fluid_for_row(row, configs)["key"])


def _stats(rows: list[Feedback], measured: str, predicted: str) -> dict:
    pairs = []
    for row in rows:
        actual = getattr(row, measured)
        guess = (row.prediction or {}).get(predicted)
        if actual is None or not isinstance(guess, int | float) or isinstance(guess, bool) or not math.isfinite(guess):
            continue
        pairs.append((float(guess), float(actual)))
    if not pairs:
        return {"count": 0, "avg_predicted": None, "avg_actual": None, "rmse": None}
    n = len(pairs)
    return {
        "count": n,
        "avg_predicted": sum(p for p, _ in pairs) / n,
        "avg_actual": sum(a for _, a in pairs) / n,
        "rmse": math.sqrt(sum((a - p) ** 2 for p, a in pairs) / n),
    }


def summarise(rows: list[Feedback], fluid_name: str | None) -> dict:
    """The aggregate columns for one group's results (an empty list gives result_count 0)."""
    values: dict = {
        "fluid_name": fluid_name,
        "result_count": len(rows),
        "pass_count": sum(1 for r in rows if r.pass_fail == "pass"),  # noqa: S105 - a verdict, not a password
        "fail_count": sum(1 for r in rows if r.pass_fail == "fail"),  # noqa: S105
        "last_result_at": max((r.created_at for r in rows), default=None),
    }
    for name, (measured, predicted, suffix) in AGGREGATED.items():
        stats = _stats(rows, measured, predicted)
        values[f"{name}_count"] = stats["count"]
        values[f"avg_predicted_{suffix}"] = stats["avg_predicted"]
        values[f"avg_actual_{suffix}"] = stats["avg_actual"]
        values[f"rmse_{suffix}"] = stats["rmse"]
    return values


def _configs(session: Session, tenant_id: uuid.UUID, rows: Iterable[Feedback]) -> dict[uuid.UUID, Configuration]:
    ids = {r.configuration_id for r in rows if not isinstance((r.prediction or {}).get("fluid"), dict)}
    if not ids:
        return {}
    found = session.scalars(
        select(Configuration).where(Configuration.tenant_id == tenant_id, Configuration.id.in_(ids))
    )
    return {c.id: c for c in found}


def _upsert(session: Session, tenant_id: uuid.UUID, key: GroupKey, values: dict) -> None:
    table = FeedbackAggregate.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    row = {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "actuator_supplier": key.supplier,
        "actuator_sku": key.sku,
        "fluid_key": key.fluid_key,
        "computed_at": utcnow(),
        **values,
    }
    # One statement that inserts or overwrites: two jobs recomputing the same group at once cannot both insert.
    statement = insert(table).values(**row)
    statement = statement.on_conflict_do_update(
        index_elements=["tenant_id", "actuator_supplier", "actuator_sku", "fluid_key"],
        set_={k: statement.excluded[k] for k in row if k not in ("id", "tenant_id")},
    )
    session.execute(statement)


def _write_group(session: Session, tenant_id: uuid.UUID, key: GroupKey, rows: list[Feedback], fluid_name) -> None:
    if not rows:
        session.execute(
            delete(FeedbackAggregate).where(
                FeedbackAggregate.tenant_id == tenant_id,
                FeedbackAggregate.actuator_supplier == key.supplier,
                FeedbackAggregate.actuator_sku == key.sku,
                FeedbackAggregate.fluid_key == key.fluid_key,
            )
        )
        return
    _upsert(session, tenant_id, key, summarise(rows, fluid_name))


def recompute_group(session: Session, tenant_id: uuid.UUID, supplier: str, sku: str, fluid_key: str) -> dict | None:
    """Recompute one aggregate from its results (delete it when none are left); returns its values. Does not commit."""
    with tenant_scope(session, tenant_id):
        candidates = list(
            session.scalars(
                select(Feedback).where(
                    Feedback.tenant_id == tenant_id,
                    Feedback.actuator_supplier == supplier,
                    Feedback.actuator_sku == sku,
                )
            )
        )
        configs = _configs(session, tenant_id, candidates)
        key = GroupKey(supplier, sku, fluid_key)
        rows = [r for r in candidates if group_key(r, configs) == key]
        name = _fluid_for_row(rows[-1], configs).get("name") if rows else None
        _write_group(session, tenant_id, key, rows, name)
        session.flush()
        return summarise(rows, name) if rows else None


def rebuild_tenant(session: Session, tenant_id: uuid.UUID) -> int:
    """Drop a workspace's aggregates and recompute every group from its results; returns the groups written."""
    with tenant_scope(session, tenant_id):
        session.execute(delete(FeedbackAggregate).where(FeedbackAggregate.tenant_id == tenant_id))
        rows = list(
            session.scalars(select(Feedback).where(Feedback.tenant_id == tenant_id).order_by(Feedback.created_at))
        )
        configs = _configs(session, tenant_id, rows)
        groups: dict[GroupKey, list[Feedback]] = {}
        names: dict[GroupKey, str | None] = {}
        for row in rows:
            key = group_key(row, configs)
            groups.setdefault(key, []).append(row)
            names[key] = _fluid_for_row(row, configs).get("name")
        for key, members in groups.items():
            _upsert(session, tenant_id, key, summarise(members, names[key]))
        session.flush()
        return len(groups)


def enqueue_refresh(session: Session, row: Feedback) -> None:
    """Recompute the aggregate this result counts towards, by a job once `session` commits."""
    fluid = _fluid_for_row(row, _configs(session, row.tenant_id, [row]))
    queueing.enqueue(
        session,
        "jobs.feedback.refresh_feedback_aggregate",
        str(row.tenant_id),
        row.actuator_supplier,
        row.actuator_sku,
        fluid["key"],
        queue="default",
    )


def list_aggregates(session: Session, tenant, *, sku: str | None = None, page: int = 1, per_page: int = 25) -> Page:
    """A page of the workspace's aggregates, most results first (optionally one SKU's)."""
    where = [FeedbackAggregate.tenant_id == tenant.id]
    if sku:
        where.append(FeedbackAggregate.actuator_sku == sku)
    total = session.scalar(select(func.count(FeedbackAggregate.id)).where(*where)) or 0
    page, offset = window(total, page, per_page)
    query = (
        select(FeedbackAggregate)
        .where(*where)
        .order_by(
            FeedbackAggregate.result_count.desc(),
            FeedbackAggregate.actuator_sku,
            FeedbackAggregate.fluid_key,
            FeedbackAggregate.id,
        )
        .offset(offset)
        .limit(per_page)
    )
    return Page(list(session.scalars(query)), total, page, per_page)


def aggregate_to_dict(row: FeedbackAggregate) -> dict:
    """An aggregate as the API shows it (the column names of the table; units in the names)."""
    names = [c.key for c in FeedbackAggregate.__table__.columns if c.key not in ("id", "tenant_id")]
    out = {name: getattr(row, name) for name in names}
    for name in ("last_result_at", "computed_at"):
        out[name] = out[name].isoformat() if out[name] else None
    out["droplet_size_quantity"] = "dv50_um"
    return out
