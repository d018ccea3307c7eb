"""Safety-data-sheet jobs."""

from __future__ import annotations

import uuid

from flask import current_app

from aerospec.catalog import sds_limits, sds_services
from aerospec.extensions import db
from aerospec.tenancy.scoping import tenant_scope


def parse_sds_document(tenant_id: str, document_id: str) -> str | None:
    """Read section 9 of an uploaded safety data sheet within the memory, time and page limits (queue `sds`);
    safe to retry (a finished one is left alone)."""
    tenant = uuid.UUID(str(tenant_id))
    with tenant_scope(db.session, tenant):
        document = sds_services.get_document(db.session, tenant, uuid.UUID(str(document_id)))
        if document is None:
            return None  # deleted since the upload
        if not sds_services.mark_parsing(document):
            return document.status
        db.session.commit()  # the progress fragment shows "reading" while the parser runs
        sds_services.parse_document(db.session, document, sds_limits.ParseLimits.from_config(current_app.config))
        status = document.status
        db.session.commit()
    return status
