"""Stored webhook rows for tests that need a row of every tenant-owned model (guard, isolation, sweeps)."""

from __future__ import annotations

import uuid


def endpoint(session, tenant_id: uuid.UUID, *, url: str = "https://hooks.example.com/aerospec", events=None):
    """A flushed WebhookEndpoint of the tenant (call inside its tenant_scope)."""
    from aerospec.webhooks.delivery import new_secret
    from aerospec.webhooks.models import WebhookEndpoint

    row = WebhookEndpoint(
        tenant_id=tenant_id,
        url=url,
        description="made by a test",
        event_types=list(events or ["procurement.status_changed"]),
        secret=new_secret(),
        enabled=True,
        consecutive_failures=0,
    )
    session.add(row)
    session.flush()
    return row


def delivery_with_attempt(session, endpoint_row, *, status_code: int = 500):
    """A flushed failed delivery of the endpoint with one logged attempt (call inside its tenant_scope)."""
    from aerospec.models import utcnow
    from aerospec.webhooks.models import WebhookAttempt, WebhookDelivery

    row = WebhookDelivery(
        tenant_id=endpoint_row.tenant_id,
        endpoint_id=endpoint_row.id,
        event_type="procurement.status_changed",
        message_id="msg_" + uuid.uuid4().hex,
        payload='{"type":"procurement.status_changed","data":{}}',
        status="failed",
        trigger="automatic",
        attempts=1,
        last_status_code=status_code,
    )
    session.add(row)
    session.flush()
    session.add(
        WebhookAttempt(
            tenant_id=row.tenant_id,
            delivery_id=row.id,
            endpoint_id=endpoint_row.id,
            number=1,
            status_code=status_code,
            succeeded=False,
            error=f"The endpoint answered {status_code}.",
            duration_ms=12,
            response_excerpt="nope",
            created_at=utcnow(),
        )
    )
    session.flush()
    return row


def draft_order(session, tenant_id: uuid.UUID):
    """A flushed draft pilot order of the tenant, for state-machine transitions (call inside its tenant_scope)."""
    from aerospec.procurement.models import Procurement

    order = Procurement(
        tenant_id=tenant_id,
        reference="PO-" + uuid.uuid4().hex[:8].upper(),
        order_type="pilot",
        status="draft",
        ship_to_address={},
        idempotency_key=uuid.uuid4().hex,
    )
    session.add(order)
    session.flush()
    return order
