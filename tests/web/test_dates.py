"""Dates for people: one absolute style, a relative time rounded to the nearest unit, and the `when` macro."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from flask import render_template_string

from aerospec.web.dates import absolute, absolute_date, relative

NOW = datetime(2026, 12, 2, 18, 17, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(0), "just now"),
        (timedelta(seconds=29), "just now"),
        (timedelta(seconds=-29), "just now"),
        (timedelta(seconds=30), "in 1 min"),
        (timedelta(seconds=-89), "1 min ago"),
        (timedelta(seconds=-90), "2 min ago"),  # round half up: 1.5 min is 2
        (timedelta(minutes=-2), "2 min ago"),
        (timedelta(minutes=59, seconds=29), "in 59 min"),
        (timedelta(minutes=59, seconds=30), "in 1 hour"),  # 59.5 min rounds to 60: the next unit
        (timedelta(minutes=-90), "2 hours ago"),
        (timedelta(hours=23), "in 23 hours"),
        (timedelta(hours=23, minutes=29), "in 23 hours"),
        (timedelta(hours=23, minutes=30), "in 1 day"),
        (timedelta(hours=-25), "1 day ago"),
        (timedelta(days=7), "in 7 days"),
        (timedelta(days=7) - timedelta(seconds=1), "in 7 days"),  # an invitation right after sending
        (timedelta(days=7) - timedelta(hours=11, minutes=59), "in 7 days"),
        (timedelta(days=7) - timedelta(hours=12, minutes=1), "in 6 days"),
        (timedelta(days=14) - timedelta(minutes=5), "in 14 days"),  # a trial just started
        (timedelta(days=30), "in 30 days"),
        (timedelta(days=45), "in 45 days"),
        (timedelta(days=61), "in 2 months"),
        (timedelta(days=-200), "7 months ago"),
        (timedelta(days=365), "in 1 year"),
        (timedelta(days=-800), "2 years ago"),
    ],
)
def test_relative_rounds_to_the_nearest_unit(delta, expected):
    assert relative(NOW + delta, now=NOW) == expected


def test_relative_reads_naive_and_other_zones_as_the_same_moment():
    assert relative(NOW.replace(tzinfo=None) + timedelta(days=3), now=NOW) == "in 3 days"
    plus_two = timezone(timedelta(hours=2))
    assert relative((NOW - timedelta(hours=5)).astimezone(plus_two), now=NOW) == "5 hours ago"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 2), "today"),
        (date(2026, 12, 3), "tomorrow"),
        (date(2026, 12, 1), "yesterday"),
        (date(2026, 12, 12), "in 10 days"),
        (date(2026, 11, 25), "7 days ago"),
    ],
)
def test_relative_counts_calendar_days_for_a_date(day, expected):
    assert relative(day, now=NOW) == expected


def test_relative_of_nothing_is_never():
    assert relative(None, now=NOW) == "never"


def test_absolute_is_one_style_in_utc():
    assert absolute(datetime(2026, 12, 12, 14, 5, tzinfo=UTC)) == "12 Dec 2026, 14:05 UTC"
    assert absolute(datetime(2026, 12, 2, 9, 0, tzinfo=UTC)) == "02 Dec 2026, 09:00 UTC"
    local = datetime(2027, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=3)))  # 31 Dec 22:30 UTC
    assert absolute(local) == "31 Dec 2026, 22:30 UTC"
    assert absolute(date(2026, 12, 12)) == "12 Dec 2026"
    assert absolute_date(local) == "31 Dec 2026"


def test_when_macro_shows_absolute_then_relative_in_a_time_element(app, monkeypatch):
    from aerospec.web import dates

    monkeypatch.setattr(dates, "utcnow", lambda: NOW)
    template = '{% from "web/_macros.html" import when, ago %}{{ when(a) }}|{{ when(none) }}|{{ ago(b) }}'
    with app.test_request_context():
        html = render_template_string(template, a=NOW + timedelta(days=7, seconds=-2), b=NOW - timedelta(seconds=90))
    shown, empty, compact = html.split("|")
    assert shown == (
        '<time class="when" datetime="2026-12-09T18:17:28+00:00">09 Dec 2026, 18:17 UTC '
        '<span class="when-relative">(in 7 days)</span></time>'
    )
    assert "never" in empty and "<time" not in empty
    assert (
        compact
        == '<time class="when" datetime="2026-12-02T18:16:00+00:00" title="02 Dec 2026, 18:16 UTC">2 min ago</time>'
    )


def test_when_escapes_what_it_is_given_and_serves_fragments_too(app):
    from aerospec.web.htmx import _shared_macros

    template = '{% from "web/_macros.html" import when %}{{ when(none, "<b>not yet</b>") }}'
    with app.test_request_context():
        assert render_template_string(template) == '<span class="muted">&lt;b&gt;not yet&lt;/b&gt;</span>'
        # A block rendered alone (htmx) gets `when` from the shared helpers, as it gets the macros.
        assert "when" in _shared_macros() and "form_errors" in _shared_macros()
