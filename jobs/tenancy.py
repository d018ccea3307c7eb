"""Tenant housekeeping jobs."""

from __future__ import annotations

from aerospec.extensions import db
from aerospec.tenancy import services as tenancy


def purge_deleted_tenants() -> int:
    """Hard-delete workspaces soft-deleted more than 30 days ago (daily; idempotent)."""
    count = tenancy.purge_deleted_tenants(db.session)
    db.session.commit()
    return count
