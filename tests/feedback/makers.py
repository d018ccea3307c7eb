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


def aggregate(session, tenant_id: uuid.UUID, *, sku: str = "SP-1"):
    """A flushed FeedbackAggregate row of the tenant (call inside its tenant_scope)."""
    from aerospec.feedback.models import FeedbackAggregate

    row = FeedbackAggregate(
        tenant_id=tenant_id,
        actuator_supplier="spencer",
        actuator_sku=sku,
        fluid_key="props:1/997/72",
        result_count=1,
        pass_count=0,
        fail_count=0,
        cone_count=0,
        dv50_count=1,
        flow_count=0,
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


def reminder(session, tenant_id: uuid.UUID, procurement_id: uuid.UUID, to: str = "lab@example.com"):
    """A flushed FeedbackReminder row of the tenant for one order (call inside its tenant_scope)."""
    from aerospec.feedback.models import FeedbackReminder

    row = FeedbackReminder(tenant_id=tenant_id, procurement_id=procurement_id, to_address=to)
    session.add(row)
    session.flush()
    return row


def delivered_order(session, tenant, creator, configuration_id, delivered_at, *, sku: str = "SP-1"):
    """A flushed order of the tenant, delivered at `delivered_at`, with one line (call inside its tenant_scope)."""
    from decimal import Decimal

    from aerospec.procurement.models import Procurement, ProcurementLineItem

    order = Procurement(
        tenant_id=tenant.id,
        configuration_id=configuration_id,
        created_by_id=creator.id,
        reference=f"PO-{uuid.uuid4().hex[:8].upper()}",
        order_type="sample",
        status="delivered",
        delivered_at=delivered_at,
        ship_to_address={
            "name": "Lab",
            "line1": "1 Main St",
            "city": "Austin",
            "postal_code": "78701",
            "country": "US",
        },
        idempotency_key=f"key-{uuid.uuid4().hex}",
        total=Decimal("120.00"),
    )
    order.items.append(ProcurementLineItem(tenant_id=tenant.id, sku=sku, qty=10))
    session.add(order)
    session.flush()
    return order


def bulk_import(session, tenant_id: uuid.UUID, configuration_id: uuid.UUID, *, by=None):
    """A flushed FeedbackImport row of the tenant (call inside its tenant_scope)."""
    from aerospec.feedback.models import FeedbackImport

    row = FeedbackImport(
        tenant_id=tenant_id,
        configuration_id=configuration_id,
        token=uuid.uuid4().hex * 2,
        filename="results.csv",
        row_count=0,
        feedback_ids=[],
        created_by_id=by,
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
