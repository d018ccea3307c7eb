"""The configurations list's rows, written in Python: the list's one cost that grows with its rows.

As a Jinja macro a row cost about 30 µs (a macro call, a dozen filters and escapes, a clock read for
its relative date); here the whole table body is one call with one clock reading, at about half that.
The markup is the macro's, cell for cell (tests/configurations/test_list_rows.py reads it back).

A row's markup is a pure function of its values and the list's URL, except the relative half of
its "Updated" cell, which moves with the clock. So each row is built once into the markup before and
after that text and kept, keyed by every value it was built from: a list seen again (a reload, a
filter, another member of the team) costs a dictionary lookup and a relative date a row. The key
holds the values themselves, so a row that changed, or another tenant's, can only miss.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import quote

from markupsafe import Markup, escape

from aerospec.configurations.services import parse_tags
from aerospec.models import utcnow
from aerospec.web import dates
from aerospec.web.context import measure, when, when_parts

_NO_TAGS = '<span class="muted">—</span>'
_ARCHIVED = ' <span class="badge badge-archived">Archived</span>'


def targets_text(config) -> str:
    """A configuration's spray targets in one line: '60°, Dv50 50 µm, 80 ml/min', or '—' without any."""
    parts = []
    if config.target_spray_cone_deg is not None:
        parts.append(f"{config.target_spray_cone_deg:g}°")
    if config.target_droplet_size_um is not None:
        parts.append(f"Dv50 {config.target_droplet_size_um:g} µm")
    if config.target_flow_rate_ml_min is not None:
        parts.append(f"{config.target_flow_rate_ml_min:g} ml/min")
    return ", ".join(parts) or "—"


def _moment(value: datetime | str | None) -> datetime | None:
    """A time of the summary row as the driver read it (SQLite: its stored text) as the ORM gives it: aware,
    a naive value read as UTC (aerospec.models.UTCDateTime)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _row(c, list_url: str) -> tuple[str, str, datetime | None]:
    """The row's markup before and after the relative date of its "Updated" cell, and that date in UTC."""
    # SECURITY: every value from the row is escaped; the rest is our own markup.
    config_id = str(uuid.UUID(str(c.id)))  # used twice; SQLite's driver reads the 32 hex digits
    updated_at = _moment(c.updated_at)
    tags = parse_tags(c.tags_json)
    tags = (
        "".join(f'<a class="tag" href="{list_url}?tag={escape(quote(t))}">{escape(t)}</a> ' for t in tags)
        if tags
        else _NO_TAGS
    )
    if updated_at:
        updated, after = when_parts(updated_at)
    else:
        updated, after = when(updated_at), ""
    return (
        (
            f'<tr id="configuration-{config_id}">\n'
            f'  <td data-label="Name"><a href="{list_url}/{config_id}">{escape(c.name)}</a>'
            f"{_ARCHIVED if c.archived_at else ''}</td>\n"
            f'  <td data-label="Fluid">{escape(c.fluid_name or "Typed-in fluid")} '
            f'<span class="muted">({measure(c.fluid_viscosity_cP)} cP)</span></td>\n'
            f'  <td data-label="Targets">{escape(targets_text(c))} '
            f'<span class="muted">at {c.max_pressure_bar:g} bar</span></td>\n'
            f'  <td data-label="Status"><span class="badge badge-status-{escape(c.status)}">'
            f"{escape(c.status.title())}</span></td>\n"
            f'  <td data-label="Tags">{tags}</td>\n'
            f'  <td data-label="Created by">{escape(c.created_by_name or "—")}</td>\n'
            f'  <td data-label="Updated">{updated}'
        ),
        f"{after}</td>\n</tr>",
        dates.as_utc(updated_at) if updated_at else None,
    )


_BUILT: dict[tuple, tuple[str, str, datetime | None]] = {}
_BUILT_MAX = 5_000  # rows kept a process (about 1 KB each); past it the store starts afresh


def _key(c, list_url: str) -> tuple:
    """Every value a row's markup is built from: the summary row itself but its last column (`total_rows`,
    which a row's markup does not show), all plain values (the tags as their JSON text)."""
    return (list_url, *c[:-1])


def configuration_rows(rows: Iterable, list_url: str) -> Markup:
    """The table body of the configurations list: `rows` are summary rows
    (configurations.services.list_configurations with summary=True); `list_url` is the list's URL,
    which each row's detail link (list_url/<id>) and tag filters (list_url?tag=...) extend."""
    url = escape(list_url)
    now = dates.as_utc(utcnow())
    built = _BUILT
    out = []
    for c in rows:
        key = _key(c, url)
        parts = built.get(key)
        if parts is None:
            if len(built) >= _BUILT_MAX:
                built.clear()
            parts = built[key] = _row(c, url)
        before, after, updated = parts
        # The relative date is the one part built afresh (a row without a date has none to fill in);
        # it is our own words and digits, nothing to escape.
        out.append(f"{before}{dates.relative_seconds((updated - now).total_seconds())}{after}" if updated else before)
    return Markup("\n".join(out))  # noqa: S704 - built from escaped values
