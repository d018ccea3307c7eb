"""Supplier jobs: the catalog price sync (every 4 hours, and on demand from the admin page)."""

from __future__ import annotations

import logging
import uuid

from flask import current_app

from aerospec.extensions import db
from aerospec.procurement import sync
from aerospec.procurement.suppliers import supplier_clients

log = logging.getLogger(__name__)


def sync_supplier_catalog(trigger: str = "schedule", triggered_by_id: str | None = None) -> str | None:
    """Refresh every catalog SKU's price, stock and lead time from Spencer and Coster.

    Idempotent and safe to overlap: when a run started in the last 30 minutes is still
    running this one does nothing (returns None); otherwise returns the new run's id.
    """
    if sync.abandon_expired_runs(db.session):
        db.session.commit()
    running = sync.running_run(db.session)
    if running is not None:
        log.info("supplier sync skipped: run %s is still running (started %s)", running.id, running.started_at)
        db.session.rollback()
        return None
    db.session.rollback()
    by = uuid.UUID(str(triggered_by_id)) if triggered_by_id else None
    run = sync.run_sync(
        db.session, supplier_clients(current_app._get_current_object()), trigger=trigger, triggered_by=by
    )
    log.info("supplier sync %s: %s, %s of %s SKUs updated", run.id, run.status, run.skus_updated, run.skus_requested)
    return str(run.id)
