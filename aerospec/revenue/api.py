"""Platform-admin API of revenue and usage metrics (a platform admin's bearer token; anyone else 404).

GET /api/admin/metrics                          MRR, ARR, by plan and interval, ARPU, churn, NRR, LTV, trial
                                                conversion, forecast, procurement and product figures
GET /api/admin/metrics/growth?period=7d|30d|90d the period against the one before it (other periods: 422)
GET /api/admin/usage/top-organizations?metric=mrr|api_calls|configurations|orders
GET /api/admin/usage/violations                 workspaces at or over a quota this period, or over their seats

Money is sent as decimal strings in USD (never floats), rates as fractions with 4 decimals, or null where a
rate is not defined (nothing to divide by).
"""

from __future__ import annotations

from flask import Response, g, jsonify, request

from aerospec.api import bp
from aerospec.api.views import bearer_required
from aerospec.errors import NotFound
from aerospec.extensions import db
from aerospec.revenue import services
from aerospec.revenue.models import KINDS


def _require_platform_admin() -> None:
    # SECURITY: 404, not 403, so the admin API is not discoverable (like platform_admin_required).
    if not getattr(g.api_user, "is_platform_admin", False):
        raise NotFound()


def usd(cents: float | int | None) -> str | None:
    """Cents as a USD decimal string ('1234.50'), None staying None."""
    return None if cents is None else f"{round(cents) / 100:.2f}"


def rate(value: float | None) -> str | None:
    return None if value is None else f"{value:.4f}"


def month_json(m: services.MonthRow) -> dict:
    return {
        "month": m.month,
        "mrr_start": usd(m.mrr_start),
        "mrr_end": usd(m.mrr_end),
        "movements": {k: usd(m.movements[k]) for k in KINDS},
        "movement_counts": dict(m.counts),
        "net_new": usd(m.net_new),
        "paying_start": m.customers_start,
        "paying_end": m.customers_end,
        "arpu": usd(m.arpu),
        "logo_churn": rate(m.logo_churn),
        "revenue_churn": rate(m.revenue_churn),
        "nrr": rate(m.nrr),
    }


@bp.get("/admin/metrics")
@bearer_required(require_member=False)
def admin_metrics() -> Response:
    """Every revenue and product figure of the dashboard, with its definition."""
    _require_platform_admin()
    d = services.dashboard(db.session)
    s = d.summary
    return jsonify(
        {
            "as_of": d.now.isoformat(),
            "currency": "USD",
            "mrr": usd(s.mrr),
            "arr": usd(s.arr),
            "paying_workspaces": s.customers,
            "arpu": usd(s.arpu),
            "logo_churn": rate(s.logo_churn),
            "revenue_churn": rate(s.revenue_churn),
            "nrr": rate(s.nrr),
            "ltv": usd(s.ltv),
            "trailing_months": s.trailing,
            "enterprise_workspaces_not_in_mrr": s.enterprise_workspaces,
            "mrr_by_plan": [{**p, "mrr": usd(p["mrr"])} for p in d.plans],
            "mrr_by_interval": [{**i, "mrr": usd(i["mrr"])} for i in d.intervals],
            "months": [month_json(m) for m in d.months],
            "forecast": {
                "assumption": services.DEFINITIONS["forecast"][1],
                "net_new_per_month": usd(s.net_new_trend),
                "months": [{"month": f["month"], "mrr": usd(f["mrr"])} for f in d.forecast],
            },
            "trial_conversion": [{**c, "rate": rate(c["rate"])} for c in d.conversion],
            "cohorts": [
                {
                    "signup_month": c["cohort"],
                    "signups": c["signups"],
                    "paying": [cell["paying"] for cell in c["cells"]],
                    "mrr": [usd(cell["mrr"]) for cell in c["cells"]],
                }
                for c in d.cohorts
            ],
            "procurement": {
                "months": [
                    {
                        "month": o["month"],
                        "currency": o["currency"],
                        "orders": o["orders"],
                        "order_value": f"{o['order_value']:.2f}",
                        "average_order_value": f"{o['average']:.2f}",
                        "commissions": f"{o['commissions']:.2f}",
                    }
                    for o in d.orders
                ],
                "suppliers": [
                    {**sp, "order_value": f"{sp['order_value']:.2f}", "share": rate(sp["share"])} for sp in d.suppliers
                ],
            },
            "product": {
                "dau": d.product.dau,
                "wau": d.product.wau,
                "active_30d": d.product.mau,
                "daily_active_users": [
                    {"day": day["day"].isoformat(), "users": day["users"]} for day in d.product.days
                ],
                "configurations_30d": d.product.configurations_30d,
                "configurations_per_active_user": rate(d.product.configs_per_user),
                "lab_result_submission_rate": None,
                "lab_result_submission_rate_status": "not collected yet",
                "api_calls_by_month": d.product.api_months,
            },
            "definitions": {key: {"name": n, "definition": text} for key, (n, text) in services.DEFINITIONS.items()},
        }
    )


def _window_json(w: dict) -> dict:
    return {
        **{k: v for k, v in w.items() if k not in ("movements", "net_new_mrr", "mrr_end", "commissions")},
        "movements": {k: usd(v) for k, v in w["movements"].items()},
        "net_new_mrr": usd(w["net_new_mrr"]),
        "mrr_end": usd(w["mrr_end"]),
        "commissions": f"{w['commissions']:.2f}",
    }


@bp.get("/admin/metrics/growth")
@bearer_required(require_member=False)
def admin_growth() -> Response:
    """Sign-ups, new and churned paying workspaces, MRR movements and orders in the period vs the one before."""
    _require_platform_admin()
    period = request.args.get("period", "30d")
    days = services.parse_period(period)
    result = services.growth(db.session, days)
    return jsonify(
        {
            "period": period,
            "days": days,
            "current": _window_json(result["current"]),
            "previous": _window_json(result["previous"]),
        }
    )


@bp.get("/admin/usage/top-organizations")
@bearer_required(require_member=False)
def admin_top_organizations() -> Response:
    """The ten workspaces with the most of a metric."""
    _require_platform_admin()
    metric = services.parse_top_metric(request.args.get("metric", "mrr"))
    rows = services.top_organizations(db.session, metric)
    if metric == "mrr":
        rows = [{**r, "value": usd(r["value"])} for r in rows]
    return jsonify({"metric": metric, "organizations": rows})


@bp.get("/admin/usage/violations")
@bearer_required(require_member=False)
def admin_usage_violations() -> Response:
    """Workspaces at or over a quota in the current period, or with more members than seats."""
    _require_platform_admin()
    return jsonify({"violations": services.violations(db.session)})
