"""Revenue and product metrics for platform admins, read from the MRR ledger, orders, sessions and usage.

Every read crosses tenants through `unscoped(...)` with a reason; only platform-admin views, the admin
API and the bench call these. Money is in cents (int) here; the views and the API format it.
Each figure's definition lives in DEFINITIONS (shown beside it on the dashboard and on its definitions
page), so what a number means is written once.

Monthly figures come from aggregates over the ledger's indexed (month, kind) and (cohort, month)
columns: the dashboard reads a few grouped rows per month, not one row per workspace.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from aerospec.accounts.models import UserSession
from aerospec.billing.models import Invoice, UsageRollup
from aerospec.billing.plans import PLANS
from aerospec.configurations.models import Configuration
from aerospec.errors import ValidationFailed
from aerospec.limits.counters import QUOTAS, period_stamp
from aerospec.limits.effective import effective_limits
from aerospec.models import utcnow
from aerospec.procurement.models import ProcurementCommission
from aerospec.revenue import rollups
from aerospec.revenue.models import KINDS, MrrLedgerEntry
from aerospec.tenancy.models import Membership, Tenant
from aerospec.tenancy.scoping import unscoped

TRAILING_MONTHS = 6  # churn, LTV and the forecast read the last 6 complete months
FORECAST_MONTHS = 12
GROWTH_PERIODS = {"7d": 7, "30d": 30, "90d": 90}
TOP_METRICS = ("mrr", "api_calls", "configurations", "orders")
API_CALLS = "api_calls_per_month"
SEEDED_SLUG_PREFIX = "seed-"  # the seeded sample history's workspaces (aerospec.revenue.seed)

DEFINITIONS: dict[str, tuple[str, str]] = {
    "mrr": (
        "MRR (monthly recurring revenue)",
        "What paying workspaces are billed per month for their plan and extra seats, in USD: an annual price counts "
        "as 1/12 of it (rounded half-up to the cent). Active and past-due subscriptions count (a past-due workspace "
        "is still billed until it is canceled); trials, canceled and unpaid ones count 0. Read from the MRR ledger, "
        "which records each change when the provider's event arrives. Enterprise is priced by sales and has no "
        "list price here, so it counts 0.",
    ),
    "arr": ("ARR (annual run rate)", "MRR × 12: what a year at this month's MRR would bill."),
    "mrr_by_plan": (
        "MRR by plan and billing interval",
        "MRR split by the plan and interval each workspace pays on now (annual subscriptions at 1/12).",
    ),
    "movements": (
        "MRR movements",
        "Per calendar month (UTC), the changes of workspaces' MRR: new (first payment after sign-up or trial), "
        "expansion (paying more: upgrade, extra seats), contraction (paying less), churned (down to zero: canceled "
        "or no longer paying) and reactivated (paying again after churning). Net new MRR is their sum; MRR at a "
        "month's end is the sum of every movement up to it.",
    ),
    "customers": ("Paying workspaces", "Workspaces whose MRR is above zero at the month's end."),
    "arpu": ("ARPU (average revenue per paying workspace)", "MRR ÷ paying workspaces, per month."),
    "logo_churn": (
        "Logo churn",
        "Workspaces that churned in a month ÷ paying workspaces at the start of that month. The trailing figure is "
        "the average of the last 6 complete months.",
    ),
    "revenue_churn": (
        "Revenue churn (gross MRR churn)",
        "MRR lost in a month to churn and contraction ÷ MRR at the start of that month.",
    ),
    "nrr": (
        "Net revenue retention (NRR)",
        "(MRR at the start of a month + expansion − contraction − churned MRR in it) ÷ MRR at the start. New and "
        "reactivated revenue is left out. A workspace that started paying and changed its amount in the same month "
        "counts its change here too, so a month with many such changes reads slightly high.",
    ),
    "ltv": (
        "LTV (lifetime value)",
        "ARPU ÷ average monthly logo churn of the last 6 complete months: what a paying workspace is worth if "
        "workspaces keep churning at that rate. It is an estimate from the trailing rate, not a measured "
        "lifetime; with no churn in the window it is not defined.",
    ),
    "trial_conversion": (
        "Trial conversion by sign-up month",
        "Of the workspaces that signed up in a month, the share that has started paying since (their first "
        "“new” MRR movement). Workspaces still in their trial are counted apart: the rate of a recent month "
        "can still rise.",
    ),
    "cohorts": (
        "Cohort retention by sign-up month",
        "Of the workspaces that signed up in a month, the share paying at the end of each month after it "
        "(month 0 is the sign-up month itself). Trials that never paid stay in the cohort, so the first months "
        "also show conversion.",
    ),
    "forecast": (
        "12-month MRR forecast",
        "A straight line from today's MRR: each month adds the average net new MRR of the last 6 complete months. "
        "It assumes new, expansion, contraction and churn keep their recent pace; it is not a model of seasonality "
        "or of pricing changes.",
    ),
    "orders": (
        "Paid orders per month",
        "Procurement orders paid in a month (one commission is recorded per paid order), their value (the order "
        "total the commission is taken on) and the average order value (value ÷ orders).",
    ),
    "commissions": (
        "Commission revenue",
        "What AeroSpec earns on paid orders at the workspace's plan rate when paid (starter 20 %, professional 15 %, "
        "enterprise 10 %), by the month paid.",
    ),
    "suppliers": (
        "Supplier split",
        "Paid orders and their value by the supplier chosen (Spencer or Coster), over the last 12 months.",
    ),
    "active_users": (
        "Daily and weekly active users",
        "DAU: people whose login session (web or API) started or was last active on that day (UTC). WAU: people "
        "with a session active in the last 7 days. A session kept open across several days counts on its first "
        "and last day only, so a day in the middle of such a session may read low.",
    ),
    "configs_per_user": (
        "Configurations per active user",
        "Configurations created in the last 30 days ÷ people active in the last 30 days.",
    ),
    "lab_results": (
        "Lab-result submission rate",
        "Not collected yet: AeroSpec does not store lab results (issue 12 adds them), so no rate is shown.",
    ),
    "api_volume": (
        "API volume",
        "API calls counted against plan limits, per month, from the hourly usage roll-ups (calls of the current "
        "month may lag by up to an hour).",
    ),
}


# -- months ---------------------------------------------------------------------------------------


def month_key(d: date | datetime) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def add_months(month: str, n: int) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + (mon - 1) + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = add_months(m, 1)
    return out


def month_bounds(month: str) -> tuple[datetime, datetime]:
    start = datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=UTC)
    nxt = add_months(month, 1)
    return start, datetime(int(nxt[:4]), int(nxt[5:7]), 1, tzinfo=UTC)


def ratio(numerator: float, denominator: float) -> float | None:
    return None if not denominator else numerator / denominator


def cents(value) -> int:
    return int(value or 0)


# -- MRR ------------------------------------------------------------------------------------------


@dataclass
class MonthRow:
    """One month of the MRR picture (cents; rates as fractions, None where undefined)."""

    month: str
    movements: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    mrr_start: int = 0
    mrr_end: int = 0
    customers_start: int = 0
    customers_end: int = 0

    @property
    def net_new(self) -> int:
        return sum(self.movements.values())

    @property
    def arpu(self) -> float | None:
        return ratio(self.mrr_end, self.customers_end)

    @property
    def logo_churn(self) -> float | None:
        return ratio(self.counts["churn"], self.customers_start)

    @property
    def revenue_churn(self) -> float | None:
        return ratio(-(self.movements["churn"] + self.movements["contraction"]), self.mrr_start)

    @property
    def nrr(self) -> float | None:
        kept = self.mrr_start + self.movements["expansion"] + self.movements["contraction"] + self.movements["churn"]
        return ratio(kept, self.mrr_start)


@dataclass(frozen=True)
class LedgerGroups:
    """The ledger in one grouped read (cohort, month, kind, source), and the views of it the figures use."""

    rows: list[tuple[str, str, str, str, int, int]]  # cohort, month, kind, source, sum(delta), count

    def by_month(self) -> list[tuple[str, str, int, int]]:
        totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for _cohort, month, kind, _source, delta, n in self.rows:
            totals[(month, kind)][0] += delta
            totals[(month, kind)][1] += n
        return [(m, k, d, n) for (m, k), (d, n) in sorted(totals.items())]

    def by_cohort(self) -> list[tuple[str, str, int, int, int]]:
        """(cohort, month, paying workspaces gained, first payments, MRR change)."""
        totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        for cohort, month, kind, _source, delta, n in self.rows:
            row = totals[(cohort, month)]
            row[0] += n if kind in ("new", "reactivation") else -n if kind == "churn" else 0
            row[1] += n if kind == "new" else 0
            row[2] += delta
        return [(c, m, lg, nw, d) for (c, m), (lg, nw, d) in sorted(totals.items())]

    def sources(self) -> dict[str, int]:
        """Rows by where they came from: provider events (exact), backfill (approximate), seed (sample)."""
        out: dict[str, int] = defaultdict(int)
        for *_rest, source, _delta, n in self.rows:
            out[source] += n
        return dict(out)


def ledger_groups(session: Session) -> LedgerGroups:
    L = MrrLedgerEntry  # noqa: N806 - short alias for a long query
    with unscoped(session, "platform admin: MRR ledger by cohort, month, kind and source"):
        rows = session.execute(
            select(L.cohort, L.month, L.kind, L.source, func.sum(L.delta), func.count()).group_by(
                L.cohort, L.month, L.kind, L.source
            )
        ).all()
    return LedgerGroups([(c, m, k, src, cents(d), int(n)) for c, m, k, src, d, n in rows])


def mrr_months(session: Session, now: datetime | None = None, rows=None) -> list[MonthRow]:
    """Every month from the ledger's first to the current one: movements, MRR and paying workspaces."""
    now = now or utcnow()
    rows = ledger_groups(session).by_month() if rows is None else rows
    if not rows:
        return []
    by_month: dict[str, MonthRow] = {}
    for month, kind, total, count in rows:
        row = by_month.setdefault(month, MonthRow(month))
        row.movements[kind] += total
        row.counts[kind] += count
    out, mrr, customers = [], 0, 0
    for month in months_between(min(by_month), max(max(by_month), month_key(now))):
        row = by_month.get(month) or MonthRow(month)
        row.mrr_start, row.customers_start = mrr, customers
        mrr += row.net_new
        customers += row.counts["new"] + row.counts["reactivation"] - row.counts["churn"]
        row.mrr_end, row.customers_end = mrr, customers
        out.append(row)
    return out


def mrr_by_plan(session: Session) -> list[dict]:
    """MRR and paying workspaces now, by plan and billing interval (largest first)."""
    L = MrrLedgerEntry  # noqa: N806
    paying_after = func.sum(case((L.mrr_after > 0, 1), else_=0))
    paying_before = func.sum(case((L.plan_before.is_not(None), 1), else_=0))
    with unscoped(session, "platform admin: MRR by plan"):
        rows = session.execute(
            select(
                L.plan, L.interval, L.plan_before, L.interval_before,
                func.sum(L.mrr_after), paying_after, func.sum(L.mrr_before), paying_before,
            ).group_by(L.plan, L.interval, L.plan_before, L.interval_before)
        ).all()  # fmt: skip
    # What each row added to the plan it is on, less what it took from the plan it was on.
    table: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for plan, interval, plan_before, interval_before, gained, n_after, lost, n_before in rows:
        table[(plan, interval)][0] += cents(gained)
        table[(plan, interval)][1] += int(n_after or 0)
        if plan_before is not None:
            table[(plan_before, interval_before)][0] -= cents(lost)
            table[(plan_before, interval_before)][1] -= int(n_before or 0)
    out = [
        {
            "plan": plan,
            "plan_name": PLANS[plan].name if plan in PLANS else plan,
            "interval": interval,
            "mrr": amount,
            "customers": n,
        }
        for (plan, interval), (amount, n) in table.items()
        if amount or n
    ]
    return sorted(out, key=lambda r: (-r["mrr"], r["plan"], r["interval"]))


def by_interval(plans: list[dict]) -> list[dict]:
    """The by-plan rows summed per billing interval."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in plans:
        totals[row["interval"]][0] += row["mrr"]
        totals[row["interval"]][1] += row["customers"]
    return [{"interval": k, "mrr": v[0], "customers": v[1]} for k, v in sorted(totals.items())]


def complete_months(months: list[MonthRow], now: datetime, n: int = TRAILING_MONTHS) -> list[MonthRow]:
    """The last n months that have ended (the current month is still running)."""
    current = month_key(now)
    return [m for m in months if m.month < current][-n:]


def average(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


@dataclass
class Summary:
    mrr: int
    arr: int
    customers: int
    arpu: float | None
    logo_churn: float | None
    revenue_churn: float | None
    nrr: float | None
    ltv: float | None
    net_new_trend: float | None
    trailing: list[str]
    enterprise_workspaces: int


def summary(months: list[MonthRow], now: datetime, enterprise: int = 0) -> Summary:
    """Today's headline figures and the trailing rates behind churn, NRR, LTV and the forecast."""
    last = months[-1] if months else MonthRow(month_key(now))
    window = complete_months(months, now)
    logo = average([m.logo_churn for m in window])
    arpu = last.arpu
    return Summary(
        mrr=last.mrr_end,
        arr=last.mrr_end * 12,
        customers=last.customers_end,
        arpu=arpu,
        logo_churn=logo,
        revenue_churn=average([m.revenue_churn for m in window]),
        nrr=average([m.nrr for m in window]),
        ltv=(arpu / logo) if (arpu is not None and logo) else None,
        net_new_trend=average([float(m.net_new) for m in window]) if window else None,
        trailing=[m.month for m in window],
        enterprise_workspaces=enterprise,
    )


def forecast(months: list[MonthRow], s: Summary, now: datetime) -> list[dict]:
    """Twelve months ahead on the trailing trend (see DEFINITIONS['forecast'])."""
    if s.net_new_trend is None:
        return []
    start = month_key(now)
    out = []
    for k in range(1, FORECAST_MONTHS + 1):
        out.append({"month": add_months(start, k), "mrr": max(0, round(s.mrr + k * s.net_new_trend))})
    return out


# -- sign-ups, conversion, cohorts ----------------------------------------------------------------


def _signup_month(session: Session, column):
    """A timestamp's UTC month for grouping: PostgreSQL truncates (formatting every row costs more)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("month", func.timezone("UTC", column))
    return func.strftime("%Y-%m", column)


def signups(session: Session) -> dict[str, dict[str, int]]:
    """Per sign-up month: workspaces created, how many are still in their trial, how many are seeded sample
    history (slug seed-…) and how many live ones are on Enterprise (no list price): one read of tenants."""
    month = _signup_month(session, Tenant.created_at).label("month")
    trialing = func.sum(case((Tenant.subscription_status == "trialing", 1), else_=0))
    seeded = func.sum(case((Tenant.slug.startswith(SEEDED_SLUG_PREFIX), 1), else_=0))
    enterprise = func.sum(case(((Tenant.plan == "enterprise") & Tenant.deleted_at.is_(None), 1), else_=0))
    with unscoped(session, "platform admin: sign-ups by month"):
        rows = session.execute(
            select(month, func.count(), trialing, seeded, enterprise).group_by(month).order_by(month)
        ).all()
    return {
        (m if isinstance(m, str) else month_key(m)): {
            "signups": n,
            "trialing": int(t or 0),
            "seeded": int(sd or 0),
            "enterprise": int(e or 0),
        }
        for m, n, t, sd, e in rows
    }


def trial_conversion(sign: dict[str, dict[str, int]], cohort_rows) -> list[dict]:
    """Per sign-up month: sign-ups, converted (ever paid), still trialing, and the rate."""
    converted: dict[str, int] = defaultdict(int)
    for cohort, _month, _logos, new, _delta in cohort_rows:
        converted[cohort] += new
    return [
        {
            "month": month,
            "signups": v["signups"],
            "converted": converted.get(month, 0),
            "trialing": v["trialing"],
            "rate": ratio(converted.get(month, 0), v["signups"]),
        }
        for month, v in sorted(sign.items())
    ]


def cohort_table(sign: dict[str, dict[str, int]], cohort_rows, now: datetime) -> list[dict]:
    """Per sign-up month: its size and, for each month after it up to now, the share of it paying."""
    current = month_key(now)
    logos: dict[str, dict[str, int]] = defaultdict(dict)
    revenue: dict[str, dict[str, int]] = defaultdict(dict)
    for cohort, month, lg, _new, delta in cohort_rows:
        logos[cohort][month] = lg
        revenue[cohort][month] = delta
    out = []
    for cohort, v in sorted(sign.items()):
        paying, mrr, cells = 0, 0, []
        for month in months_between(cohort, current):
            paying += logos[cohort].get(month, 0)
            mrr += revenue[cohort].get(month, 0)
            cells.append({"month": month, "paying": paying, "mrr": mrr, "share": ratio(paying, v["signups"])})
        out.append({"cohort": cohort, "signups": v["signups"], "cells": cells})
    return out


# -- procurement ----------------------------------------------------------------------------------


def orders_by_month(days: dict[str, rollups.Day]) -> list[dict]:
    """Paid orders per month and currency: count, value, average order value and commission."""
    months: dict[tuple[str, str], list] = defaultdict(lambda: [0, Decimal("0.00"), Decimal("0.00")])
    for day, figures in days.items():
        for (_supplier, currency), (n, value, amount) in figures.orders.items():
            row = months[(day[:7], currency)]
            row[0] += n
            row[1] += value
            row[2] += amount
    return [
        {
            "month": month,
            "currency": currency,
            "orders": n,
            "order_value": value,
            "commissions": amount,
            "average": (value / n).quantize(Decimal("0.01"), ROUND_HALF_UP) if n else Decimal("0.00"),
        }
        for (month, currency), (n, value, amount) in sorted(months.items())
        if n
    ]


def supplier_split(days: dict[str, rollups.Day], now: datetime) -> list[dict]:
    """Paid orders and their value by chosen supplier over the last 12 months (365 days to today)."""
    since = (now - timedelta(days=365)).date().isoformat()
    totals: dict[tuple[str, str], list] = defaultdict(lambda: [0, Decimal("0.00")])
    for day, figures in days.items():
        if day < since:
            continue
        for (supplier, currency), (n, value, _amount) in figures.orders.items():
            totals[(supplier, currency)][0] += n
            totals[(supplier, currency)][1] += value
    count = sum(n for n, _ in totals.values())
    return [
        {"supplier": supplier, "currency": currency, "orders": n, "order_value": value, "share": ratio(n, count)}
        for (supplier, currency), (n, value) in sorted(totals.items())
    ]


# -- product --------------------------------------------------------------------------------------


@dataclass
class Product:
    days: list[dict]
    dau: int
    wau: int
    mau: int
    configurations_30d: int
    configs_per_user: float | None
    api_months: list[dict]


def active_users(session: Session, now: datetime) -> tuple[int, int]:
    """(people active in the last 7 days, in the last 30): a session last active since then, one grouped read
    over the index on last activity."""
    S = UserSession  # noqa: N806
    latest = (
        select(S.user_id, func.max(S.last_activity_at).label("last"))
        .where(S.last_activity_at >= now - timedelta(days=30))
        .group_by(S.user_id)
        .subquery()
    )
    week = func.sum(case((latest.c.last >= now - timedelta(days=7), 1), else_=0))
    wau, mau = session.execute(select(week, func.count()).select_from(latest)).one()
    return int(wau or 0), int(mau or 0)


def product(session: Session, now: datetime, days: dict[str, rollups.Day]) -> Product:
    """DAU for the last 30 days, WAU and 30-day actives from sessions, configurations, API calls by month."""
    first = now.date() - timedelta(days=29)
    series = [first + timedelta(days=i) for i in range(30)]
    daily = [{"day": d, "users": days[d.isoformat()].active_users if d.isoformat() in days else 0} for d in series]
    wau, mau = active_users(session, now)
    with unscoped(session, "platform admin: configurations and API calls across workspaces"):
        configs = session.scalar(
            select(func.count()).select_from(Configuration).where(Configuration.created_at >= now - timedelta(days=30))
        )
        api = session.execute(
            select(UsageRollup.period, func.sum(UsageRollup.count))
            .where(UsageRollup.metric == API_CALLS)
            .group_by(UsageRollup.period)
            .order_by(UsageRollup.period.desc())
            .limit(12)
        ).all()
    return Product(
        days=daily,
        dau=daily[-1]["users"],
        wau=wau,
        mau=mau,
        configurations_30d=int(configs or 0),
        configs_per_user=ratio(int(configs or 0), mau),
        api_months=[{"month": p, "calls": int(c or 0)} for p, c in reversed(api)],
    )


# -- the dashboard, in one read -------------------------------------------------------------------


@dataclass
class Dashboard:
    now: datetime
    months: list[MonthRow]
    summary: Summary
    plans: list[dict]
    intervals: list[dict]
    forecast: list[dict]
    conversion: list[dict]
    cohorts: list[dict]
    orders: list[dict]
    suppliers: list[dict]
    product: Product
    seeded_workspaces: int
    sources: dict[str, int]


def dashboard(session: Session, now: datetime | None = None) -> Dashboard:
    """Everything the revenue dashboard shows."""
    now = now or utcnow()
    groups = ledger_groups(session)
    months = mrr_months(session, now, groups.by_month())
    sign = signups(session)
    s = summary(months, now, sum(v["enterprise"] for v in sign.values()))
    plans = mrr_by_plan(session)
    cohort_rows = groups.by_cohort()
    per_day = rollups.days(session, now)
    return Dashboard(
        now=now,
        months=months,
        summary=s,
        plans=plans,
        intervals=by_interval(plans),
        forecast=forecast(months, s, now),
        conversion=trial_conversion(sign, cohort_rows),
        cohorts=cohort_table(sign, cohort_rows, now),
        orders=orders_by_month(per_day),
        suppliers=supplier_split(per_day, now),
        product=product(session, now, per_day),
        seeded_workspaces=sum(v["seeded"] for v in sign.values()),
        sources=groups.sources(),
    )


# -- growth, top workspaces, violations (the API) -------------------------------------------------


def parse_period(value: str | None) -> int:
    """7d, 30d or 90d as days; anything else is a 422 naming the choices."""
    if value not in GROWTH_PERIODS:
        raise ValidationFailed(
            "Check the query parameters listed in errors.", field_errors={"period": ["Use 7d, 30d or 90d."]}
        )
    return GROWTH_PERIODS[value]


def _window_figures(session: Session, start: datetime, end: datetime) -> dict:
    L = MrrLedgerEntry  # noqa: N806
    with unscoped(session, "platform admin: growth"):
        moves = dict.fromkeys(KINDS, 0)
        counts = dict.fromkeys(KINDS, 0)
        for kind, total, n in session.execute(
            select(L.kind, func.sum(L.delta), func.count())
            .where(L.effective_at >= start, L.effective_at < end)
            .group_by(L.kind)
        ):
            moves[kind], counts[kind] = cents(total), n
        signed_up = session.scalar(
            select(func.count()).select_from(Tenant).where(Tenant.created_at >= start, Tenant.created_at < end)
        )
        orders = session.execute(
            select(func.count(), func.sum(ProcurementCommission.amount)).where(
                ProcurementCommission.created_at >= start, ProcurementCommission.created_at < end
            )
        ).one()
        mrr_end = cents(session.scalar(select(func.sum(L.delta)).where(L.effective_at < end)))
    return {
        "signups": int(signed_up or 0),
        "new_customers": counts["new"],
        "reactivated_customers": counts["reactivation"],
        "churned_customers": counts["churn"],
        "movements": moves,
        "net_new_mrr": sum(moves.values()),
        "mrr_end": mrr_end,
        "paid_orders": int(orders[0] or 0),
        "commissions": rollups._dec(orders[1]),
    }


def growth(session: Session, days: int, now: datetime | None = None) -> dict:
    """The last `days` against the `days` before them."""
    now = now or utcnow()
    current = _window_figures(session, now - timedelta(days=days), now)
    previous = _window_figures(session, now - timedelta(days=2 * days), now - timedelta(days=days))
    return {"current": current, "previous": previous}


def parse_top_metric(value: str | None) -> str:
    if value not in TOP_METRICS:
        raise ValidationFailed(
            "Check the query parameters listed in errors.",
            field_errors={"metric": [f"Use one of: {', '.join(TOP_METRICS)}."]},
        )
    return value


def top_organizations(session: Session, metric: str, now: datetime | None = None, limit: int = 10) -> list[dict]:
    """The workspaces with the most of `metric`: MRR now, API calls this month, configurations or paid orders
    in the last 30 days."""
    now = now or utcnow()
    since = now - timedelta(days=30)
    if metric == "mrr":
        value = func.sum(MrrLedgerEntry.delta)
        query = select(MrrLedgerEntry.tenant_id, value).group_by(MrrLedgerEntry.tenant_id)
    elif metric == "api_calls":
        value = func.sum(UsageRollup.count)
        query = (
            select(UsageRollup.tenant_id, value)
            .where(UsageRollup.metric == API_CALLS, UsageRollup.period == period_stamp("month", now))
            .group_by(UsageRollup.tenant_id)
        )
    elif metric == "configurations":
        value = func.count()
        query = (
            select(Configuration.tenant_id, value)
            .where(Configuration.created_at >= since)
            .group_by(Configuration.tenant_id)
        )
    else:
        value = func.count()
        query = (
            select(ProcurementCommission.tenant_id, value)
            .where(ProcurementCommission.created_at >= since)
            .group_by(ProcurementCommission.tenant_id)
        )
    with unscoped(session, f"platform admin: top workspaces by {metric}"):
        ranked = session.execute(query.having(value > 0).order_by(value.desc()).limit(limit)).all()
        names = {t.id: t for t in session.scalars(select(Tenant).where(Tenant.id.in_([tid for tid, _ in ranked])))}
    return [
        {
            "tenant_id": str(tid),
            "name": names[tid].name if tid in names else "",
            "slug": names[tid].slug if tid in names else "",
            "plan": names[tid].plan if tid in names else "",
            "metric": metric,
            "value": int(v or 0),
        }
        for tid, v in ranked
    ]


def violations(session: Session, now: datetime | None = None) -> list[dict]:
    """Workspaces at or over a quota this period (roll-ups against their effective limits) or over their seats."""
    now = now or utcnow()
    periods = {name: period_stamp(period, now) for name, (period, _label) in QUOTAS.items()}
    out: list[dict] = []
    with unscoped(session, "platform admin: usage against limits"):
        rollups = session.execute(
            select(UsageRollup.tenant_id, UsageRollup.metric, UsageRollup.period, UsageRollup.count).where(
                UsageRollup.metric.in_(list(periods)), UsageRollup.period.in_(list(set(periods.values())))
            )
        ).all()
        seats = dict(session.execute(select(Membership.tenant_id, func.count()).group_by(Membership.tenant_id)).all())
        ids = {tid for tid, *_ in rollups} | set(seats)
        tenants = {
            t.id: t for t in session.scalars(select(Tenant).where(Tenant.id.in_(ids), Tenant.deleted_at.is_(None)))
        }
    for tid, metric, period, count in rollups:
        tenant = tenants.get(tid)
        if tenant is None or periods[metric] != period:
            continue
        limit = effective_limits(tenant).get(metric)
        if limit is not None and count >= limit:
            out.append(_violation(tenant, metric, period, count, limit))
    for tid, count in seats.items():
        tenant = tenants.get(tid)
        limit = effective_limits(tenant).get("seats") if tenant else None
        if tenant is not None and limit is not None and count > limit:
            out.append(_violation(tenant, "seats", None, count, limit))
    return sorted(out, key=lambda v: (-v["percent"], v["name"]))


def _violation(tenant: Tenant, metric: str, period: str | None, used: int, limit: int) -> dict:
    return {
        "tenant_id": str(tenant.id),
        "name": tenant.name,
        "slug": tenant.slug,
        "plan": tenant.plan,
        "metric": metric,
        "period": period,
        "used": used,
        "limit": limit,
        "percent": round(100 * used / limit) if limit else None,
    }


# -- subscription revenue per month (for /api/admin/revenue/monthly) ------------------------------


def subscription_revenue_by_month(
    session: Session, tenant_id: uuid.UUID | None = None, start: datetime | None = None, end: datetime | None = None
) -> dict[str, int]:
    """Subscription revenue collected per month (cents): the subscription lines of invoices paid in it."""
    where = [Invoice.status == "paid", Invoice.paid_at.is_not(None)]
    if tenant_id:
        where.append(Invoice.tenant_id == tenant_id)
    if start:
        where.append(Invoice.paid_at >= start)
    if end:
        where.append(Invoice.paid_at < end)
    out: dict[str, int] = defaultdict(int)
    with unscoped(session, "platform admin: subscription revenue by month"):
        for paid_at, lines, amount_paid in session.execute(
            select(Invoice.paid_at, Invoice.lines, Invoice.amount_paid).where(*where)
        ):
            subscription = [line for line in (lines or []) if line.get("kind", "subscription") == "subscription"]
            total = sum(int(line.get("amount") or 0) for line in subscription) if lines else int(amount_paid or 0)
            out[month_key(paid_at)] += total
    return dict(out)


def mrr_at_month_end(session: Session, tenant_id: uuid.UUID | None = None) -> dict[str, int]:
    """MRR at the end of each month with a movement (cents), for one workspace or all."""
    L = MrrLedgerEntry  # noqa: N806
    query = select(L.month, func.sum(L.delta)).group_by(L.month).order_by(L.month)
    if tenant_id:
        query = query.where(L.tenant_id == tenant_id)
    running, out = 0, {}
    with unscoped(session, "platform admin: MRR by month"):
        for month, delta in session.execute(query):
            running += cents(delta)
            out[month] = running
    return out
