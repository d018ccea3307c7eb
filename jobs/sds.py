"""Safety-data-sheet jobs."""

from __future__ import annotations

import uuid

from aerospec.catalog import sds_services
from aerospec.extensions import db
from aerospec.tenancy.scoping import tenant_scope


def parse_sds_document(tenant_id: str, document_id: str) -> str | None:
    """Read section 9 of an uploaded safety data sheet; safe to retry (a finished one is left alone)."""
    tenant = uuid.UUID(str(tenant_id))
    with tenant_scope(db.session, tenant):
        document = sds_services.get_document(db.session, tenant, uuid.UUID(str(document_id)))
        if document is None:
            return None  # deleted since the upload
        if not sds_services.mark_parsing(document):
            return document.status
        db.session.commit()  # the progress fragment shows "reading" while the parser runs
        sds_services.parse_document(db.session, document)
        status = document.status
        db.session.commit()
    return status
