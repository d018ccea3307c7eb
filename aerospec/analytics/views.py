"""Analytics pages under /t/<slug>/analytics: accuracy, usage over time, the most used SKUs and fluids, each with
SVG charts and their tables, and a CSV export of the page's data (one of the plan's exports per day)."""

from __future__ import annotations

from flask import current_app, g, make_response, render_template, request
from flask_login import login_required

from aerospec.analytics import bp, charts
from aerospec.analytics import services as analytics
from aerospec.errors import ValidationFailed
from aerospec.extensions import db
from aerospec.limits import counters, messages
from aerospec.pagination import Page, page_arg, window
from aerospec.tenancy.forms import EmptyForm
from aerospec.tenancy.permissions import can, require_permission
from aerospec.web.client import client_info

T = "/t/<tenant_slug>/analytics"
PER_PAGE = 25
#: The newest points drawn on each scatter (the table and the CSV have them all).
SCATTER_POINTS = 500


@bp.app_template_filter("share")
def share(value: float | None, digits: int = 0) -> str:
    """A fraction as '78 %', or '—' when there was nothing to divide by."""
    return "—" if value is None else f"{value * 100:.{digits}f} %"


@bp.app_template_filter("signed_pct")
def signed_pct(value: float | None) -> str:
    """A relative error as '+4.2 %' / '−3.0 %'."""
    if value is None:
        return "—"
    return f"{value:+.1f} %".replace("-", "−")


def _counter() -> counters.Counter:
    return counters.counter_for(current_app)


def _paged(items: list, name: str) -> Page:
    """One page of an in-memory list; ?<name>= read leniently (past the end: the last page)."""
    page, offset = window(len(items), page_arg(request.args, name), PER_PAGE)
    return Page(items[offset : offset + PER_PAGE], len(items), page, PER_PAGE)


def _context(errors: dict, span: analytics.DateRange, **extra) -> dict:
    return {
        "errors": errors,
        "span": span,
        "args": request.args,
        "can_export": can(g.membership.role, "export_data"),
        **extra,
    }


# ---- accuracy


def _accuracy_charts(data: analytics.Accuracy) -> dict:
    out = {}
    for q, (label, unit) in analytics.QUANTITIES.items():
        pts = [p for p in data.points if p.quantity == q]
        drawn = pts[:SCATTER_POINTS]
        stats = data.overall[q]
        out[q] = charts.scatter(
            f"chart-scatter-{q}",
            f"{label}: measured against predicted",
            f"{len(drawn)} lab result{'s' if len(drawn) != 1 else ''}"
            f"{f' (the newest {SCATTER_POINTS} of {len(pts)})' if len(pts) > len(drawn) else ''}, predicted "
            f"{label.lower()} across, measured up, in {unit}. The diagonal is a perfect prediction; each vertical "
            f"bar is that prediction's stored 90 % band and the shaded wedge the median band. "
            f"{stats['in_band']} of {stats['with_band']} measurements fell inside their band. "
            "The table below has the same numbers.",
            [
                charts.ScatterPoint(
                    p.predicted, p.measured, p.band_low, p.band_high, f"{p.sku} at {p.pressure_bar:g} bar"
                )
                for p in drawn
            ],
            unit,
        )
    months = data.by_month
    labels = [m["month"] for m in months]
    out["months"] = charts.lines(
        "chart-error-by-month",
        "Mean absolute error by month",
        "The mean absolute error, in % of the prediction, of each quantity for the lab results recorded each "
        "month; the number by each point is how many results are behind it. Lower is better. The table below "
        "has the same numbers.",
        labels,
        [
            charts.Series(
                q,
                label,
                [m["quantities"].get(q, {}).get("mean_abs_error_pct") for m in months],
                [m["quantities"].get(q, {}).get("n", 0) for m in months],
            )
            for q, (label, _unit) in analytics.QUANTITIES.items()
            if any(q in m["quantities"] for m in months)
        ],
        lambda v: f"{charts.number(v)} %",
    )
    return out


@bp.route(f"{T}/accuracy")
@login_required
@require_permission("view_analytics")
def accuracy():
    """How close the predictions came to what the lab measured: scatter per quantity, error by group and month."""
    errors: dict[str, list[str]] = {}
    span = analytics.parse_range(request.args, errors)
    if errors:
        span = analytics.DateRange(None, None)  # the page says so beside the fields, keeping what was typed
    data = analytics.accuracy(db.session, g.tenant, span)
    return render_template(
        "analytics/accuracy.html",
        **_context(
            errors,
            span,
            data=data,
            charts=_accuracy_charts(data) if data.points else {},
            quantities=analytics.QUANTITIES,
            points=_paged(data.points, "page"),
            skus=_paged(data.by_sku, "sku_page"),
            scatter_limit=SCATTER_POINTS,
            few=analytics.FEW,
        ),
    )


# ---- usage


USAGE_LABELS = {
    "configurations": "Configurations",
    "predictions": "Predictions",
    "quotes": "Quotes",
    "orders": "Orders",
    "lab_results": "Lab results",
    "api_calls": "API calls",
    "seats": "Seats (members)",
}


def _usage_charts(data: analytics.Usage) -> dict:
    labels = data.labels()
    activity = [
        charts.Series(name, USAGE_LABELS[name], data.series[name])
        for name in ("configurations", "orders", "lab_results", "api_calls")
        if data.series[name] is not None
    ]
    return {
        "activity": charts.lines(
            "chart-usage",
            f"Activity by {data.granularity}",
            f"Configurations, orders, lab results{' and API calls' if data.series['api_calls'] is not None else ''}"
            f" per {data.granularity}, UTC. The table below has the same numbers.",
            labels,
            activity,
            lambda v: f"{v:,.0f}",
        ),
        "seats": charts.lines(
            "chart-seats",
            f"Members at the end of each {data.granularity}",
            "Members of the workspace at the end of each period. The table below has the same numbers.",
            labels,
            [charts.Series("seats", USAGE_LABELS["seats"], data.series["seats"])],
            lambda v: f"{v:,.0f}",
        ),
    }


def _usage(errors: dict) -> tuple[analytics.DateRange, str, analytics.Usage | None]:
    span = analytics.parse_range(request.args, errors)
    granularity = analytics.parse_granularity(request.args, errors)
    if errors:
        span = analytics.DateRange(None, None)
    try:
        data = analytics.usage_over_time(db.session, g.tenant, span, granularity, counter=_counter())
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        data = analytics.usage_over_time(
            db.session, g.tenant, analytics.DateRange(None, None), granularity, counter=_counter()
        )
    return span, granularity, data


@bp.route(f"{T}/usage")
@login_required
@require_permission("view_analytics")
def usage():
    """Configurations, orders, lab results, API calls and seats by day, week or month; what is not recorded, said."""
    errors: dict[str, list[str]] = {}
    span, granularity, data = _usage(errors)
    return render_template(
        "analytics/usage.html",
        **_context(
            errors,
            data.range,
            data=data,
            granularity=granularity,
            granularities=analytics.GRANULARITIES,
            charts=_usage_charts(data),
            labels=USAGE_LABELS,
            rows=list(zip(data.periods, data.labels(), range(len(data.periods)), strict=True)),
        ),
    )


# ---- top SKUs and fluids


@bp.route(f"{T}/top-configurations")
@login_required
@require_permission("view_analytics")
def top_configurations():
    """The SKUs and fluids the workspace uses most: in rankings, on orders and in lab results."""
    errors: dict[str, list[str]] = {}
    span = analytics.parse_range(request.args, errors)
    if errors:
        span = analytics.DateRange(None, None)
    data = analytics.top_configurations(db.session, g.tenant, span)
    top = data.skus[:10]
    return render_template(
        "analytics/top.html",
        **_context(
            errors,
            span,
            data=data,
            skus=_paged(data.skus, "page"),
            fluids=_paged(data.fluids, "fluid_page"),
            definitions=analytics.TOP_DEFINITIONS,
            chart=charts.bars(
                "chart-top-skus",
                "The 10 SKUs most often ranked first",
                "Configurations whose saved ranking puts each SKU first, for the 10 SKUs most often ranked first. "
                "The table below has the same numbers and more.",
                [(f"{r['sku']} ({r['supplier']})", r["top_ranked"]) for r in top if r["top_ranked"]],
                lambda v: f"{v:,.0f}",
            ),
        ),
    )


# ---- CSV exports


def _download(report: str, body: str, rows: int, span: analytics.DateRange):
    result = analytics.export_report(
        db.session,
        g.tenant,
        g.membership,
        report,
        body,
        rows=rows,
        span=span,
        counter=_counter(),
        client=client_info(),
    )
    db.session.commit()
    response = make_response(result.body)
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response.headers["Cache-Control"] = "no-store"
    if result.quota.warn:
        response.headers["X-Quota-Warning"] = messages.warning_message(result.quota, g.tenant)
    return response


def _form_range() -> analytics.DateRange:
    errors: dict[str, list[str]] = {}
    span = analytics.parse_range(request.form, errors)
    analytics.check(errors)
    return span


@bp.route(f"{T}/accuracy/export", methods=["POST"])
@login_required
@require_permission("export_data")
def export_accuracy():
    """Download the accuracy page's data as CSV: each measured quantity beside its stored prediction."""
    EmptyForm()
    span = _form_range()
    data = analytics.accuracy(db.session, g.tenant, span)
    return _download("accuracy", analytics.accuracy_csv(data), len(data.points), span)


@bp.route(f"{T}/usage/export", methods=["POST"])
@login_required
@require_permission("export_data")
def export_usage():
    """Download the usage page's figures as CSV, one line per period."""
    EmptyForm()
    span = _form_range()
    errors: dict[str, list[str]] = {}
    granularity = analytics.parse_granularity(request.form, errors)
    analytics.check(errors)
    data = analytics.usage_over_time(db.session, g.tenant, span, granularity, counter=_counter())
    return _download("usage", analytics.usage_csv(data), len(data.periods), data.range)


@bp.route(f"{T}/top-configurations/export", methods=["POST"])
@login_required
@require_permission("export_data")
def export_top_configurations():
    """Download the most used SKUs and fluids as CSV."""
    EmptyForm()
    span = _form_range()
    data = analytics.top_configurations(db.session, g.tenant, span)
    return _download("top-configurations", analytics.top_csv(data), len(data.skus) + len(data.fluids), span)
