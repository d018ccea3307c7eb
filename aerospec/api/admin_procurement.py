"""Platform-admin API: procurement commissions and monthly revenue across workspaces.

GET /api/admin/commissions       ?tenant_id=&from=&to=&page=   (dates YYYY-MM-DD or months YYYY-MM)
GET /api/admin/revenue/monthly   ?tenant_id=&from=&to=   commissions and subscription revenue per month

A bearer token of a platform admin; anyone else gets 404, as the admin pages do.
Money is sent as decimal strings, never floats.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from flask import Response, g, jsonify, request

from aerospec.api import bp
from aerospec.api.views import bearer_required
from aerospec.errors import NotFound, ValidationFailed
from aerospec.extensions import db
from aerospec.pagination import page_param
from aerospec.procurement import revenue
from aerospec.revenue import services as revenue_metrics

PER_PAGE = 50


def _require_platform_admin() -> None:
    # SECURITY: 404, not 403, so the admin API is not discoverable (like platform_admin_required).
    if not getattr(g.api_user, "is_platform_admin", False):
        raise NotFound()


def _page() -> int:
    errors: dict[str, list[str]] = {}
    page = page_param(request.args, errors)
    if errors:
        raise ValidationFailed("Check the query parameters listed in errors.", field_errors=errors)
    return page


@bp.get("/admin/commissions")
@bearer_required(require_member=False)
def admin_commissions() -> Response:
    """Commissions on paid orders across every workspace, newest first (platform admins)."""
    _require_platform_admin()
    filters = revenue.CommissionFilters.parse(request.args)
    result = revenue.list_commissions(db.session, filters, page=_page(), per_page=PER_PAGE)
    return jsonify(
        {
            "commissions": [row.to_dict() for row in result.items],
            "page": result.page,
            "pages": result.pages,
            "per_page": result.per_page,
            "total": result.total,
            "totals": [
                {
                    "currency": t["currency"],
                    "orders": t["orders"],
                    "order_value": f"{t['order_value']:.2f}",
                    "commissions": f"{t['commissions']:.2f}",
                }
                for t in revenue.commission_totals(db.session, filters)
            ],
        }
    )


@bp.get("/admin/revenue/monthly")
@bearer_required(require_member=False)
def admin_monthly_revenue() -> Response:
    """Revenue per month (platform admins): commissions with the number and value of the orders, and
    subscription revenue (the subscription lines of invoices paid that month) with MRR at the month's end."""
    _require_platform_admin()
    filters = revenue.CommissionFilters.parse(request.args)
    months = {(m["month"], m["currency"]): m for m in revenue.monthly_revenue(db.session, filters)}
    start = datetime.combine(filters.date_from, time.min, UTC) if filters.date_from else None
    end = datetime.combine(filters.date_to + timedelta(days=1), time.min, UTC) if filters.date_to else None
    collected = revenue_metrics.subscription_revenue_by_month(db.session, filters.tenant_id, start, end)
    mrr = revenue_metrics.mrr_at_month_end(db.session, filters.tenant_id)
    keys = set(months) | {(month, "USD") for month in collected}
    out = []
    for month, currency in sorted(keys):
        m = months.get((month, currency))
        subscriptions = collected.get(month, 0) if currency == "USD" else 0
        commissions = m["commissions"] if m else Decimal("0.00")
        out.append(
            {
                "month": month,
                "currency": currency,
                "commissions": f"{commissions:.2f}",
                "orders": m["orders"] if m else 0,
                "order_value": f"{m['order_value'] if m else Decimal('0.00'):.2f}",
                "subscriptions": f"{Decimal(subscriptions) / 100:.2f}",
                "total": f"{commissions + Decimal(subscriptions) / 100:.2f}",
                "mrr_end": revenue_metrics_usd(mrr, month) if currency == "USD" else None,
            }
        )
    return jsonify({"months": out})


def revenue_metrics_usd(mrr: dict[str, int], month: str) -> str:
    """MRR at the end of `month` (the last movement at or before it), as a USD decimal string."""
    known = [m for m in mrr if m <= month]
    return f"{Decimal(mrr[max(known)]) / 100:.2f}" if known else "0.00"
