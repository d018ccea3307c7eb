"""Server-rendered SVG charts for the revenue dashboard: bars, stacked movements, a line with a forecast.

Each chart is an `<svg role="img">` with a <title> and a <desc> that says what it shows in words; the
page puts the same numbers in a table beside it. Colours come from CSS classes (static/css/app.css),
never from here, so a white-label theme recolours them. Text is escaped; every number is formatted here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 720, 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 72, 36, 12, 36


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 × a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _frame(chart_id: str, title: str, desc: str, body: str) -> Markup:
    # SECURITY: every text in here went through escape(); the rest are numbers we formatted.
    return Markup(  # noqa: S704
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>{body}</svg>'
    )


def _axes(low: float, high: float, fmt: Callable[[float], str]) -> tuple[str, Callable[[float], float]]:
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def y(value: float) -> float:
        return PAD_TOP + plot_h * (high - value) / ((high - low) or 1)

    parts = []
    # Round ticks: 0, half and all of each side (the maxima are round already).
    ticks = sorted({0.0, high / 2, high} | ({low / 2, low} if low < 0 else set()))
    for value in ticks:
        yy = y(value)
        parts.append(f'<line class="chart-grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}"/>')
        parts.append(
            f'<text class="chart-tick" x="{PAD_LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(value))}</text>"
        )
    if low < 0 < high:
        parts.append(
            f'<line class="chart-zero" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}"/>'
        )
    return "".join(parts), y


def _labels(labels: Sequence[str], x: Callable[[int], float], every: int) -> str:
    return "".join(
        f'<text class="chart-label" x="{x(i):.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle">'
        f"{escape(label)}</text>"
        for i, label in enumerate(labels)
        if i % every == 0 or i == len(labels) - 1
    )


def bars(
    chart_id: str, title: str, desc: str, points: Sequence[tuple[str, float]], fmt: Callable[[float], str]
) -> Markup:
    """Vertical bars, one per (label, value)."""
    if not points:
        return Markup("")
    high = _nice_max(max(v for _, v in points))
    grid, y = _axes(0, high, fmt)
    n = len(points)
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / n
    body = [grid]
    for i, (label, value) in enumerate(points):
        top = y(max(0.0, value))
        body.append(
            f'<rect class="chart-bar" x="{PAD_LEFT + i * slot + slot * 0.15:.1f}" y="{top:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{y(0) - top:.1f}">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
        )
    body.append(_labels([p[0] for p in points], lambda i: PAD_LEFT + (i + 0.5) * slot, max(1, n // 8)))
    return _frame(chart_id, title, desc, "".join(body))


def stacked(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    fmt: Callable[[float], str],
) -> Markup:
    """Stacked bars around zero: positive series stack up, negative ones down. series: (css kind, name, values)."""
    if not labels:
        return Markup("")
    ups = [sum(max(0.0, s[2][i]) for s in series) for i in range(len(labels))]
    downs = [sum(min(0.0, s[2][i]) for s in series) for i in range(len(labels))]
    high = _nice_max(max(ups) if ups else 0)
    low = -_nice_max(-min(downs)) if min(downs, default=0) < 0 else 0
    grid, y = _axes(low, high, fmt)
    n = len(labels)
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / n
    body = [grid]
    for i, label in enumerate(labels):
        up, down = 0.0, 0.0
        for kind, name, values in series:
            value = values[i]
            if not value:
                continue
            if value > 0:
                top, bottom = y(up + value), y(up)
                up += value
            else:
                top, bottom = y(down), y(down + value)
                down += value
            body.append(
                f'<rect class="chart-{escape(kind)}" x="{PAD_LEFT + i * slot + slot * 0.15:.1f}" y="{top:.1f}" '
                f'width="{slot * 0.7:.1f}" height="{max(0.5, bottom - top):.1f}">'
                f"<title>{escape(label)} {escape(name)}: {escape(fmt(value))}</title></rect>"
            )
    body.append(_labels(labels, lambda i: PAD_LEFT + (i + 0.5) * slot, max(1, n // 8)))
    legend_x = PAD_LEFT
    for kind, name, _values in series:
        body.append(f'<rect class="chart-{escape(kind)}" x="{legend_x}" y="{HEIGHT - 12}" width="10" height="10"/>')
        body.append(f'<text class="chart-legend" x="{legend_x + 14}" y="{HEIGHT - 3}">{escape(name)}</text>')
        legend_x += 30 + 7 * len(name)
    return _frame(chart_id, title, desc, "".join(body))


def line(
    chart_id: str,
    title: str,
    desc: str,
    points: Sequence[tuple[str, float]],
    projected: Sequence[tuple[str, float]],
    fmt: Callable[[float], str],
) -> Markup:
    """A line of actual values, continued by a dashed projected line."""
    everything = list(points) + list(projected)
    if not everything:
        return Markup("")
    high = _nice_max(max(v for _, v in everything))
    grid, y = _axes(0, high, fmt)
    n = len(everything)
    step = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(1, n - 1)

    def x(i: int) -> float:
        return PAD_LEFT + i * step

    actual = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
    body = [grid, f'<polyline class="chart-line" points="{actual}"/>']
    if projected and points:
        start = len(points) - 1
        ahead = [(start, points[-1][1])] + [(start + 1 + i, v) for i, (_, v) in enumerate(projected)]
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in ahead)
        body.append(f'<polyline class="chart-forecast" points="{path}"/>')
    for i, (label, value) in enumerate(points):
        body.append(
            f'<circle class="chart-point" cx="{x(i):.1f}" cy="{y(value):.1f}" r="3">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></circle>"
        )
    body.append(_labels([p[0] for p in everything], x, max(1, n // 8)))
    return _frame(chart_id, title, desc, "".join(body))
