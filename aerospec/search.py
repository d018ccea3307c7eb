"""Text search in lists: what a user types is matched as text, never as a LIKE pattern.

Every `like`/`ilike` search in the app goes through `contains` (or `like_pattern` where the
column needs its own expression), so `%` and `_` typed into a search box match themselves
instead of everything.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement

ESCAPE = "\\"


def escape_like(text: str) -> str:
    """`text` with LIKE's wildcards (and the escape character itself) escaped."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def like_pattern(text: str) -> str:
    """A LIKE pattern that matches `text` anywhere (use with `escape=ESCAPE`)."""
    return "%" + escape_like(text) + "%"


def contains(column, text: str) -> ColumnElement[bool]:
    """Case-insensitive: `column` contains `text` (stripped) literally."""
    # SECURITY: escaped, so `q=%` or `q=_` lists only rows that contain those characters.
    return func.lower(column).like(like_pattern(text.strip().lower()), escape=ESCAPE)


def contains_pattern(column, pattern) -> ColumnElement[bool]:
    """Case-insensitive: `column` matches `pattern`, a bound parameter given `like_pattern(text.strip().lower())`
    (for a statement built once and run with each search's text)."""
    # SECURITY: the pattern's value comes from like_pattern, escaped as in `contains`.
    return func.lower(column).like(pattern, escape=ESCAPE)
