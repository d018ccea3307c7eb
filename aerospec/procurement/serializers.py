"""Procurements as JSON: the seed's field names, money as strings with two decimals, never floats.

Free of request state, so the API, the pages (data attributes, exports) and jobs can share it.
"""

from __future__ import annotations

from decimal import Decimal

from aerospec.models import isoformat
from aerospec.procurement import services
from aerospec.procurement.clients import money
from aerospec.procurement.models import Procurement, ProcurementEvent, ProcurementLineItem

UNIT = Decimal("0.0001")
RATE = Decimal("0.0001")


def money_str(value: Decimal | int | str | None) -> str | None:
    """An amount as a string with exactly two decimals ("12.50"), or None."""
    if value is None:
        return None
    return str(money(Decimal(value)))


def unit_price_str(value: Decimal | int | str | None) -> str | None:
    """A unit price: two decimals, or up to four when the supplier priced finer ("0.1275")."""
    if value is None:
        return None
    amount = Decimal(value).quantize(UNIT)
    if amount == money(amount):
        return str(money(amount))
    return str(amount).rstrip("0")


def rate_str(value: Decimal | int | str | None) -> str:
    """A rate as a fraction with four decimals ("0.0300" is 3 %)."""
    return str(Decimal(value or 0).quantize(RATE))


def line_item_to_dict(item: ProcurementLineItem) -> dict:
    """One order line: {sku, qty, unit_price, line_total, availability, lead_time_days, description}."""
    return {
        "sku": item.sku,
        "qty": item.qty,
        "unit_price": unit_price_str(item.unit_price),
        "line_total": money_str(item.line_total),
        "availability": item.availability,
        "lead_time_days": item.lead_time_days,
        "description": item.description,
    }


def event_to_dict(event: ProcurementEvent) -> dict:
    """One timeline entry: {kind, tone, from_status, to_status, message, at, actor}."""
    return {
        "kind": event.kind,
        "tone": services.event_tone(event),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "message": event.message,
        "at": isoformat(event.created_at),
        "actor": event.actor.email if event.actor is not None else None,
    }


def procurement_to_dict(procurement: Procurement, *, timeline: bool = False) -> dict:
    """An order as the API shows it (with its timeline and suppliers_quoted on the detail)."""
    p = procurement
    body = {
        "id": str(p.id),
        "reference": p.reference,
        "configuration_id": str(p.configuration_id) if p.configuration_id else None,
        "order_type": p.order_type,
        "status": p.status,
        "status_label": services.STATUS_LABELS.get(p.status, p.status),
        "selected_supplier": p.selected_supplier,
        "items": [line_item_to_dict(item) for item in p.items],
        "ship_to_address": dict(p.ship_to_address or {}),
        "notes": p.notes,
        "currency": p.currency,
        "subtotal": money_str(p.subtotal),
        "discount_rate": rate_str(p.discount_rate),
        "discount": money_str(p.discount),
        "tax": money_str(p.tax),
        "shipping": money_str(p.shipping),
        "total": money_str(p.total),
        "lead_time_days": p.lead_time_days,
        "quoted_at": isoformat(p.quoted_at),
        "supplier_order_id": p.supplier_order_id,
        "tracking_number": p.tracking_number,
        "expected_delivery": isoformat(p.expected_delivery),
        "payment_status": p.payment_status,
        "payment_required": services.payment_required_before_submit(p.order_type),
        "paid_at": isoformat(p.paid_at),
        "payment_error": p.payment_error,
        "submitted_at": isoformat(p.submitted_at),
        "confirmed_at": isoformat(p.confirmed_at),
        "shipped_at": isoformat(p.shipped_at),
        "delivered_at": isoformat(p.delivered_at),
        "cancelled_at": isoformat(p.cancelled_at),
        "failed_at": isoformat(p.failed_at),
        "failure_reason": p.failure_reason,
        "submit_blockers": services.ready_to_submit(p) if p.status == "draft" else [],
        "created_at": isoformat(p.created_at),
        "updated_at": isoformat(p.updated_at),
        "created_by": p.created_by.email if p.created_by is not None else None,
    }
    if timeline:
        # What every supplier quoted when the order was created (null on older orders).
        body["suppliers_quoted"] = p.suppliers_quoted
        body["timeline"] = [event_to_dict(event) for event in p.events]
    return body
