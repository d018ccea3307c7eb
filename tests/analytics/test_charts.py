"""The SVG chart helper: each chart is labelled for screen readers, draws what it is given where it belongs
(the identity line on the diagonal, a band's bar from its low to its high end, a gap where a value is missing)
and escapes every text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from aerospec.analytics import charts

NS = {"s": "http://www.w3.org/2000/svg"}


def _parse(markup) -> ET.Element:
    # The helper writes SVG without a namespace (inline in HTML); give it one so ElementTree parses it as XML.
    svg = str(markup).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    return ET.fromstring(svg)  # noqa: S314 - markup this test made, not untrusted input


def _points(**kw) -> list[charts.ScatterPoint]:
    return [
        charts.ScatterPoint(100, 100, 80, 120, "A"),  # on the identity line, inside its band
        charts.ScatterPoint(50, 90, 40, 60, "B"),  # above its band
        charts.ScatterPoint(150, 140, None, None, "C"),  # no band stored
    ]


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 1.0), (0.7, 1.0), (1, 1), (1.01, 2), (2.2, 2.5), (3, 5), (7, 10), (140, 200)]
)
def test_nice_ceiling_is_round_and_not_below_the_value(value, expected):
    assert charts.nice_ceiling(value) == pytest.approx(expected)


def test_scatter_is_an_image_labelled_by_its_title_and_description():
    svg = _parse(charts.scatter("c1", "Flow: measured vs predicted", "Three results.", _points(), "mL/min"))
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "c1-title c1-desc"
    assert svg.find("s:title", NS).text == "Flow: measured vs predicted"
    assert svg.find("s:desc", NS).text == "Three results."


def test_scatter_draws_the_identity_line_on_the_diagonal_and_one_mark_per_point():
    svg = _parse(charts.scatter("c", "t", "d", _points(), "mL/min"))
    identity = svg.find(".//s:line[@class='chart-identity']", NS)
    x1, y1, x2, y2 = (float(identity.get(k)) for k in ("x1", "y1", "x2", "y2"))
    # From (0, 0) to (top, top): the same length across as up, so the line is y = x on a square scale.
    assert x2 - x1 == pytest.approx((charts.WIDTH - charts.LEFT - charts.RIGHT) * 1.0)
    assert y1 > y2
    circles = svg.findall(".//s:circle", NS)
    assert len(circles) == 3
    inside = [c for c in circles if c.get("class") == "chart-point"]
    outside = [c for c in circles if c.get("class") == "chart-point-out"]
    assert len(inside) == 1 and len(outside) == 2  # B is above its band; C has no band to be inside
    # Point A (100, 100) sits on the identity line: its position along it is the same across and up.
    a = inside[0]
    t_x = (float(a.get("cx")) - x1) / (x2 - x1)
    t_y = (y1 - float(a.get("cy"))) / (y1 - y2)
    assert t_x == pytest.approx(t_y, abs=0.01)
    assert t_x == pytest.approx(100 / charts.nice_ceiling(150), abs=0.01)


def test_scatter_draws_each_stored_band_from_its_low_to_its_high_end_and_the_median_band():
    svg = _parse(charts.scatter("c", "t", "d", _points(), "µm"))
    whiskers = svg.findall(".//s:line[@class='chart-whisker']", NS)
    assert len(whiskers) == 2  # C has no band
    circles = {c.find("s:title", NS).text.split(":")[0]: c for c in svg.findall(".//s:circle", NS)}
    a = next(w for w in whiskers if w.get("x1") == circles["A"].get("cx"))
    low, high = float(a.get("y1")), float(a.get("y2"))
    assert low > float(circles["A"].get("cy")) > high  # the measured value lies between its band's ends
    assert svg.find(".//s:polygon[@class='chart-band']", NS) is not None


def test_scatter_escapes_text_and_is_empty_without_points():
    markup = str(charts.scatter("x", "<b>t</b>", "d & d", [charts.ScatterPoint(1, 1, None, None, "<script>")], "u"))
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert "&lt;b&gt;t&lt;/b&gt;" in markup and "d &amp; d" in markup
    assert str(charts.scatter("x", "t", "d", [], "u")) == ""


def test_lines_leave_a_gap_where_a_value_is_missing_and_say_how_many_results_are_behind_each_point():
    series = [charts.Series("flow_ml_min", "Flow", [10.0, None, 30.0, 20.0], [3, 0, 1, 12])]
    svg = _parse(charts.lines("m", "Error by month", "d", ["Jan", "Feb", "Mar", "Apr"], series, str))
    polylines = svg.findall(".//s:polyline", NS)
    assert [len(p.get("points").split()) for p in polylines] == [1, 2]  # Jan alone, then Mar–Apr
    counts = [t.text for t in svg.findall(".//s:text[@class='chart-count']", NS)]
    assert counts == ["n=3", "n=1", "n=12"]
    titles = [c.find("s:title", NS).text for c in svg.findall(".//s:circle", NS)]
    assert titles[0] == "Flow, Jan: 10.0 (3 results)" and titles[1] == "Flow, Mar: 30.0 (1 result)"
    # Higher values are drawn higher up.
    ys = [float(c.get("cy")) for c in svg.findall(".//s:circle", NS)]
    assert ys[1] < ys[2] < ys[0]
    assert svg.find(".//s:text[@class='chart-legend']", NS).text == "Flow"


def test_lines_are_empty_with_nothing_to_draw():
    assert str(charts.lines("m", "t", "d", [], [], str)) == ""
    assert str(charts.lines("m", "t", "d", ["Jan"], [charts.Series("a", "A", [None])], str)) == ""


def test_bars_are_as_long_as_their_values_in_the_given_order():
    svg = _parse(charts.bars("b", "Top", "d", [("SKU-1", 8), ("SKU-2", 4), ("SKU-3", 1)], lambda v: f"{v:.0f}"))
    rects = svg.findall(".//s:rect", NS)
    widths = [float(r.get("width")) for r in rects]
    assert widths[0] == pytest.approx(2 * widths[1]) and widths[1] == pytest.approx(4 * widths[2])
    assert [r.find("s:title", NS).text for r in rects] == ["SKU-1: 8", "SKU-2: 4", "SKU-3: 1"]
    assert re.search(r'viewBox="0 0 \d+ \d+"', str(charts.bars("b", "t", "d", [("a", 1)], str)))
