"""Revenue roll-up: each closed day's active users and paid orders into revenue_day_rollups (hourly; idempotent)."""

from __future__ import annotations

from datetime import datetime

from aerospec.extensions import db
from aerospec.models import utcnow
from aerospec.revenue import rollups


def roll_up_revenue_days(now: datetime | None = None) -> int:
    """Write the days closed since the last roll-up (nothing when none is due); returns how many."""
    written = rollups.roll_up(db.session, now or utcnow())
    db.session.commit()
    return written
