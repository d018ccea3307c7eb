"""Workspace analytics from the rows the app keeps: accuracy of stored predictions against lab results, usage
over time, the most used SKUs and fluids, and their CSV exports (within the plan's exports per day).

Plain functions with the tenant explicit; every query filters on the tenant (and the ORM guard and
row-level security sit under that). Predictions are never recomputed: accuracy reads the prediction
stored with each lab result (aerospec.feedback.services.comparison).
"""

from __future__ import annotations

import calendar
import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from aerospec.billing import usage
from aerospec.billing.models import UsageRollup
from aerospec.catalog.models import Actuator
from aerospec.compliance import services as audit
from aerospec.compliance.models import AuditLog
from aerospec.configurations.models import Configuration
from aerospec.errors import ValidationFailed
from aerospec.feedback import services as feedback
from aerospec.feedback.models import Feedback
from aerospec.limits import counters
from aerospec.limits.messages import API_CALLS
from aerospec.models import utcnow
from aerospec.procurement.models import Procurement, ProcurementLineItem
from aerospec.tenancy.models import Membership, Tenant
from aerospec.tenancy.permissions import ensure_permitted

#: The quantities the accuracy page compares: stored-prediction key -> (label, unit).
QUANTITIES = {
    "flow_ml_min": ("Flow rate", "mL/min"),
    "cone_deg": ("Cone angle", "°"),
    "dv50_um": ("Dv50", "µm"),
    "smd_um": ("SMD", "µm"),
}
GRANULARITIES = ("day", "week", "month")
EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)
MAX_BUCKETS = 400
#: Fewer results than this behind a figure: the page says it is too few to read much into.
FEW = 5
#: z for a two-sided 90 % interval (the same level as the engine's bands).
Z90 = 1.6449
FAMILY_UNKNOWN = "not in the catalog"

# What the usage series are made of, in words the page and the API both give.
SERIES_SOURCES = {
    "configurations": "Configurations created (archived ones included), by the day they were created.",
    "orders": "Orders created, by the day they were created; a draft that was deleted is not counted.",
    "lab_results": "Lab results recorded, by the day they were recorded.",
    "seats": (
        "Members at the end of each period: today's members from the day they joined, plus members removed since, "
        "until their removal (the audit log's member.removed entries); a removed member's join date is not kept, "
        "so they count from the workspace's creation. Pending invitations are not included."
    ),
    "api_calls": (
        "API calls answered with 2xx or 3xx, as the plan's monthly limit counts them (usage roll-ups; the current "
        "month from the live counter)."
    ),
}
NOT_RECORDED = {
    "predictions": (
        "Not recorded: the wizard and POST /api/configurations/predict compute predictions without storing them. "
        "What is stored is each saved configuration's ranking (see configurations) and the prediction kept with "
        "each lab result (see lab results)."
    ),
    "quotes": (
        "Not recorded: quote comparisons are answered live and cached in memory for 60 seconds, not stored. Each "
        "order keeps the quotes asked when it was created (see orders)."
    ),
}
API_CALLS_BY_MONTH_ONLY = (
    "Not recorded by day or week: API calls are counted per calendar month (the plan's limit). Choose month."
)


# ---- date ranges


@dataclass(frozen=True)
class DateRange:
    """Whole UTC days, both ends included; None: open on that side."""

    start: date | None
    end: date | None

    @property
    def start_at(self) -> datetime | None:
        return None if self.start is None else datetime.combine(self.start, datetime.min.time(), UTC)

    @property
    def end_before(self) -> datetime | None:
        return None if self.end is None else datetime.combine(self.end + timedelta(days=1), datetime.min.time(), UTC)

    def as_json(self) -> dict:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
        }

    def query(self) -> dict[str, str]:
        """The range as query arguments (for links and the export forms)."""
        return {k: v for k, v in self.as_json().items() if v}

    def where(self, column) -> list:
        out = []
        if self.start_at is not None:
            out.append(column >= self.start_at)
        if self.end_before is not None:
            out.append(column < self.end_before)
        return out


def _date_arg(args: Mapping[str, str], name: str, errors: dict[str, list[str]]) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        if len(raw) != 10 or not raw.isascii():
            raise ValueError
        value = date.fromisoformat(raw)
    except ValueError:
        errors[name] = ["Give a date as YYYY-MM-DD, for example 2026-01-31."]
        return None
    if not EARLIEST <= value <= LATEST:
        errors[name] = [f"Give a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}."]
        return None
    return value


def parse_range(args: Mapping[str, str], errors: dict[str, list[str]]) -> DateRange:
    """?from= and ?to= (YYYY-MM-DD, UTC days, both included); problems go into `errors` by field."""
    start, end = _date_arg(args, "from", errors), _date_arg(args, "to", errors)
    if start and end and start > end:
        errors["to"] = ["The end date must be on or after the start date."]
    return DateRange(start, end)


def parse_granularity(args: Mapping[str, str], errors: dict[str, list[str]]) -> str:
    raw = (args.get("granularity") or "month").strip()
    if raw not in GRANULARITIES:
        errors["granularity"] = ["Choose day, week or month."]
        return "month"
    return raw


def check(errors: dict[str, list[str]]) -> None:
    """Raise the query's field errors as one 422 (the API) or let the page show them by its fields."""
    if errors:
        raise ValidationFailed("Check the query parameters listed in errors.", field_errors=errors)


# ---- figures and how sure they are


def wilson(k: int, n: int, z: float = Z90) -> tuple[float, float] | None:
    """The Wilson score interval of a share k/n (90 % by default); None without observations."""
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Stats:
    """Errors of a set of (predicted, measured) pairs of one quantity: relative errors in %."""

    n: int = 0
    abs_pct_sum: float = 0.0
    pct_sum: float = 0.0
    with_band: int = 0
    in_band: int = 0

    def add(self, item: dict) -> None:
        if item["error_pct"] is None:
            return
        self.n += 1
        self.abs_pct_sum += abs(item["error_pct"])
        self.pct_sum += item["error_pct"]
        if item["in_band"] is not None:
            self.with_band += 1
            self.in_band += int(item["in_band"])

    def as_json(self) -> dict:
        interval = wilson(self.in_band, self.with_band)
        return {
            "n": self.n,
            "mean_abs_error_pct": round(self.abs_pct_sum / self.n, 1) if self.n else None,
            "mean_error_pct": round(self.pct_sum / self.n, 1) if self.n else None,
            "with_band": self.with_band,
            "in_band": self.in_band,
            "in_band_share": round(self.in_band / self.with_band, 3) if self.with_band else None,
            "in_band_share_90": [round(interval[0], 3), round(interval[1], 3)] if interval else None,
            "few": self.n < FEW,
        }


# ---- accuracy


@dataclass
class Point:
    """One measured quantity of one lab result beside its stored prediction."""

    feedback_id: str
    recorded_at: datetime
    configuration_id: str
    configuration: str
    sku: str
    supplier: str
    family: str
    fluid: str
    pressure_bar: float
    quantity: str
    predicted: float
    band_low: float | None
    band_high: float | None
    measured: float
    error: float
    error_pct: float | None
    in_band: bool | None
    engine_version: str | None

    def as_json(self) -> dict:
        return {
            "feedback_id": self.feedback_id,
            "recorded_at": self.recorded_at.isoformat(),
            "configuration_id": self.configuration_id,
            "sku": self.sku,
            "supplier": self.supplier,
            "family": self.family,
            "fluid": self.fluid,
            "pressure_bar": self.pressure_bar,
            "quantity": self.quantity,
            "predicted": self.predicted,
            "band_low": self.band_low,
            "band_high": self.band_high,
            "measured": self.measured,
            "error": self.error,
            "error_pct": self.error_pct,
            "in_band": self.in_band,
            "engine_version": self.engine_version,
        }


@dataclass
class Accuracy:
    range: DateRange
    results: int  # lab results in the range
    points: list[Point]  # newest first
    overall: dict[str, dict]  # quantity -> Stats.as_json()
    by_family: list[dict]
    by_sku: list[dict]
    by_fluid: list[dict]
    by_month: list[dict]
    engine_versions: list[str] = field(default_factory=list)

    def as_json(self, *, points_limit: int | None = None) -> dict:
        shown = self.points if points_limit is None else self.points[:points_limit]
        return {
            "range": self.range.as_json(),
            "results": self.results,
            "quantities": {
                q: {"label": label, "unit": unit, **self.overall[q]} for q, (label, unit) in QUANTITIES.items()
            },
            "error_definition": "error = measured − predicted; error_pct = 100 × error ÷ predicted; in_band: the "
            "measurement fell inside the 90 % band stored with the prediction",
            "by_family": self.by_family,
            "by_sku": self.by_sku,
            "by_fluid": self.by_fluid,
            "by_month": self.by_month,
            "engine_versions": self.engine_versions,
            "points": [p.as_json() for p in shown],
            "points_total": len(self.points),
        }


def _fluid_name(config: Configuration) -> str:
    if config.fluid_name:
        return config.fluid_name
    return (
        f"unnamed fluid ({config.fluid_viscosity_cP:g} cP, {config.fluid_density_kg_m3:g} kg/m³, "
        f"{config.fluid_surface_tension_mN_m:g} mN/m)"
    )


def _families(session: Session, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(sku, supplier) -> the catalog's family for it (the catalog is shared by every workspace)."""
    skus = {sku for sku, _ in keys}
    if not skus:
        return {}
    rows = session.execute(
        select(Actuator.sku, Actuator.supplier, Actuator.family).where(Actuator.sku.in_(sorted(skus)))
    ).all()
    return {(r.sku, r.supplier): r.family or FAMILY_UNKNOWN for r in rows}


def _grouped(points: list[Point], key) -> list[dict]:
    """Per group and quantity: the error statistics, groups by most results first."""
    stats: dict[str, dict[str, Stats]] = defaultdict(lambda: defaultdict(Stats))
    extra: dict[str, dict] = {}
    results: dict[str, set] = defaultdict(set)
    for p in points:
        group, info = key(p)
        extra.setdefault(group, info)
        results[group].add(p.feedback_id)
        stats[group][p.quantity].add(p.as_json())
    rows = []
    for group in sorted(stats, key=lambda g: (-len(results[g]), g)):
        rows.append(
            {
                "group": group,
                **extra[group],
                "results": len(results[group]),
                "quantities": {q: stats[group][q].as_json() for q in QUANTITIES if stats[group][q].n},
            }
        )
    return rows


def _month(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m")


def accuracy(session: Session, tenant: Tenant, span: DateRange) -> Accuracy:
    """How close the stored predictions came to what the lab measured, for the tenant's lab results in `span`."""
    query = (
        select(Feedback, Configuration)
        .join(Configuration, Configuration.id == Feedback.configuration_id)
        .where(Feedback.tenant_id == tenant.id, Configuration.tenant_id == tenant.id, *span.where(Feedback.created_at))
        .order_by(Feedback.created_at.desc(), Feedback.id)
    )
    rows = session.execute(query).all()
    families = _families(session, {(f.actuator_sku, f.actuator_supplier) for f, _ in rows})
    points: list[Point] = []
    versions: set[str] = set()
    for row, config in rows:
        version = (row.prediction or {}).get("engine_version")
        if version:
            versions.add(str(version))
        for item in feedback.comparison(row):
            if item["quantity"] not in QUANTITIES or item["predicted"] is None:
                continue
            points.append(
                Point(
                    feedback_id=str(row.id),
                    recorded_at=row.created_at,
                    configuration_id=str(config.id),
                    configuration=config.name,
                    sku=row.actuator_sku,
                    supplier=row.actuator_supplier,
                    family=families.get((row.actuator_sku, row.actuator_supplier), FAMILY_UNKNOWN),
                    fluid=_fluid_name(config),
                    pressure_bar=row.pressure_bar,
                    quantity=item["quantity"],
                    predicted=item["predicted"],
                    band_low=item["band_low"],
                    band_high=item["band_high"],
                    measured=item["measured"],
                    error=item["error"],
                    error_pct=item["error_pct"],
                    in_band=item["in_band"],
                    engine_version=str(version) if version else None,
                )
            )
    overall: dict[str, Stats] = {q: Stats() for q in QUANTITIES}
    for p in points:
        overall[p.quantity].add(p.as_json())
    months: dict[str, dict[str, Stats]] = defaultdict(lambda: defaultdict(Stats))
    month_results: dict[str, set] = defaultdict(set)
    for p in points:
        months[_month(p.recorded_at)][p.quantity].add(p.as_json())
        month_results[_month(p.recorded_at)].add(p.feedback_id)
    by_month = [
        {
            "month": m,
            "results": len(month_results[m]),
            "quantities": {q: months[m][q].as_json() for q in QUANTITIES if months[m][q].n},
        }
        for m in sorted(months)
    ]
    return Accuracy(
        range=span,
        results=len(rows),
        points=points,
        overall={q: s.as_json() for q, s in overall.items()},
        by_family=_grouped(points, lambda p: (p.family, {})),
        by_sku=_grouped(points, lambda p: (f"{p.supplier}:{p.sku}", {"sku": p.sku, "supplier": p.supplier})),
        by_fluid=_grouped(points, lambda p: (p.fluid, {})),
        by_month=by_month,
        engine_versions=sorted(versions),
    )


# ---- usage over time


def default_range(span: DateRange, granularity: str, today: date) -> DateRange:
    """Fill an open range: up to today, from 30 days, 12 weeks or 12 months back."""
    end = span.end or today
    if span.start is not None:
        return DateRange(span.start, end)
    if granularity == "day":
        return DateRange(end - timedelta(days=29), end)
    if granularity == "week":
        return DateRange(_bucket_start(end, "week") - timedelta(weeks=11), end)
    first = _bucket_start(end, "month")
    year, month = first.year, first.month - 11
    while month < 1:
        year, month = year - 1, month + 12
    return DateRange(date(year, month, 1), end)


def _bucket_start(day: date, granularity: str) -> date:
    if granularity == "day":
        return day
    if granularity == "week":
        return day - timedelta(days=day.weekday())  # weeks start on Monday (ISO)
    return day.replace(day=1)


def _next_bucket(start: date, granularity: str) -> date:
    if granularity == "day":
        return start + timedelta(days=1)
    if granularity == "week":
        return start + timedelta(weeks=1)
    days = calendar.monthrange(start.year, start.month)[1]
    return start + timedelta(days=days)


def buckets(span: DateRange, granularity: str) -> list[date]:
    """The starts of the periods that overlap the (closed) range."""
    assert span.start is not None and span.end is not None
    out, at = [], _bucket_start(span.start, granularity)
    while at <= span.end:
        out.append(at)
        if len(out) > MAX_BUCKETS:
            break
        at = _next_bucket(at, granularity)
    return out


def bucket_label(start: date, granularity: str) -> str:
    if granularity == "month":
        return start.strftime("%b %Y")
    if granularity == "week":
        return f"w/c {start.day:02d} {start.strftime('%b %Y')}"
    return f"{start.day:02d} {start.strftime('%b %Y')}"


def _count_by_bucket(stamps: Iterable[datetime], starts: list[date], granularity: str) -> list[int]:
    index = {s: i for i, s in enumerate(starts)}
    counts = [0] * len(starts)
    for stamp in stamps:
        i = index.get(_bucket_start(stamp.astimezone(UTC).date(), granularity))
        if i is not None:
            counts[i] += 1
    return counts


@dataclass
class Usage:
    range: DateRange
    granularity: str
    periods: list[date]
    series: dict[str, list[int] | None]  # None: not recorded at this granularity
    notes: dict[str, str]  # series -> what it is made of, or why it is not there

    def labels(self) -> list[str]:
        return [bucket_label(p, self.granularity) for p in self.periods]

    def as_json(self) -> dict:
        names = ("configurations", "predictions", "quotes", "orders", "lab_results", "api_calls", "seats")
        return {
            "range": self.range.as_json(),
            "granularity": self.granularity,
            "periods": [p.isoformat() for p in self.periods],
            "series": {
                name: {
                    "recorded": self.series.get(name) is not None,
                    "values": self.series.get(name),
                    "total": None if self.series.get(name) is None or name == "seats" else sum(self.series[name] or []),
                    "source": self.notes[name],
                }
                for name in names
            },
        }


def _stamps(session: Session, column, tenant_column, tenant: Tenant, span: DateRange) -> list[datetime]:
    return list(session.scalars(select(column).where(tenant_column == tenant.id, *span.where(column))))


def _seats(session: Session, tenant: Tenant, starts: list[date], granularity: str) -> list[int]:
    joined = list(session.scalars(select(Membership.created_at).where(Membership.tenant_id == tenant.id)))
    removed = list(
        session.scalars(
            select(AuditLog.created_at).where(AuditLog.tenant_id == tenant.id, AuditLog.action == "member.removed")
        )
    )
    out = []
    for start in starts:
        end = datetime.combine(_next_bucket(start, granularity), datetime.min.time(), UTC)
        members = sum(1 for at in joined if at < end)
        if tenant.created_at < end:
            members += sum(1 for at in removed if at >= end)
        out.append(members)
    return out


def _api_calls(
    session: Session, tenant: Tenant, starts: list[date], counter: counters.Counter, now: datetime
) -> list[int]:
    stamps = {s.strftime("%Y-%m"): i for i, s in enumerate(starts)}
    values = [0] * len(starts)
    rows = session.execute(
        select(UsageRollup.period, UsageRollup.count).where(
            UsageRollup.tenant_id == tenant.id, UsageRollup.metric == API_CALLS, UsageRollup.period.in_(list(stamps))
        )
    ).all()
    for period, count in rows:
        values[stamps[period]] = int(count)
    current = counters.period_stamp("month", now)
    if current in stamps:  # the roll-up is hourly: this month's figure comes from the live counter
        values[stamps[current]] = usage.peek(session, tenant, API_CALLS, counter=counter, now=now)
    return values


def usage_over_time(
    session: Session,
    tenant: Tenant,
    span: DateRange,
    granularity: str,
    *,
    counter: counters.Counter,
    now: datetime | None = None,
) -> Usage:
    """Configurations, orders, lab results, API calls and seats per day, week or month; what is not recorded
    (predictions, quotes; API calls by day or week) is None with the reason."""
    now = now or utcnow()
    span = default_range(span, granularity, now.astimezone(UTC).date())
    starts = buckets(span, granularity)
    if len(starts) > MAX_BUCKETS:
        raise ValidationFailed(
            "Check the query parameters listed in errors.",
            field_errors={
                "from": [
                    f"That range has more than {MAX_BUCKETS} {granularity}s; shorten it or choose "
                    "a longer period (week or month)."
                ]
            },
        )
    whole = DateRange(starts[0], _next_bucket(starts[-1], granularity) - timedelta(days=1))
    series: dict[str, list[int] | None] = {
        "configurations": _count_by_bucket(
            _stamps(session, Configuration.created_at, Configuration.tenant_id, tenant, whole), starts, granularity
        ),
        "orders": _count_by_bucket(
            _stamps(session, Procurement.created_at, Procurement.tenant_id, tenant, whole), starts, granularity
        ),
        "lab_results": _count_by_bucket(
            _stamps(session, Feedback.created_at, Feedback.tenant_id, tenant, whole), starts, granularity
        ),
        "seats": _seats(session, tenant, starts, granularity),
        "api_calls": _api_calls(session, tenant, starts, counter, now) if granularity == "month" else None,
        "predictions": None,
        "quotes": None,
    }
    notes = dict(SERIES_SOURCES) | NOT_RECORDED
    if granularity != "month":
        notes["api_calls"] = API_CALLS_BY_MONTH_ONLY
    return Usage(range=span, granularity=granularity, periods=starts, series=series, notes=notes)


# ---- the most used SKUs and fluids


@dataclass
class TopUse:
    range: DateRange
    skus: list[dict]
    fluids: list[dict]

    def as_json(self) -> dict:
        return {
            "range": self.range.as_json(),
            "skus": self.skus,
            "fluids": self.fluids,
            "definitions": TOP_DEFINITIONS,
        }


TOP_DEFINITIONS = {
    "top_ranked": "configurations (created in the range) whose saved ranking puts this SKU first",
    "ranked": "configurations (created in the range) whose saved ranking includes this SKU",
    "configurations": "configurations created in the range with this fluid",
    "orders": "orders created in the range with a line for this SKU (SKUs), or from a configuration with this "
    "fluid (fluids)",
    "units_ordered": "units of this SKU on those orders",
    "lab_results": "lab results recorded in the range for this SKU (SKUs), or for a configuration with this fluid "
    "(fluids)",
}


def top_configurations(session: Session, tenant: Tenant, span: DateRange) -> TopUse:
    """The SKUs and fluids the tenant's configurations, orders and lab results use most, most used first."""
    configs = list(
        session.scalars(
            select(Configuration).where(Configuration.tenant_id == tenant.id, *span.where(Configuration.created_at))
        )
    )
    top, ranked = Counter(), Counter()
    fluid_configs = Counter()
    for c in configs:
        entries = [e for e in (c.compatible_actuators or []) if isinstance(e, dict) and e.get("sku")]
        if entries:
            top[(str(entries[0].get("supplier") or ""), str(entries[0]["sku"]))] += 1
        for key in {(str(e.get("supplier") or ""), str(e["sku"])) for e in entries}:
            ranked[key] += 1
        fluid_configs[_fluid_name(c)] += 1
    lines = session.execute(
        select(ProcurementLineItem.procurement_id, ProcurementLineItem.sku, ProcurementLineItem.qty, Procurement)
        .join(Procurement, Procurement.id == ProcurementLineItem.procurement_id)
        .where(
            ProcurementLineItem.tenant_id == tenant.id,
            Procurement.tenant_id == tenant.id,
            *span.where(Procurement.created_at),
        )
    ).all()
    orders: dict[tuple[str, str], set] = defaultdict(set)
    units = Counter()
    config_fluids = {
        c.id: _fluid_name(c) for c in session.scalars(select(Configuration).where(Configuration.tenant_id == tenant.id))
    }
    fluid_orders: dict[str, set] = defaultdict(set)
    for procurement_id, sku, qty, order in lines:
        key = (order.selected_supplier or "", sku)
        orders[key].add(procurement_id)
        units[key] += qty
        if order.configuration_id in config_fluids:
            fluid_orders[config_fluids[order.configuration_id]].add(procurement_id)
    results = session.execute(
        select(Feedback.actuator_supplier, Feedback.actuator_sku, Feedback.configuration_id).where(
            Feedback.tenant_id == tenant.id, *span.where(Feedback.created_at)
        )
    ).all()
    lab = Counter((r.actuator_supplier, r.actuator_sku) for r in results)
    fluid_lab = Counter(config_fluids.get(r.configuration_id, "") for r in results)
    keys = set(ranked) | set(orders) | set(lab)
    families = _families(session, [(sku, supplier) for supplier, sku in keys])
    skus = [
        {
            "sku": sku,
            "supplier": supplier,
            "family": families.get((sku, supplier), FAMILY_UNKNOWN),
            "top_ranked": top[(supplier, sku)],
            "ranked": ranked[(supplier, sku)],
            "orders": len(orders[(supplier, sku)]),
            "units_ordered": units[(supplier, sku)],
            "lab_results": lab[(supplier, sku)],
        }
        for supplier, sku in keys
    ]
    skus.sort(key=lambda r: (-r["top_ranked"], -r["orders"], -r["lab_results"], -r["ranked"], r["sku"]))
    names = set(fluid_configs) | set(fluid_orders) | {n for n in fluid_lab if n}
    fluids = [
        {
            "fluid": name,
            "configurations": fluid_configs[name],
            "orders": len(fluid_orders[name]),
            "lab_results": fluid_lab[name],
        }
        for name in names
    ]
    fluids.sort(key=lambda r: (-r["configurations"], -r["orders"], -r["lab_results"], r["fluid"]))
    return TopUse(range=span, skus=skus, fluids=fluids)


# ---- CSV exports (count toward the plan's exports per day)

ACCURACY_COLUMNS = (
    "feedback_id",
    "recorded_at",
    "configuration_id",
    "sku",
    "supplier",
    "family",
    "fluid",
    "pressure_bar",
    "quantity",
    "unit",
    "predicted",
    "band_low",
    "band_high",
    "measured",
    "error",
    "error_pct",
    "in_band",
    "engine_version",
)
TOP_COLUMNS = (
    "kind",
    "name",
    "supplier",
    "family",
    "top_ranked",
    "ranked",
    "configurations",
    "orders",
    "units_ordered",
    "lab_results",
)
REPORTS = ("accuracy", "usage", "top-configurations")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    text = str(value)
    # SECURITY: a cell starting with =, +, -, @ runs as a formula in spreadsheets.
    if text and text[0] in "=+-@\t\r" and not isinstance(value, int | float):
        text = "'" + text
    return text


def _csv(header: Iterable[str], rows: Iterable[Iterable]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(header))
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def accuracy_csv(data: Accuracy) -> str:
    """One line per measured quantity of each lab result, with the stored prediction and band beside it."""
    return _csv(
        ACCURACY_COLUMNS,
        (
            [
                p.feedback_id,
                p.recorded_at,
                p.configuration_id,
                p.sku,
                p.supplier,
                p.family,
                p.fluid,
                p.pressure_bar,
                p.quantity,
                QUANTITIES[p.quantity][1],
                p.predicted,
                p.band_low,
                p.band_high,
                p.measured,
                p.error,
                p.error_pct,
                p.in_band,
                p.engine_version,
            ]
            for p in data.points
        ),
    )


def usage_csv(data: Usage) -> str:
    """One line per period; a series not recorded at this granularity is left out (the page says why)."""
    names = [n for n in ("configurations", "orders", "lab_results", "api_calls", "seats") if data.series[n] is not None]
    return _csv(
        ["period_start", "period", *names],
        (
            [p.isoformat(), label, *(data.series[n][i] for n in names)]
            for i, (p, label) in enumerate(zip(data.periods, data.labels(), strict=True))
        ),
    )


def top_csv(data: TopUse) -> str:
    """The SKUs, then the fluids, most used first."""
    sku_rows = (
        [
            "sku",
            r["sku"],
            r["supplier"],
            r["family"],
            r["top_ranked"],
            r["ranked"],
            None,
            r["orders"],
            r["units_ordered"],
            r["lab_results"],
        ]
        for r in data.skus
    )
    fluid_rows = (
        ["fluid", r["fluid"], None, None, None, None, r["configurations"], r["orders"], None, r["lab_results"]]
        for r in data.fluids
    )
    return _csv(TOP_COLUMNS, [*sku_rows, *fluid_rows])


@dataclass
class Export:
    filename: str
    body: str
    quota: counters.QuotaUse


def export_report(
    session: Session,
    tenant: Tenant,
    actor: Membership,
    report: str,
    body: str,
    *,
    rows: int,
    span: DateRange,
    counter: counters.Counter,
    client=None,
    now: datetime | None = None,
) -> Export:
    """Take one of the day's exports for an analytics CSV and record it (data.exported); LimitReached past the
    plan's exports per day. Does not commit."""
    ensure_permitted(actor, "view_analytics")
    ensure_permitted(actor, "export_data")
    if report not in REPORTS:
        raise ValidationFailed(field_errors={"report": [f"Choose one of: {', '.join(REPORTS)}."]})
    now = now or utcnow()
    use = usage.take_export(session, tenant, counter, now)
    audit.record(
        session,
        tenant.id,
        "data.exported",
        actor=actor.user,
        client=client,
        target_type=f"analytics_{report.replace('-', '_')}",
        details={"format": "csv", "rows": rows, **span.as_json()},
    )
    stamp = now.strftime("%Y%m%d-%H%M%S")
    return Export(f"analytics-{report}-{tenant.slug}-{stamp}.csv", body, use)
