"""The events a workspace can subscribe to, each with a versioned payload schema (pydantic).

Every delivery's body is the envelope `{"type", "version", "timestamp", "workspace_id", "data"}`;
`data` follows the event's model below. A breaking change to a payload becomes version 2 of
that model (sent only to endpoints that ask for it); fields may be added within a version.
The models are what an OpenAPI `webhooks` section will be generated from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProcurementStatusChangedV1(Payload):
    """An order moved along its state machine (draft → submitted → confirmed → shipped → delivered, or failed,
    cancelled)."""

    id: str
    reference: str
    status: str
    previous_status: str
    updated_at: dt.datetime


class PurchaseOrderLineV1(Payload):
    position: int
    sku: str
    description: str | None
    quantity: int
    unit_price: str | None = Field(description="Decimal string in the order's currency, 4 places")
    line_total: str = Field(description="Decimal string in the order's currency, 2 places")
    lead_time_days: int | None


class SupplierV1(Payload):
    key: str | None = Field(description="spencer | coster")
    name: str | None
    order_id: str | None = Field(description="The supplier's own order id, once it has one")


class ProcurementSubmittedV1(Payload):
    """An order was submitted to its supplier: the purchase order an ERP books (money as decimal strings)."""

    id: str
    reference: str
    order_type: str
    status: str
    configuration_id: str | None
    supplier: SupplierV1
    currency: str
    lines: list[PurchaseOrderLineV1]
    subtotal: str
    discount_rate: str
    discount: str
    tax: str
    shipping: str
    total: str
    ship_to: dict
    lead_time_days: int | None
    expected_delivery: dt.date | None
    payment_status: str
    notes: str | None
    submitted_at: dt.datetime | None
    created_at: dt.datetime


class ConfigurationChangedV1(Payload):
    """A configuration was saved for the first time (`configuration.created`) or as a new version (`.updated`)."""

    id: str
    name: str
    status: str
    version: int
    changed_fields: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime


class FeedbackCreatedV1(Payload):
    """A lab result was recorded against one of a configuration's ranked actuators."""

    id: str
    configuration_id: str
    actuator_sku: str
    actuator_supplier: str
    procurement_id: str | None
    pressure_bar: float
    measured: dict[str, float | list[float] | None] = Field(description="What the lab measured, by field name")
    pass_fail: str | None
    created_at: dt.datetime


class SubscriptionUpdatedV1(Payload):
    """The workspace's subscription changed (plan, interval, status, renewal or cancellation)."""

    id: str
    plan: str
    interval: str
    status: str
    cancel_at_period_end: bool
    current_period_end: dt.datetime | None


class InvoicePaidV1(Payload):
    """An invoice of the workspace's subscription was paid (amounts in minor units, like Stripe)."""

    id: str
    number: str | None
    currency: str
    total: int
    amount_paid: int
    paid_at: dt.datetime | None
    period_start: dt.datetime | None
    period_end: dt.datetime | None


class MemberJoinedV1(Payload):
    """Someone accepted an invitation and joined the workspace."""

    user_id: str
    email: str
    name: str | None
    role: str
    joined_at: dt.datetime


class WebhookTestV1(Payload):
    """Sent by "Send a test event": proves the endpoint receives and verifies our signatures."""

    endpoint_id: str
    message: str


@dataclass(frozen=True)
class EventType:
    name: str
    label: str
    model: type[Payload]
    version: int = 1


EVENTS: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType("procurement.status_changed", "An order's status changed", ProcurementStatusChangedV1),
        EventType("procurement.submitted", "An order was submitted (the purchase order)", ProcurementSubmittedV1),
        EventType("configuration.created", "A configuration was created", ConfigurationChangedV1),
        EventType("configuration.updated", "A configuration was changed (a new version)", ConfigurationChangedV1),
        EventType("feedback.created", "A lab result was recorded", FeedbackCreatedV1),
        EventType("subscription.updated", "The subscription changed", SubscriptionUpdatedV1),
        EventType("invoice.paid", "An invoice was paid", InvoicePaidV1),
        EventType("member.joined", "A member joined the workspace", MemberJoinedV1),
    )
}
# Not subscribable: sent only when an admin asks for it.
TEST_EVENT = EventType("webhook.test", "Test event", WebhookTestV1)


def event_type(name: str) -> EventType:
    """The event type named `name` (the test event included); KeyError otherwise."""
    return TEST_EVENT if name == TEST_EVENT.name else EVENTS[name]
