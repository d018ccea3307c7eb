"""Platform-admin API: procurement commissions and monthly revenue across workspaces.

GET /api/admin/commissions       ?tenant_id=&from=&to=&page=   (dates YYYY-MM-DD or months YYYY-MM)
GET /api/admin/revenue/monthly   ?tenant_id=&from=&to=

A bearer token of a platform admin; anyone else gets 404, as the admin pages do.
Money is sent as decimal strings, never floats.
"""

from __future__ import annotations

from flask import Response, g, jsonify, request

from aerospec.api import bp
from aerospec.api.views import bearer_required
from aerospec.errors import NotFound, ValidationFailed
from aerospec.extensions import db
from aerospec.pagination import page_param
from aerospec.procurement import revenue

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
    """Commission revenue per month with the number and value of the orders (platform admins)."""
    _require_platform_admin()
    filters = revenue.CommissionFilters.parse(request.args)
    months = revenue.monthly_revenue(db.session, filters)
    return jsonify(
        {
            "months": [
                {
                    "month": m["month"],
                    "currency": m["currency"],
                    "commissions": f"{m['commissions']:.2f}",
                    "orders": m["orders"],
                    "order_value": f"{m['order_value']:.2f}",
                }
                for m in months
            ]
        }
    )
