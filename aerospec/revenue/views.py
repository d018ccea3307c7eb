"""The revenue dashboard (platform admins; everyone else 404): figures, SVG charts with their tables,
definitions one click away, and a CSV export of every table."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from decimal import Decimal

from flask import Response, abort, render_template

from aerospec.accounts.decorators import platform_admin_required
from aerospec.extensions import db
from aerospec.revenue import bp, charts, services
from aerospec.revenue.models import KINDS

DASHBOARD_MONTHS = 12  # months shown on the page; the CSV exports have every month
COHORT_COLUMNS = 12
KIND_LABELS = {
    "new": "New",
    "expansion": "Expansion",
    "contraction": "Contraction",
    "churn": "Churned",
    "reactivation": "Reactivated",
}
SUPPLIER_LABELS = {"spencer": "Spencer", "coster": "Coster"}


# -- formatting (filters) -------------------------------------------------------------------------


@bp.app_template_filter("usd_cents")
def usd_cents(value: float | int | None, digits: int = 2) -> str:
    """Cents as 'USD 1,234.00' (negative with a minus sign)."""
    if value is None:
        return "—"
    return f"USD {value / 100:,.{digits}f}".replace("USD -", "−USD ")


@bp.app_template_filter("percent")
def percent(value: float | None, digits: int = 1) -> str:
    """A fraction as '3.4 %', or 'not defined' when there was nothing to divide by."""
    return "not defined" if value is None else f"{value * 100:.{digits}f} %"


def _short_usd(cents: float) -> str:
    """An axis label: $2.5k, −$1M, $0."""
    dollars = abs(cents) / 100
    sign = "−" if cents < 0 else ""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if dollars >= size:
            return f"{sign}${dollars / size:.1f}".removesuffix(".0") + suffix
    return f"{sign}${dollars:.0f}"


# -- the page -------------------------------------------------------------------------------------


def _charts(d: services.Dashboard) -> dict:
    months = d.months[-DASHBOARD_MONTHS:]
    labels = [m.month for m in months]
    series = [
        ("new", "New", [m.movements["new"] for m in months]),
        ("expansion", "Expansion", [m.movements["expansion"] for m in months]),
        ("reactivation", "Reactivated", [m.movements["reactivation"] for m in months]),
        ("contraction", "Contraction", [m.movements["contraction"] for m in months]),
        ("churn", "Churned", [m.movements["churn"] for m in months]),
    ]
    usd_orders = [o for o in d.orders if o["currency"] == "USD"][-DASHBOARD_MONTHS:]
    return {
        "mrr": charts.line(
            "chart-mrr",
            "MRR by month, with the 12-month forecast",
            f"MRR at the end of each of the last {len(months)} months (solid) and the forecast for the next "
            f"{len(d.forecast)} (dashed). The table below has the same numbers.",
            [(m.month, m.mrr_end) for m in months],
            [(f["month"], f["mrr"]) for f in d.forecast],
            _short_usd,
        ),
        "movements": charts.stacked(
            "chart-movements",
            "MRR movements by month",
            "New, expansion and reactivated MRR stack above zero; contraction and churned MRR below it. "
            "The table below has the same numbers.",
            labels,
            series,
            _short_usd,
        ),
        "orders": charts.bars(
            "chart-orders",
            "Commission revenue by month",
            "Commission earned on paid orders each month, in USD. The table below has the same numbers.",
            [(o["month"], float(o["commissions"]) * 100) for o in usd_orders],
            _short_usd,
        ),
        "dau": charts.bars(
            "chart-dau",
            "Daily active users, last 30 days",
            "People with a session on each of the last 30 days. The table below has the same numbers.",
            [(day["day"].strftime("%d %b"), day["users"]) for day in d.product.days],
            lambda v: f"{v:,.0f}",
        ),
    }


@bp.route("/admin/revenue")
@platform_admin_required
def dashboard():
    """The revenue dashboard: MRR, movements, churn, retention, cohorts, forecast, orders, product use."""
    d = services.dashboard(db.session)
    return render_template(
        "revenue/dashboard.html",
        d=d,
        months=d.months[-DASHBOARD_MONTHS:],
        cohorts=d.cohorts[-COHORT_COLUMNS:],
        cohort_columns=COHORT_COLUMNS,
        conversion=d.conversion[-DASHBOARD_MONTHS:],
        orders=d.orders[-DASHBOARD_MONTHS:],
        charts=_charts(d),
        defs=services.DEFINITIONS,
        kinds=KINDS,
        kind_labels=KIND_LABELS,
        supplier_labels=SUPPLIER_LABELS,
        sources=d.sources,
        seeded=d.seeded_workspaces,
        exports=EXPORTS,
    )


@bp.route("/admin/revenue/definitions")
@platform_admin_required
def definitions():
    """What every figure on the revenue dashboard means, one anchor per figure."""
    return render_template("revenue/definitions.html", defs=services.DEFINITIONS)


# -- CSV exports ----------------------------------------------------------------------------------


def _money(cents: int | float | None) -> str:
    return "" if cents is None else f"{Decimal(int(round(cents))) / 100:.2f}"


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _movements(d: services.Dashboard) -> tuple[list[str], Iterable[list]]:
    header = ["month", "mrr_start_usd", *[f"{k}_usd" for k in KINDS], "net_new_usd", "mrr_end_usd"]
    header += ["paying_start", "paying_end", "arpu_usd", "logo_churn", "revenue_churn", "nrr"]
    rows = (
        [m.month, _money(m.mrr_start), *[_money(m.movements[k]) for k in KINDS], _money(m.net_new)]
        + [_money(m.mrr_end), m.customers_start, m.customers_end, _money(m.arpu)]
        + [_rate(m.logo_churn), _rate(m.revenue_churn), _rate(m.nrr)]
        for m in d.months
    )
    return header, rows


def _cohorts(d: services.Dashboard) -> tuple[list[str], Iterable[list]]:
    width = max((len(c["cells"]) for c in d.cohorts), default=0)
    header = ["signup_month", "signups", *[f"month_{i}_paying" for i in range(width)]]
    rows = ([c["cohort"], c["signups"], *[cell["paying"] for cell in c["cells"]]] for c in d.cohorts)
    return header, rows


EXPORTS: dict[str, tuple[str, Callable[[services.Dashboard], tuple[list[str], Iterable[list]]]]] = {
    "movements": ("MRR movements, churn and NRR by month", _movements),
    "plans": (
        "MRR by plan and interval",
        lambda d: (
            ["plan", "interval", "mrr_usd", "paying"],
            ([p["plan"], p["interval"], _money(p["mrr"]), p["customers"]] for p in d.plans),
        ),
    ),
    "intervals": (
        "MRR by billing interval",
        lambda d: (
            ["interval", "mrr_usd", "paying"],
            ([i["interval"], _money(i["mrr"]), i["customers"]] for i in d.intervals),
        ),
    ),
    "forecast": (
        "12-month MRR forecast",
        lambda d: (["month", "forecast_mrr_usd"], ([f["month"], _money(f["mrr"])] for f in d.forecast)),
    ),
    "conversion": (
        "Trial conversion by sign-up month",
        lambda d: (
            ["signup_month", "signups", "converted", "still_trialing", "conversion_rate"],
            ([c["month"], c["signups"], c["converted"], c["trialing"], _rate(c["rate"])] for c in d.conversion),
        ),
    ),
    "cohorts": ("Cohort retention by sign-up month (paying workspaces)", _cohorts),
    "orders": (
        "Paid orders and commissions by month",
        lambda d: (
            ["month", "currency", "orders", "order_value", "average_order_value", "commissions"],
            (
                [o["month"], o["currency"], o["orders"], f"{o['order_value']:.2f}", f"{o['average']:.2f}"]
                + [f"{o['commissions']:.2f}"]
                for o in d.orders
            ),
        ),
    ),
    "suppliers": (
        "Supplier split, last 12 months",
        lambda d: (
            ["supplier", "currency", "orders", "order_value", "share_of_orders"],
            (
                [s["supplier"], s["currency"], s["orders"], f"{s['order_value']:.2f}", _rate(s["share"])]
                for s in d.suppliers
            ),
        ),
    ),
    "active-users": (
        "Daily active users, last 30 days",
        lambda d: (["day", "active_users"], ([day["day"].isoformat(), day["users"]] for day in d.product.days)),
    ),
    "api-volume": (
        "API calls by month",
        lambda d: (["month", "api_calls"], ([m["month"], m["calls"]] for m in d.product.api_months)),
    ),
}


@bp.route("/admin/revenue/export/<name>.csv")
@platform_admin_required
def export(name: str):
    """One dashboard table as CSV (every month, not only those on the page)."""
    if name not in EXPORTS:
        abort(404)
    header, rows = EXPORTS[name][1](services.dashboard(db.session))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="aerospec-revenue-{name}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
