"""A stored lab result (and its instrument file) for tests that need a row of every tenant-owned model."""

from __future__ import annotations

import uuid


def lab_result(session, tenant_id: uuid.UUID, configuration_id: uuid.UUID, *, sku: str = "SP-1", by=None):
    """A flushed Feedback row of the tenant (call inside its tenant_scope); its prediction is left empty."""
    from aerospec.feedback.models import Feedback

    row = Feedback(
        tenant_id=tenant_id,
        configuration_id=configuration_id,
        actuator_sku=sku,
        actuator_supplier="spencer",
        pressure_bar=3.0,
        dv50_um=50.0,
        measurement_method="other",
        prediction={},
        created_by_id=by,
    )
    session.add(row)
    session.flush()
    return row


def correction_layer(session, tenant_id: uuid.UUID, *, version: int = 1):
    """A flushed TenantCorrectionModel row of the tenant (call inside its tenant_scope): an empty active layer."""
    from aerospec.feedback.models import TenantCorrectionModel
    from aerospec.models import utcnow

    row = TenantCorrectionModel(
        tenant_id=tenant_id,
        version=version,
        status="active",
        trained_at=utcnow(),
        rows_used=0,
        rows_held_out=0,
        heldout_error={},
        params={"kind": "shrinkage", "format": 1, "rows": 0, "quantities": {}},
    )
    session.add(row)
    session.flush()
    return row


def lab_file(session, tenant_id: uuid.UUID, feedback_id: uuid.UUID, content: bytes | None = None):
    """A flushed instrument file of a lab result (call inside its tenant_scope)."""
    import hashlib

    from aerospec.feedback.models import FeedbackFile

    content = content or f"Dv50 (µm)\n50.0\n# {feedback_id}\n".encode()
    row = FeedbackFile(
        tenant_id=tenant_id,
        feedback_id=feedback_id,
        filename="run.csv",
        content_type="text/csv",
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )
    session.add(row)
    session.flush()
    return row
