"""A stored lab result for tests that need a row of every tenant-owned model (guard, isolation, hostile input)."""

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


def custom_model(session, tenant_id: uuid.UUID, *, status: str = "ready"):
    """A flushed CustomModel row of the tenant (call inside its tenant_scope): an empty shrinkage model."""
    from aerospec.feedback.models import CustomModel

    row = CustomModel(
        tenant_id=tenant_id,
        name="Guarded model",
        model_type="shrinkage",
        status=status,
        progress=100 if status == "ready" else 0,
        selection={},
        params={"kind": "shrinkage", "format": 1, "rows": 0, "quantities": {}},
    )
    session.add(row)
    session.flush()
    return row
