"""Impersonation expiry: end every impersonation whose time is up (every minute; idempotent)."""

from __future__ import annotations

from datetime import datetime

from aerospec.admin import impersonation
from aerospec.extensions import db


def end_expired_impersonations(now: datetime | None = None) -> int:
    """Record the end ("expired") of each impersonation past its expiry on both sides; returns how many."""
    return impersonation.end_expired(db.session, now)
