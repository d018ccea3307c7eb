"""Server-rendered SVG charts for the analytics pages: predicted-vs-measured scatter with the identity line and
the 90 % band, lines over time (each point labelled with how many results are behind it), horizontal bars.

Each chart is one `<svg role="img">` labelled by its <title> and <desc>; the page puts a table of the same
numbers under it. Colours are CSS classes (static/css/app.css). Every text is escaped here and every number
formatted here, so a template only places the Markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 16, 48


def nice_ceiling(value: float) -> float:
    """A round axis end at or above `value`: 1, 2, 2.5 or 5 × a power of ten (1 for nothing)."""
    if not value or value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value * (1 - 1e-12):
            return step * power
    return 10 * power


def number(value: float) -> str:
    """An axis or tooltip number: up to 3 significant figures, no trailing zeros."""
    if value == 0:
        return "0"
    return f"{value:.3g}" if abs(value) < 1e5 else f"{value:,.0f}"


def _svg(chart_id: str, title: str, desc: str, body: str, height: int = HEIGHT) -> Markup:
    cid = escape(chart_id)
    # SECURITY: every text below went through escape(); everything else is a number formatted here.
    return Markup(  # noqa: S704
        f'<svg class="chart" id="{cid}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{cid}-title">{escape(title)}</title><desc id="{cid}-desc">{escape(desc)}</desc>{body}</svg>'
    )


@dataclass(frozen=True)
class ScatterPoint:
    predicted: float
    measured: float
    low: float | None
    high: float | None
    label: str  # what the point is, for its tooltip


def scatter(chart_id: str, title: str, desc: str, points: Sequence[ScatterPoint], unit: str) -> Markup:
    """Measured (y) against predicted (x) on one scale from 0: the identity line y = x, each point's stored 90 %
    band as a vertical bar at its predicted value, and the median band shaded around the identity line."""
    if not points:
        return Markup("")
    top = nice_ceiling(max(max(p.predicted, p.measured, p.high or 0) for p in points))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(v: float) -> float:
        return LEFT + plot_w * max(0.0, min(v, top)) / top

    def y(v: float) -> float:
        return TOP + plot_h * (1 - max(0.0, min(v, top)) / top)

    parts = []
    for i in range(5):
        v = top * i / 4
        parts.append(f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>')
        parts.append(f'<text class="chart-tick" x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{number(v)}</text>')
        parts.append(
            f'<text class="chart-tick" x="{x(v):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{number(v)}</text>"
        )
    parts.append(
        f'<text class="chart-label" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"Predicted ({escape(unit)})</text>"
        f'<text class="chart-label" x="14" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {TOP + plot_h / 2:.1f})">Measured ({escape(unit)})</text>'
    )
    ratios = sorted((p.low / p.predicted, p.high / p.predicted) for p in points if _has_band(p))
    if ratios:
        lo = sorted(r[0] for r in ratios)[len(ratios) // 2]
        hi = sorted(r[1] for r in ratios)[len(ratios) // 2]
        # The median band as a wedge around y = x: from (0,0) along y = lo·x and y = hi·x.
        parts.append(
            f'<polygon class="chart-band" points="{x(0):.1f},{y(0):.1f} {x(top):.1f},{y(top * lo):.1f} '
            f'{x(top):.1f},{y(min(top, top * hi)):.1f} {x(min(top, top / hi)):.1f},{y(top):.1f}"/>'
        )
    parts.append(f'<line class="chart-identity" x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(top):.1f}" y2="{y(top):.1f}"/>')
    for p in points:
        if _has_band(p):
            parts.append(
                f'<line class="chart-whisker" x1="{x(p.predicted):.1f}" x2="{x(p.predicted):.1f}" '
                f'y1="{y(p.low):.1f}" y2="{y(p.high):.1f}"/>'
            )
    for p in points:
        inside = _has_band(p) and p.low <= p.measured <= p.high
        kind = "chart-point" if inside else "chart-point-out"
        parts.append(
            f'<circle class="{kind}" cx="{x(p.predicted):.1f}" cy="{y(p.measured):.1f}" r="4">'
            f"<title>{escape(p.label)}: predicted {number(p.predicted)}, measured {number(p.measured)} "
            f"{escape(unit)}</title></circle>"
        )
    return _svg(chart_id, title, desc, "".join(parts))


def _has_band(p: ScatterPoint) -> bool:
    return p.low is not None and p.high is not None and p.predicted > 0


@dataclass(frozen=True)
class Series:
    kind: str  # css class suffix: chart-line-<kind>
    name: str
    values: Sequence[float | None]  # None: no point for that label
    counts: Sequence[int] | None = None  # results behind each point, written beside it


def lines(
    chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series], fmt: Callable[[float], str]
) -> Markup:
    """Lines over time from 0, one per series; a gap where a value is None; `counts` written as n=… by points."""
    values = [v for s in series for v in s.values if v is not None]
    if not labels or not values:
        return Markup("")
    top = nice_ceiling(max(values))
    legend_h = 18 * len(series)
    height = HEIGHT + legend_h
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(labels) - 1)

    def x(i: int) -> float:
        return LEFT + (i * step if len(labels) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = []
    for i in range(5):
        v = top * i / 4
        parts.append(f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>')
        parts.append(
            f'<text class="chart-tick" x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{escape(fmt(v))}</text>'
        )
    every = max(1, math.ceil(len(labels) / 8))
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            parts.append(
                f'<text class="chart-tick" x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    for s in series:
        kind = escape(s.kind)
        runs, run = [], []
        for i, v in enumerate(s.values):
            if v is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(f"{x(i):.1f},{y(v):.1f}")
        if run:
            runs.append(run)
        for r in runs:
            parts.append(f'<polyline class="chart-line chart-line-{kind}" points="{" ".join(r)}"/>')
        for i, v in enumerate(s.values):
            if v is None:
                continue
            n = s.counts[i] if s.counts is not None else None
            behind = f" ({n} result{'s' if n != 1 else ''})" if n is not None else ""
            parts.append(
                f'<circle class="chart-point chart-point-{kind}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5">'
                f"<title>{escape(s.name)}, {escape(labels[i])}: {escape(fmt(v))}{escape(behind)}</title></circle>"
            )
            if n is not None:
                parts.append(f'<text class="chart-count" x="{x(i) + 5:.1f}" y="{y(v) - 6:.1f}">n={n}</text>')
    for k, s in enumerate(series):
        ly = HEIGHT + 4 + 18 * k
        parts.append(
            f'<line class="chart-line chart-line-{escape(s.kind)}" x1="{LEFT}" x2="{LEFT + 24}" y1="{ly + 6}" '
            f'y2="{ly + 6}"/><text class="chart-legend" x="{LEFT + 30}" y="{ly + 10}">{escape(s.name)}</text>'
        )
    return _svg(chart_id, title, desc, "".join(parts), height)


def bars(
    chart_id: str, title: str, desc: str, items: Sequence[tuple[str, float]], fmt: Callable[[float], str]
) -> Markup:
    """Horizontal bars, one per (label, value), in the order given; labels on the left."""
    if not items:
        return Markup("")
    top = nice_ceiling(max(v for _, v in items))
    row, label_w = 24, 200
    height = TOP + row * len(items) + 28
    plot_w = WIDTH - label_w - RIGHT - 48
    parts = []
    for i, (label, value) in enumerate(items):
        yy = TOP + i * row
        w = plot_w * max(0.0, value) / top
        parts.append(
            f'<text class="chart-tick" x="{label_w - 8}" y="{yy + 16}" text-anchor="end">{escape(label[:32])}</text>'
            f'<rect class="chart-bar" x="{label_w}" y="{yy + 4}" width="{w:.1f}" height="{row - 8}">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
            f'<text class="chart-value" x="{label_w + w + 6:.1f}" y="{yy + 16}">{escape(fmt(value))}</text>'
        )
    axis_y = TOP + row * len(items) + 4
    parts.append(f'<line class="chart-grid" x1="{label_w}" x2="{label_w + plot_w}" y1="{axis_y}" y2="{axis_y}"/>')
    for i in range(5):
        v = top * i / 4
        parts.append(
            f'<text class="chart-tick" x="{label_w + plot_w * i / 4:.1f}" y="{axis_y + 16}" text-anchor="middle">'
            f"{escape(fmt(v))}</text>"
        )
    return _svg(chart_id, title, desc, "".join(parts), height)
