"""Workspace analytics API: GET /api/analytics/accuracy, /api/analytics/usage, /api/analytics/top-configurations
(role "view analytics"; the tenant is the bearer token's)."""

from __future__ import annotations

from flask import Response, current_app, g, jsonify, request

from aerospec.analytics import services as analytics
from aerospec.api import bp
from aerospec.api.views import bearer_required
from aerospec.extensions import db
from aerospec.limits import counters
from aerospec.pagination import page_param, window
from aerospec.tenancy.permissions import ensure_permitted

MAX_POINTS = 100  # points per page of the accuracy answer


def _points_per_page(errors: dict[str, list[str]]) -> int:
    raw = (request.args.get("per_page") or "").strip()
    if not raw:
        return MAX_POINTS
    if raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= MAX_POINTS:
        return int(raw)
    errors["per_page"] = [f"Must be a whole number from 1 to {MAX_POINTS}."]
    return MAX_POINTS


@bp.get("/analytics/accuracy")
@bearer_required
def analytics_accuracy() -> Response:
    """Predicted against measured for the workspace's lab results: per quantity, by family, SKU, fluid and month,
    and the share inside the stored 90 % band; ?from=&to= (YYYY-MM-DD), points paged by ?page=&per_page=."""
    ensure_permitted(g.membership, "view_analytics")
    errors: dict[str, list[str]] = {}
    span = analytics.parse_range(request.args, errors)
    page = page_param(request.args, errors)
    per_page = _points_per_page(errors)
    analytics.check(errors)
    data = analytics.accuracy(db.session, g.tenant, span)
    body = data.as_json(points_limit=0)
    page, offset = window(len(data.points), page, per_page)
    body["points"] = [p.as_json() for p in data.points[offset : offset + per_page]]
    body["points_page"] = {"page": page, "per_page": per_page, "pages": max(1, -(-len(data.points) // per_page))}
    return jsonify(body)


@bp.get("/analytics/usage")
@bearer_required
def analytics_usage() -> Response:
    """Configurations, orders, lab results, API calls and seats per ?granularity= day, week or month, with what
    each series is made of; predictions and quotes are not recorded and say so (recorded: false)."""
    ensure_permitted(g.membership, "view_analytics")
    errors: dict[str, list[str]] = {}
    span = analytics.parse_range(request.args, errors)
    granularity = analytics.parse_granularity(request.args, errors)
    analytics.check(errors)
    data = analytics.usage_over_time(db.session, g.tenant, span, granularity, counter=counters.counter_for(current_app))
    return jsonify(data.as_json())


@bp.get("/analytics/top-configurations")
@bearer_required
def analytics_top_configurations() -> Response:
    """The SKUs and fluids most used in the workspace's configurations, orders and lab results (?from=&to=)."""
    ensure_permitted(g.membership, "view_analytics")
    errors: dict[str, list[str]] = {}
    span = analytics.parse_range(request.args, errors)
    analytics.check(errors)
    return jsonify(analytics.top_configurations(db.session, g.tenant, span).as_json())
