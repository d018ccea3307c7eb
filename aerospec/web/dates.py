"""How dates read to people: one absolute style ("12 Dec 2026, 14:05 UTC") with a relative time beside it.

Pure functions (no Flask), so templates (through the filters in web/context.py), services that
write messages and emails share them. Every timestamp is stored in UTC and shown in UTC.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from aerospec.models import utcnow

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# (unit, seconds in it, the largest count shown before the next unit takes over)
_UNITS = (
    ("min", 60, 59),
    ("hour", 3600, 23),
    ("day", 86400, 45),
    ("month", 86400 * 365.2425 / 12, 11),
    ("year", 86400 * 365.2425, None),
)
_JUST_NOW_SECONDS = 30  # closer than this rounds to no minute at all


def as_utc(value: datetime) -> datetime:
    """The moment in UTC, aware (a naive value is read as UTC, as every timestamp is stored)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def absolute_date(value: date | datetime) -> str:
    """'12 Dec 2026', '02 Dec 2026' (a datetime is read in UTC); the same as strftime('%d %b %Y') in English."""
    day = as_utc(value) if isinstance(value, datetime) else value
    return f"{day.day:02d} {MONTHS[day.month - 1]} {day.year}"


def absolute(value: date | datetime) -> str:
    """'12 Dec 2026, 14:05 UTC' for a moment, '12 Dec 2026' for a calendar day."""
    if not isinstance(value, datetime):
        return absolute_date(value)
    moment = as_utc(value)
    return f"{absolute_date(moment)}, {moment.hour:02d}:{moment.minute:02d} UTC"


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 or unit == "min" else f"{n} {unit}s"


def relative(value: date | datetime | None, now: datetime | None = None) -> str:
    """'in 7 days', '2 min ago', 'just now': the distance to `value`, rounded to the nearest whole unit.

    Rounding (not truncating) keeps a promise intact: an invitation valid for 7 days reads
    "in 7 days" the moment it is sent, not "in 6 days". A calendar day counts whole days from today.
    """
    if value is None:
        return "never"
    now = as_utc(now or utcnow())
    if not isinstance(value, datetime):
        days = (value - now.date()).days
        if days == 0:
            return "today"
        if days in (1, -1):
            return "tomorrow" if days == 1 else "yesterday"
        seconds = days * 86400.0
    else:
        seconds = (as_utc(value) - now).total_seconds()
    return relative_seconds(seconds)


def relative_seconds(seconds: float) -> str:
    """`relative` for a distance already taken: `seconds` from now to the moment (negative: past)."""
    future = seconds > 0
    distance = abs(seconds)
    if distance < _JUST_NOW_SECONDS:
        return "just now"
    for unit, size, largest in _UNITS:
        n = max(1, _round_half_up(distance / size))
        if largest is None or n <= largest:
            text = _plural(n, unit)
            return f"in {text}" if future else f"{text} ago"
    raise AssertionError("unreachable: the last unit has no limit")
