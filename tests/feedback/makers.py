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


def reminder(session, tenant_id: uuid.UUID, procurement_id: uuid.UUID, to: str = "lab@example.com"):
    """A flushed FeedbackReminder row of the tenant for one order (call inside its tenant_scope)."""
    from aerospec.feedback.models import FeedbackReminder

    row = FeedbackReminder(tenant_id=tenant_id, procurement_id=procurement_id, to_address=to)
    session.add(row)
    session.flush()
    return row
