"""The maintained daily summary: each closed UTC day's active users and paid orders, counted once.

The dashboard's product and procurement figures read `revenue_day_rollups` (one row per day, at most a few
hundred rows for two years) plus a live count of the days not rolled up yet — always today, and any day
the hourly job has not reached — so a figure is never missing, only slower to get while the job lags.
Rolled-up days run without gaps from the first day with data to the last one written; the job writes the
days after the last one up to yesterday, so it is idempotent and cheap when nothing is due.

A person counts as active on a day when one of their login sessions started or was last active on it
(see DEFINITIONS["active_users"]); orders are the commissions recorded that day (one per paid order).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from aerospec.accounts.models import UserSession
from aerospec.models import utcnow
from aerospec.procurement.models import Procurement, ProcurementCommission
from aerospec.revenue.models import RevenueDayRollup
from aerospec.tenancy.scoping import unscoped

ZERO = Decimal("0.00")


@dataclass
class Day:
    """One day's figures: active users and, per (supplier, currency), [paid orders, value, commissions]."""

    active_users: int = 0
    orders: dict[tuple[str, str], list] = field(default_factory=dict)

    def add_orders(self, supplier: str, currency: str, n: int, value: Decimal, commission: Decimal) -> None:
        row = self.orders.setdefault((supplier, currency), [0, ZERO, ZERO])
        row[0] += n
        row[1] += value
        row[2] += commission


def _day_expr(session: Session, column):
    """A timestamp's UTC day, grouped cheaply: PostgreSQL truncates (formatting every row costs more)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("day", func.timezone("UTC", column))
    return func.strftime("%Y-%m-%d", column)


def _label(value) -> str:
    return value if isinstance(value, str) else value.strftime("%Y-%m-%d")


def _dec(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01")) if value is not None else ZERO


def count_between(session: Session, start: datetime, end: datetime) -> dict[str, Day]:
    """Every day in [start, end) with its figures counted from sessions and commissions (two grouped reads)."""
    days: dict[str, Day] = defaultdict(Day)
    S = UserSession  # noqa: N806 - short alias for a long query
    started, last = _day_expr(session, S.started_at), _day_expr(session, S.last_activity_at)
    touched = union_all(
        # (a session last active before it started cannot be: the last-activity bound lets the index answer)
        select(S.user_id.label("user_id"), started.label("day")).where(
            S.started_at >= start, S.started_at < end, S.last_activity_at >= start
        ),
        select(S.user_id.label("user_id"), last.label("day")).where(
            S.last_activity_at >= start, S.last_activity_at < end
        ),
    ).subquery()
    for day, users in session.execute(
        select(touched.c.day, func.count(func.distinct(touched.c.user_id))).group_by(touched.c.day)
    ):
        days[_label(day)].active_users = int(users)
    C = ProcurementCommission  # noqa: N806
    paid = _day_expr(session, C.created_at)
    with unscoped(session, "revenue roll-up: paid orders across workspaces by day"):
        rows = session.execute(
            select(
                paid,
                Procurement.selected_supplier,
                C.currency,
                func.count(),
                func.sum(C.base_amount),
                func.sum(C.amount),
            )
            .join(Procurement, Procurement.id == C.procurement_id)
            .where(C.created_at >= start, C.created_at < end)
            .group_by(paid, Procurement.selected_supplier, C.currency)
        ).all()
    for day, supplier, currency, n, value, amount in rows:
        days[_label(day)].add_orders(supplier or "unknown", currency, int(n), _dec(value), _dec(amount))
    return dict(days)


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time.min, UTC)


def _first_day(session: Session) -> date | None:
    """The first day anything happened that the summary counts (the earliest session or paid order)."""
    with unscoped(session, "revenue roll-up: the first paid order"):
        first_order = session.scalar(select(func.min(ProcurementCommission.created_at)))
    first_session = session.scalar(select(func.min(UserSession.started_at)))
    known = [d for d in (first_order, first_session) if d is not None]
    return min(known).date() if known else None


def last_rolled_up(session: Session) -> date | None:
    day = session.scalar(select(func.max(RevenueDayRollup.day)))
    return date.fromisoformat(day) if day else None


def roll_up(session: Session, now: datetime | None = None) -> int:
    """Write the closed days after the last one rolled up (or from the first day with data) to yesterday.

    Does not commit; returns how many days it wrote."""
    now = now or utcnow()
    today = now.date()
    last = last_rolled_up(session)
    first = last + timedelta(days=1) if last else _first_day(session)
    if first is None or first >= today:
        return 0
    counted = count_between(session, _midnight(first), _midnight(today))
    written = 0
    d = first
    while d < today:
        figures = counted.get(d.isoformat(), Day())
        session.add(
            RevenueDayRollup(
                day=d.isoformat(),
                active_users=figures.active_users,
                orders={f"{s}|{c}": [n, str(v), str(a)] for (s, c), (n, v, a) in figures.orders.items()},
                computed_at=now,
            )
        )
        written += 1
        d += timedelta(days=1)
    session.flush()
    return written


def days(session: Session, now: datetime | None = None) -> dict[str, Day]:
    """Every day's figures: the rolled-up ones, and the rest (today at least) counted live."""
    now = now or utcnow()
    out: dict[str, Day] = {}
    for day, users, orders in session.execute(
        select(RevenueDayRollup.day, RevenueDayRollup.active_users, RevenueDayRollup.orders)
    ):
        figures = Day(active_users=users)
        for key, (n, value, amount) in (orders or {}).items():
            supplier, currency = key.split("|", 1)
            figures.add_orders(supplier, currency, n, Decimal(value), Decimal(amount))
        out[day] = figures
    last = max(out) if out else None
    start = (
        _midnight(date.fromisoformat(last) + timedelta(days=1))
        if last
        else _midnight(_first_day(session) or now.date())
    )
    out.update(count_between(session, start, now + timedelta(seconds=1)))
    return out
